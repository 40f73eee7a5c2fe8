// The gateway's own settings: the optional [serve] table of a live config (docs/serve.md)
// -- who may call (SHA-256 digests of the inbound API keys), where to listen, and the
// limits that keep idle or slow clients from shutting others out. It decides how the
// table reads and what a sane default is; the rest of the file is the live config of
// docs/config.md, read by the config loader through the same TOML reader, so a bad
// value anywhere is reported as file:line:col.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/engine/config.h"
#include "core/engine/result.h"
#include "core/engine/time.h"

namespace failover::serve {

struct ServeConfig {
  bool present = false;                 // the file has a [serve] table
  std::string listen;                   // HOST:PORT; empty: kDefaultListen (--listen overrides)
  std::vector<std::string> key_sha256;  // lower-case hex SHA-256 digests of the accepted keys
  bool allow_unauthenticated = false;
  std::string allow_unauthenticated_at;  // "file:line:col" of that key, for the loopback check
  std::string source;                    // the file, for errors about the table as a whole
  std::int32_t threads = 1;              // connection threads (the engine has its own)
  std::int32_t connections_max = 1'024;
  std::int32_t connections_per_client_max = 64;
  std::int64_t header_bytes_max = 16 * 1'024;
  std::int64_t body_bytes_max = std::int64_t{8} << 20;
  Duration header_read_timeout = sec(10);  // from a request's first byte to its last header line
  Duration body_read_timeout = sec(30);
  Duration idle_timeout = sec(60);  // a kept-alive connection with no request begun
};

inline constexpr std::string_view kDefaultListen = "127.0.0.1:8080";
inline constexpr std::int32_t kServeThreadsMax = 64;

struct GatewayConfig {
  Config config;  // the live config (validated)
  ServeConfig serve;
};

// Reads the [serve] table of `root`, if any. Errors name file:line:col and "serve.key".
Result<ServeConfig> read_serve_table(const toml::table& root, std::string_view source);

// Loads a live config that may hold a [serve] table: the config of docs/config.md plus
// read_serve_table. Never throws.
Result<GatewayConfig> load_gateway_config(const std::string& path);

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "127.0.0.1:8080", "localhost:0", "[::1]:0", "0.0.0.0:443" -> host and port.
Result<ListenAddress> parse_listen(std::string_view text);
// Whether `host` is a loopback IP literal (127.0.0.0/8, ::1) or "localhost".
bool is_loopback_host(const std::string& host);

// The rule that keeps the gateway from being an open proxy: keys are required unless
// allow_unauthenticated is set, and that is accepted only on a loopback listener.
Status check_access(const ServeConfig& serve, const ListenAddress& listen);

// Lower-case hex SHA-256 of `data` (OpenSSL): how an inbound key is stored and checked.
std::string sha256_hex(std::string_view data);

}  // namespace failover::serve
