#include "core/transport/live_input.h"

#include <boost/json.hpp>
#include <exception>

#include "core/engine/assert.h"

namespace failover::transport {

namespace json = boost::json;

namespace {

Error bad(std::string_view where, std::string what) {
  return Error{std::string(where), std::move(what)};
}

std::string_view view(const json::string& s) {
  return {s.data(), s.size()};
}

// A string member, or an Error naming the key.
Result<std::string> string_member(const json::value& v, std::string_view key, std::string_view where) {
  if (!v.is_string()) return bad(where, "\"" + std::string(key) + "\" must be a string");
  return std::string(view(v.as_string()));
}

Result<std::vector<protocol::Message>> messages_of(const json::value& v, std::string_view where) {
  if (!v.is_array() || v.as_array().empty()) return bad(where, "\"messages\" must be a non-empty array");
  if (v.as_array().size() > protocol::kMessagesMax) return bad(where, "\"messages\" holds too many messages");
  std::vector<protocol::Message> out;
  for (const json::value& m : v.as_array()) {
    const json::object* o = m.if_object();
    const json::value* role = o ? o->if_contains("role") : nullptr;
    const json::value* content = o ? o->if_contains("content") : nullptr;
    if (role == nullptr || content == nullptr || !role->is_string() || !content->is_string() || o->size() != 2) {
      return bad(where, "each message must be {\"role\": string, \"content\": string}");
    }
    const std::string_view r = view(role->as_string());
    if (r != "system" && r != "user" && r != "assistant") {
      return bad(where, "a message role must be system, user or assistant, not \"" + std::string(r) + "\"");
    }
    out.push_back(protocol::Message{std::string(r), std::string(view(content->as_string()))});
  }
  return out;
}

Result<InputLine> from_object(const json::object& o, std::string_view where) {
  InputLine line;
  bool has_prompt = false;
  for (const auto& [k, v] : o) {
    const std::string_view key(k.data(), k.size());
    if (key == "prompt") {
      Result<std::string> s = string_member(v, key, where);
      if (!s) return s.error();
      line.messages.push_back(protocol::Message{"user", std::move(*s)});
      has_prompt = true;
    } else if (key == "messages") {
      Result<std::vector<protocol::Message>> m = messages_of(v, where);
      if (!m) return m.error();
      line.messages = std::move(*m);
    } else if (key == "route" || key == "tier") {
      Result<std::string> s = string_member(v, key, where);
      if (!s) return s.error();
      (key == "route" ? line.route : line.tier) = std::move(*s);
    } else if (key == "max_tokens") {
      if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > kMaxTokensMax) {
        return bad(where, "\"max_tokens\" must be an integer in 1..1000000");
      }
      line.max_tokens = v.as_int64();
    } else {
      return bad(where, "unknown key \"" + std::string(key) +
                            "\" (a line takes prompt or messages, route or tier, max_tokens)");
    }
  }
  if (has_prompt == o.contains("messages")) return bad(where, "give exactly one of \"prompt\" and \"messages\"");
  if (!line.route.empty() && !line.tier.empty()) return bad(where, "give at most one of \"route\" and \"tier\"");
  FAILOVER_ASSERT(!line.messages.empty());
  return line;
}

}  // namespace

Result<InputLine> parse_input_line(std::string_view line, std::string_view where) {
  if (line.size() > kInputLineBytesMax) return bad(where, "the line is longer than 4 MiB");
  try {
    json::parse_options options;
    options.max_depth = 16;
    boost::system::error_code ec;
    const json::value v = json::parse(json::string_view(line.data(), line.size()), ec, {}, options);
    if (ec) return bad(where, "not JSON: " + ec.message());
    if (!v.is_object()) return bad(where, "a line must be a JSON object");
    return from_object(v.as_object(), where);
  } catch (const std::exception& e) {
    return bad(where, std::string("cannot read the line: ") + e.what());
  }
}

LineRead read_line(std::istream& in, std::string& out, std::size_t bytes_max) {
  FAILOVER_ASSERT(bytes_max < std::string().max_size());
  out.clear();
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr || !in.good()) return LineRead::end;
  for (std::size_t n = 0; n <= bytes_max; ++n) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return n == 0 ? LineRead::end : LineRead::line;
    }
    if (c == '\n') return LineRead::line;
    out.push_back(static_cast<char>(c));
  }
  FAILOVER_ASSERT(out.size() == bytes_max + 1);
  return LineRead::too_long;
}

}  // namespace failover::transport
