// Base URLs of providers: "https://host[:port][/path]" (or "http://" for a loopback
// host only -- plain text never leaves the machine). Parsed once, when the live driver
// starts; a bad URL is an Error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/engine/result.h"

namespace failover::transport {

struct Url {
  bool tls = true;
  std::string host;       // without brackets for IPv6 literals
  std::uint16_t port = 443;
  std::string path;       // without a trailing '/'; empty for the root
  [[nodiscard]] std::string authority() const;  // host[:port] as sent in Host (brackets for IPv6)
};

// Whether `host` is a loopback name or address: localhost, 127.0.0.0/8, ::1.
bool is_loopback(std::string_view host) noexcept;

// Parses a base URL. Rejects other schemes, user info, query and fragment, an empty
// host or a bad port, and http:// to a host that is not loopback.
Result<Url> parse_url(std::string_view text);

}  // namespace failover::transport
