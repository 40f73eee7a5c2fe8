// The gateway tests' request log: a std::tmpfile() the gateway writes its JSON lines
// to (--log), read back whole once the gateway has stopped.
#pragma once

#include <cstdio>
#include <string>

namespace failover::test {

// Everything written to `f` so far, from its start.
inline std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) out.append(buffer, n);
  return out;
}

}  // namespace failover::test
