// Reading JSON values the providers send, shared by the codecs and the stream decoder.
// Internal to failover_protocol (this folder is not installed): the public headers stay
// free of Boost. Every accessor checks the kind it expects and reports a mismatch as a
// false return; nothing here throws, and nothing allocates beyond the parsed value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace failover::protocol::detail {

namespace json = boost::json;

// Nesting deeper than this is not a provider's answer; the bound also keeps the parser's
// stack small whatever a peer sends.
inline constexpr std::size_t kJsonDepthMax = 64;

// Parses `text` as one JSON document into `storage` (the default heap, or an arena the
// caller keeps alive longer than the value). nullopt when it is not JSON (or not UTF-8),
// nests deeper than kJsonDepthMax, is longer than `size_max`, or memory ran out.
std::optional<json::value> parse_json(std::string_view text, std::size_t size_max,
                                      json::storage_ptr storage = {}) noexcept;

// A stack buffer for one decode's DOM: a typical answer or stream event fits, so parsing
// it costs no heap allocation for the tree (monotonic_resource falls back to the heap
// for anything larger and frees it all at once).
inline constexpr std::size_t kArenaBytes = 4'096;

inline std::string_view view(const json::string& s) noexcept {
  return {s.data(), s.size()};
}
inline json::string_view jview(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

// How a member may be missing: `required` accepts only the kind asked for; `nullable`
// also accepts null; `optional` also accepts an absent member (and null). A missing or
// null member leaves the output unchanged.
enum class Presence : std::uint8_t { required, nullable, optional };

// A string member. False on a wrong kind or a missing required member.
bool read_string(const json::object& o, std::string_view key, Presence presence, std::string& out);

// A token count: an integer in [0, kTokensMax] (no fraction, no sign, no overflow).
bool read_count(const json::value& v, std::int64_t& out) noexcept;
// A count member; `present` says whether it was there (absent is fine when optional).
bool read_count_at(const json::object& o, std::string_view key, Presence presence, std::int64_t& out,
                   bool& present) noexcept;

// A member that must be an object / array, or nullptr (absent or another kind).
const json::object* object_at(const json::object& o, std::string_view key) noexcept;
const json::array* array_at(const json::object& o, std::string_view key) noexcept;

// Whether the member is absent or null.
bool absent_or_null(const json::object& o, std::string_view key) noexcept;

// Text given as a string, or as an array of content blocks of which the {"type":"text",
// "text":...} ones are concatenated in order (other block types are skipped). False on
// a wrong kind, a block without a string "type", or a text block without string "text".
bool read_text(const json::value& v, std::string& out);

}  // namespace failover::protocol::detail
