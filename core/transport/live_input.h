// The request lines `failover live --input FILE.jsonl` reads: one JSON object per line,
// {"prompt": "..."} or {"messages": [{"role": ..., "content": ...}, ...]}, optionally
// with "route" or "tier" (names from the config) and "max_tokens". It decides only how
// a line is spelled; which route a request takes is resolved against the Config by the
// caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/result.h"
#include "core/protocol/codec.h"

namespace failover::transport {

inline constexpr std::size_t kInputLineBytesMax = 4u << 20;
inline constexpr std::int64_t kMaxTokensMax = 1'000'000;

struct InputLine {
  std::vector<protocol::Message> messages;
  std::string route;  // empty: not given
  std::string tier;   // empty: not given
  std::optional<std::int64_t> max_tokens;
};

// Reads one line (without its '\n') from `in` into `out`, never holding more than
// `bytes_max` + 1 bytes: a line longer than that is `too_long` as soon as its
// (bytes_max + 1)-th byte arrives, so endless input such as /dev/zero stops there.
enum class LineRead { line, end, too_long };
LineRead read_line(std::istream& in, std::string& out, std::size_t bytes_max);

// Parses one line. `where` ("file:line") prefixes errors. A line that is not a JSON
// object, an unknown key, a wrong type, both or neither of prompt/messages, a role
// other than system/user/assistant, both route and tier, or max_tokens outside
// 1..1000000 is an Error. Never throws.
Result<InputLine> parse_input_line(std::string_view line, std::string_view where);

}  // namespace failover::transport
