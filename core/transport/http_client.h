// The HTTP/1.1 client of one provider: a pool of keep-alive connections (HTTPS, or
// plain HTTP to loopback) and one exchange per attempt, ending in exactly one Outcome
// -- connect_error, reset, timeout(connect/total), http_status with refusal and
// Retry-After, malformed, truncated, or success with the usage read from the body. It
// decides nothing about retrying or failing over (the engine does); it never throws
// past its callbacks and never reports an attempt after it was cancelled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/outcome.h"
#include "core/engine/time.h"
#include "core/protocol/codec.h"
#include "core/transport/url.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace failover::transport {

inline constexpr std::size_t kResponseBytesMaxDefault = std::size_t{8} << 20;  // 8 MiB
inline constexpr std::size_t kResponseBytesMaxLimit = std::size_t{1} << 30;
inline constexpr std::int32_t kConnectionsMax = 100'000;
inline constexpr std::size_t kHeaderBytesMax = 64 * 1'024;

struct ClientOptions {
  std::int32_t connections_max = 64;   // open connections at once (idle ones included)
  Duration connect_timeout = sec(10);  // DNS + TCP connect + TLS handshake of a new connection
  Duration total_timeout{0};           // a safety net per attempt; 0: off (the engine times attempts)
  std::size_t response_bytes_max = kResponseBytesMaxDefault;  // a larger body is malformed
};

// One HTTP exchange, already encoded for the provider's protocol.
struct HttpAttempt {
  std::string path;                       // the request target: base URL path + protocol path
  std::vector<protocol::Header> headers;  // besides host, user-agent, content-length; may hold the credential
  std::string body;
  bool stream = false;  // read the 2xx body as server-sent events
  // Keep the response body as it came (AttemptResult::body): a non-streamed body, 2xx or
  // not, and a stream's non-2xx body. For a gateway that relays the provider's bytes.
  bool keep_body = false;
};

struct AttemptResult {
  Outcome outcome;
  std::string text;    // the answer, on success
  std::string detail;  // why it failed, for a log line; never holds a header value or a key
  std::string body;    // with HttpAttempt::keep_body: the body as it came (see there)
  bool reused_connection = false;
};

struct AttemptCallbacks {
  std::function<void()> on_first_byte;            // optional: headers (non-stream) or the first event bytes
  std::function<void(std::string_view)> on_text;  // optional, streams only: each text delta as it decodes
  // Optional, streams only: each raw piece of a 2xx stream's body as it is read, events
  // before the first content included; the piece holding the first content comes after
  // on_first_byte, and before that content's on_text.
  std::function<void(std::string_view)> on_bytes;
  std::function<void(AttemptResult&&)> on_done;  // exactly once, unless cancelled first
};

using AttemptHandle = std::uint64_t;

struct PoolStats {
  std::int32_t open = 0;  // connections open now (idle and busy)
  std::int32_t idle = 0;
  std::int64_t waiting = 0;  // attempts waiting for a connection
  std::int64_t connections_made = 0;
  std::int64_t reuses = 0;   // attempts that ran on an idle connection
  std::int64_t replays = 0;  // attempts repeated once on a new connection (stale keep-alive)
};

class ProviderClient {
 public:
  // `io` must outlive this client and every handler it started. Precondition: options
  // are within their limits (checked); `tls` is not null.
  ProviderClient(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls, Url url,
                 Protocol protocol, const ClientOptions& options);
  ~ProviderClient();
  ProviderClient(const ProviderClient&) = delete;
  ProviderClient& operator=(const ProviderClient&) = delete;

  // Queues an attempt; it runs on `io` when a connection is free. Callbacks always run
  // later on `io`, never inside start(). Call on the io thread.
  AttemptHandle start(HttpAttempt attempt, AttemptCallbacks callbacks);
  // Aborts the attempt's I/O and closes its connection; no callback runs for it after
  // this. A finished or unknown handle is ignored.
  void cancel(AttemptHandle handle);
  // Cancels every attempt and closes every connection.
  void shutdown();

  [[nodiscard]] PoolStats stats() const noexcept;
  [[nodiscard]] const Url& url() const noexcept;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The HTTP status a stream's mid-body error event stands for (Anthropic sends
// `overloaded_error` inside a 200 stream): 529, 429, 500, 400, ...
std::int32_t status_of_error_type(std::string_view type) noexcept;

}  // namespace failover::transport
