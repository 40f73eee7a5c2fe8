// 128-bit integers for intermediate products (tokens x price, rate x elapsed µs) that
// may pass 2^63 before being divided back down. A GCC/Clang extension, named once here.
#pragma once

namespace failover {
__extension__ typedef __int128 Int128;            // NOLINT(modernize-use-using)
__extension__ typedef unsigned __int128 UInt128;  // NOLINT(modernize-use-using)
}  // namespace failover
