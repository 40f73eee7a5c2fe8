// Base URLs of providers: "https://host[:port][/path]" (or "http://" for a loopback
// host only -- plain text never leaves the machine). The config loader checks every
// base_url with parse_url, so check-config and live accept the same URLs, and the live
// driver parses them again when it starts. Errors never repeat a URL's user info.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/engine/result.h"

namespace failover::config {

struct Url {
  bool tls = true;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 443;
  std::string path;                             // without a trailing '/'; empty for the root
  [[nodiscard]] std::string authority() const;  // host[:port] as sent in Host (brackets for IPv6)
};

// Whether `host` is a loopback name or address: localhost, 127.0.0.0/8, ::1.
bool is_loopback(std::string_view host) noexcept;

// Whether `text` holds a byte that must never reach a request line or header: a control
// character (below 0x20, or DEL). CR and LF there would start a new header line.
bool has_control_character(std::string_view text) noexcept;

// `text` as safe to print in an error: a user-info part ("user:password@") replaced by
// "***@", control characters and non-ASCII bytes written as \xNN.
std::string printable_url(std::string_view text);

// Parses a base URL. Rejects other schemes, user info, query and fragment, an empty
// host or a bad port, http:// to a host that is not loopback, and whitespace, control
// characters or non-ASCII bytes anywhere. The error's what() shows printable_url(text).
Result<Url> parse_url(std::string_view text);

}  // namespace failover::config
