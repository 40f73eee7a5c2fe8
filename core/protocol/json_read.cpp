// Checked accessors over parsed JSON (see detail/json_read.h).
#include "core/protocol/detail/json_read.h"

#include <new>
#include <utility>

#include "core/engine/assert.h"
#include "core/protocol/codec.h"

namespace failover::protocol::detail {

std::optional<json::value> parse_json(std::string_view text, std::size_t size_max, json::storage_ptr storage) noexcept {
  if (text.size() > size_max) return std::nullopt;
  json::parse_options options;
  options.max_depth = kJsonDepthMax;
  boost::system::error_code ec;
  // parse() with an error_code reports syntax errors through it; only running out of
  // memory (or a string beyond Boost.JSON's own size limit) can still throw.
  try {
    json::value v = json::parse(jview(text), ec, std::move(storage), options);
    if (ec) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

bool read_string(const json::object& o, std::string_view key, Presence presence, std::string& out) {
  const json::value* v = o.if_contains(jview(key));
  if (v == nullptr) return presence == Presence::optional;
  if (v->is_null()) return presence != Presence::required;
  const json::string* s = v->if_string();
  if (s == nullptr) return false;
  out.assign(s->data(), s->size());
  return true;
}

bool read_count(const json::value& v, std::int64_t& out) noexcept {
  if (const std::int64_t* i = v.if_int64()) {
    if (*i < 0 || *i > kTokensMax) return false;
    out = *i;
    return true;
  }
  if (const std::uint64_t* u = v.if_uint64()) {  // only above INT64_MAX: always too large
    FAILOVER_ASSERT(*u > static_cast<std::uint64_t>(kTokensMax));
    return false;
  }
  return false;  // doubles (1.0, 1e3) are not counts
}

bool read_count_at(const json::object& o, std::string_view key, Presence presence, std::int64_t& out,
                   bool& present) noexcept {
  present = false;
  const json::value* v = o.if_contains(jview(key));
  if (v == nullptr) return presence == Presence::optional;
  if (v->is_null()) return presence != Presence::required;
  if (!read_count(*v, out)) return false;
  present = true;
  return true;
}

const json::object* object_at(const json::object& o, std::string_view key) noexcept {
  const json::value* v = o.if_contains(jview(key));
  return v == nullptr ? nullptr : v->if_object();
}

const json::array* array_at(const json::object& o, std::string_view key) noexcept {
  const json::value* v = o.if_contains(jview(key));
  return v == nullptr ? nullptr : v->if_array();
}

bool absent_or_null(const json::object& o, std::string_view key) noexcept {
  const json::value* v = o.if_contains(jview(key));
  return v == nullptr || v->is_null();
}

bool read_text(const json::value& v, std::string& out) {
  if (const json::string* s = v.if_string()) {
    out.assign(s->data(), s->size());
    return true;
  }
  const json::array* blocks = v.if_array();
  if (blocks == nullptr) return false;
  out.clear();
  for (const json::value& block : *blocks) {  // bounded by the parsed (size-limited) body
    const json::object* b = block.if_object();
    if (b == nullptr) return false;
    std::string type;
    if (!read_string(*b, "type", Presence::required, type)) return false;
    if (type != "text") continue;
    const json::value* text = b->if_contains("text");
    if (text == nullptr || !text->is_string()) return false;
    out += view(text->get_string());
  }
  return true;
}

}  // namespace failover::protocol::detail
