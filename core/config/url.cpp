#include "core/config/url.h"

#include <charconv>
#include <cstdio>

namespace failover::config {

namespace {

Error bad(std::string_view text, std::string_view why) {
  return Error{"base_url", "'" + printable_url(text) + "': " + std::string(why)};
}

bool is_url_byte(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;  // no space, control character, DEL or non-ASCII byte
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string Url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

bool has_control_character(std::string_view text) noexcept {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::string printable_url(std::string_view text) {
  // Everything up to the last '@' may be user info: a password can hold a '/' that a
  // parser would take for the start of the path, so hide too much rather than too little.
  const std::size_t scheme = text.find("://");
  const std::size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t at = text.rfind('@');
  std::string out;
  std::size_t i = 0;
  if (at != std::string_view::npos && at >= from) {
    out.append(text.substr(0, from)).append("***");
    i = at;
  }
  for (; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += text[i];
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

bool is_loopback(std::string_view host) noexcept {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 written as a dotted quad.
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  std::size_t start = 0;
  while (start <= host.size()) {
    const std::size_t dot = host.find('.', start);
    const std::string_view part = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (!all_digits(part) || part.size() > 3) return false;
    int value = 0;
    std::from_chars(part.data(), part.data() + part.size(), value);
    if (value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  for (const char c : text) {
    if (!is_url_byte(c))
      return bad(text, "a base URL has no whitespace, control character or non-ASCII byte (percent-encode it)");
  }
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    url.port = 80;
    rest = text.substr(7);
  } else {
    return bad(text, "the scheme must be https:// (or http:// for a loopback host)");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return bad(text, "a base URL has no query or fragment");
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return bad(text, "user info is not allowed; keys come from api_key_env");
  std::string_view host;
  std::string_view port;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad(text, "unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return bad(text, "junk after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad(text, "empty port");
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad(text, "empty port");
    }
  }
  if (host.empty()) return bad(text, "empty host");
  if (!port.empty()) {
    unsigned value = 0;
    if (!all_digits(port) || port.size() > 5 ||
        std::from_chars(port.data(), port.data() + port.size(), value).ec != std::errc{} || value == 0 ||
        value > 65'535) {
      return bad(text, "the port must be 1..65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  url.host = std::string(host);
  if (!url.tls && !is_loopback(url.host)) {
    return bad(text, "plain http:// is allowed only to a loopback host; use https://");
  }
  while (path.ends_with("/")) path.remove_suffix(1);
  url.path = std::string(path);
  return url;
}

}  // namespace failover::config
