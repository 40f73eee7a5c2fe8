#include "serve/gateway_config.h"

#include <openssl/evp.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <exception>
#include <limits>

#include "core/config/load.h"
#include "core/config/toml_reader.h"
#include "core/config/toml_values.h"

namespace failover::serve {
namespace {

constexpr std::size_t kKeysMax = 4'096;
constexpr std::size_t kDigestHexBytes = 64;

bool is_lower_hex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void read_keys(config::Reader& r, const toml::table& t, ServeConfig& out) {
  const toml::array* keys = r.array(t, "api_key_sha256", "serve");
  if (keys == nullptr) return;
  const std::string path = "serve.api_key_sha256";
  if (keys->size() > kKeysMax) {
    r.fail(*keys, path, "holds more than " + std::to_string(kKeysMax) + " digests");
    return;
  }
  for (std::size_t i = 0; i < keys->size() && !r.failed(); ++i) {
    const std::optional<std::string> digest = r.text_of(*keys->get(i), config::element(path, i));
    if (!digest) return;
    if (digest->size() != kDigestHexBytes || !is_lower_hex(*digest)) {
      r.fail(*keys->get(i), config::element(path, i),
             "must be the 64 lower-case hex digits of a key's SHA-256 (make one with `failover serve --hash-key`), "
             "never the key itself");
      return;
    }
    out.key_sha256.push_back(*digest);
  }
}

// A duration within [lo, hi], read into `out` when present.
void read_duration(config::Reader& r, const toml::table& t, std::string_view key, Duration lo, Duration hi,
                   Duration& out) {
  const std::optional<Duration> d = r.duration(t, key, "serve");
  if (!d) return;
  if (*d < lo || *d > hi) {
    r.fail(*t.get(key), config::join("serve", key),
           "must be between " + config::duration_text(lo) + " and " + config::duration_text(hi));
    return;
  }
  out = *d;
}

void read_count(config::Reader& r, const toml::table& t, std::string_view key, std::int64_t lo, std::int64_t hi,
                std::int64_t& out) {
  if (const std::optional<std::int64_t> v = r.integer(t, key, "serve", lo, hi)) out = *v;
}

void read_count(config::Reader& r, const toml::table& t, std::string_view key, std::int32_t lo, std::int32_t hi,
                std::int32_t& out) {
  if (const std::optional<std::int64_t> v = r.integer(t, key, "serve", lo, hi)) out = static_cast<std::int32_t>(*v);
}

}  // namespace

Result<ServeConfig> read_serve_table(const toml::table& root, std::string_view source) {
  config::Reader r{std::string(source)};
  ServeConfig out;
  out.source = std::string(source);
  const toml::table* t = r.table(root, "serve", "");
  if (r.failed()) return r.error();
  if (t == nullptr) return out;
  out.present = true;
  r.only_keys(
      *t, "serve",
      {"listen", "api_key_sha256", "allow_unauthenticated", "threads", "connections_max", "connections_per_client_max",
       "header_bytes_max", "body_bytes_max", "header_read_timeout", "body_read_timeout", "idle_timeout"});
  if (const std::optional<std::string> listen = r.text(*t, "listen", "serve")) {
    const Result<ListenAddress> parsed = parse_listen(*listen);
    if (!parsed) {
      r.fail(*t->get("listen"), "serve.listen", parsed.error().what);
    } else {
      out.listen = *listen;
    }
  }
  read_keys(r, *t, out);
  r.read(*t, "allow_unauthenticated", "serve", out.allow_unauthenticated);
  if (const toml::node* n = r.get(*t, "allow_unauthenticated")) {
    out.allow_unauthenticated_at = config::where(source, n->source());
  }
  read_count(r, *t, "threads", 1, kServeThreadsMax, out.threads);
  read_count(r, *t, "connections_max", 1, 100'000, out.connections_max);
  read_count(r, *t, "connections_per_client_max", 1, 100'000, out.connections_per_client_max);
  read_count(r, *t, "header_bytes_max", std::int64_t{1'024}, std::int64_t{1} << 20, out.header_bytes_max);
  read_count(r, *t, "body_bytes_max", std::int64_t{1'024}, std::int64_t{64} << 20, out.body_bytes_max);
  read_duration(r, *t, "header_read_timeout", ms(10), minutes(10), out.header_read_timeout);
  read_duration(r, *t, "body_read_timeout", ms(10), minutes(60), out.body_read_timeout);
  read_duration(r, *t, "idle_timeout", ms(10), minutes(24 * 60), out.idle_timeout);
  if (!r.failed() && out.connections_per_client_max > out.connections_max) {
    r.fail(*t->get("connections_per_client_max"), "serve.connections_per_client_max",
           "must not exceed connections_max (" + std::to_string(out.connections_max) + ")");
  }
  if (r.failed()) return r.error();
  return out;
}

Result<GatewayConfig> load_gateway_config(const std::string& path) {
  Result<toml::table> root = parse_toml_file(path);
  if (!root) return root.error();
  LoadOptions options;
  options.extra_top_level_keys = {"serve"};
  Result<Config> config = config_from_table(*root, path, options);
  if (!config) return config.error();
  Result<ServeConfig> serve = read_serve_table(*root, path);
  if (!serve) return serve.error();
  return GatewayConfig{std::move(*config), std::move(*serve)};
}

Result<ListenAddress> parse_listen(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Error{"listen", "expects HOST:PORT (e.g. 127.0.0.1:8080), got '" + std::string(text) + "'"};
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view port_text = text.substr(colon + 1);
  std::uint32_t port = 0;
  for (const char c : port_text) {
    if (c < '0' || c > '9' || port_text.size() > 5) return Error{"listen", "port must be 0..65535"};
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65'535) return Error{"listen", "port must be 0..65535"};
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host == "localhost" ? std::string("127.0.0.1") : std::string(host), ec);
  if (ec) return Error{"listen", "'" + std::string(host) + "' is not an IP address (or localhost)"};
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

Status check_access(const ServeConfig& serve, const ListenAddress& listen) {
  if (serve.allow_unauthenticated) {
    if (is_loopback_host(listen.host)) return Ok{};
    return Error{serve.allow_unauthenticated_at.empty() ? serve.source : serve.allow_unauthenticated_at,
                 "serve.allow_unauthenticated: accepted only with a loopback listener (127.0.0.1, ::1, localhost), "
                 "not " +
                     listen.host + ": the gateway would be an open proxy spending your provider keys"};
  }
  if (serve.key_sha256.empty()) {
    return Error{serve.source,
                 "serve.api_key_sha256: the gateway needs at least one inbound key digest (make one with "
                 "`failover serve --hash-key`), or allow_unauthenticated = true on a loopback listener"};
  }
  return Ok{};
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  const int ok = EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  FAILOVER_ASSERT(ok == 1 && size == 32);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4U];
    out += kHex[digest[i] & 0x0fU];
  }
  return out;
}

}  // namespace failover::serve
