// The gateway's engine driver: one Engine on one thread (its io_context), fed by every
// connection. A caller's request becomes one engine request; each SendAttempt becomes
// the caller's own body -- only `model` rewritten to the target's id -- sent on that
// provider's connection pool (transport::ProviderClient); what comes back is relayed
// as the provider sent it: a whole body, or a stream's events as they arrive, once the
// engine has committed the stream to that attempt (its first content). Until then the
// events are held, so a stream that fails first fails over unseen; after it, a failure
// ends the caller's stream with an error event of the caller's protocol. Answers of its
// own (every target unavailable, deadline passed) are in the caller's error shape. It
// decides nothing about targets, retries, breakers or deadlines: the engine does.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/result.h"
#include "core/protocol/codec.h"
#include "core/transport/tls.h"
#include "serve/gateway_routes.h"

namespace boost::asio {
class io_context;
}

namespace failover::serve {

// Where a request's answer goes: the connection that asked. Every call comes on the
// engine's thread; an implementation hands the piece to its own thread. Exactly one of:
// respond(); or begin(), any number of bytes(), end().
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // A whole answer: status, extra header lines ("name: value\r\n" each), JSON body.
  virtual void respond(unsigned status, std::string headers, std::string body) = 0;
  // A stream: 200, its extra header lines; then each run of complete events; then the end.
  virtual void begin(std::string headers) = 0;
  virtual void bytes(std::string events) = 0;
  virtual void end() = 0;
  // Whether the caller has gone (its connection failed or closed): safe from any thread.
  // A stream whose caller is gone is stopped upstream rather than read to its end.
  [[nodiscard]] virtual bool gone() const noexcept { return false; }
};

struct CallerRequest {
  Protocol protocol = Protocol::openai;  // the caller's, and so every target's
  // The route table `route` was picked from: the request runs on that config's engine,
  // even when a reload swapped the config meanwhile. Null for a request refused before.
  std::shared_ptr<const RouteTable> routes;
  RouteChoice route;
  boost::json::object body;  // as the caller sent it; `model` is rewritten per attempt
  // The body in the other protocol, when the request goes to a route with targets of
  // both (gateway_translate.h); it then goes to those targets, and their answers are
  // translated back.
  std::optional<boost::json::object> translated;
  std::string skipped;  // the other protocol's targets left out, and why (for the log)
  bool stream = false;
  std::int64_t prompt_tokens = 1;
  std::int64_t output_tokens_max = 1'024;
  std::vector<protocol::Header> forward;  // caller headers relayed to the provider (anthropic-version, -beta)
  std::string request_id;
  std::chrono::steady_clock::time_point arrived;
};

struct CoreOptions {
  transport::TlsOptions tls;
  std::size_t response_bytes_max = std::size_t{32} << 20;
  std::uint64_t seed = 1;
  std::FILE* log = nullptr;  // one JSON line per request (docs/serve.md); null: none. Not owned.
};

struct CoreStats {
  std::int64_t requests = 0;
  std::int64_t unfinished = 0;
  std::int64_t attempts = 0;
};

// What a reload did: the new config's targets whose state was kept (unchanged, see
// Engine::take_over) and those that start fresh ("provider/model"), and how many
// requests the previous config's engine still holds (they finish on it).
struct ReloadReport {
  std::vector<std::string> kept;
  std::vector<std::string> fresh;
  std::int64_t draining = 0;
  std::vector<std::string> notes;  // for the operator: settings that need a restart, stream_resume
};

class GatewayCore {
 public:
  // `routes` has been built; reads the provider keys (an Error names the variable, never
  // a value) and makes one connection pool per provider on `io`, which must outlive it.
  static Result<std::unique_ptr<GatewayCore>> create(boost::asio::io_context& io, RouteTable routes,
                                                     const CoreOptions& options);
  ~GatewayCore();
  GatewayCore(const GatewayCore&) = delete;
  GatewayCore& operator=(const GatewayCore&) = delete;

  // Everything below on the io_context's thread.
  void submit(CallerRequest request, std::shared_ptr<ReplySink> sink);
  // The caller of the request answered through `sink` went away before its answer was
  // complete (its connection closed): the request is cancelled in its engine
  // (Engine::cancel) -- its attempts closed upstream, its queue place given up, its
  // slot handed to the next -- and logged and counted `cancelled` (status 499, as
  // nginx logs a client that closed its request); nothing more is written to `sink`.
  // A no-op when the request has ended already.
  void caller_gone(const std::shared_ptr<ReplySink>& sink);
  // The log line of a request the front refused before the engine saw it (no key,
  // unknown model, bad body), so that every request has one.
  void log_refused(const CallerRequest& request, unsigned status, const std::string& reason);
  // Ends every unfinished request with a 503 and closes every upstream connection.
  void shutdown();
  [[nodiscard]] CoreStats stats() const noexcept;
  // The current config's routes: what the front picks routes from.
  [[nodiscard]] std::shared_ptr<const RouteTable> routes() const noexcept;
  // Swaps in a new config (its routes built and validated by the caller): its engine
  // takes over the state of unchanged targets from the current one, which from now on
  // takes no request whose route was picked after the swap, finishes what it holds and
  // is dropped. An Error (a provider key's variable unset, a bad base_url) leaves the
  // current config in place.
  Result<ReloadReport> reload(RouteTable routes);
  // Engines of earlier configs still finishing their requests.
  [[nodiscard]] std::int64_t draining() const noexcept;
  // A reload refused before it got here (the file did not load): counted in the metrics.
  void reload_refused();
  // The GET /metrics page (gateway_metrics.h); `connections`: caller connections open.
  [[nodiscard]] std::string metrics_text(std::int64_t connections) const;

  class Impl;

 private:
  explicit GatewayCore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The request id as response header lines: `x-request-id` (what the OpenAI SDK reports)
// and `request-id` (what the Anthropic SDK reports), so either SDK sees the id the log keeps.
std::string request_id_headers(const std::string& request_id);
// The caller-protocol error body the gateway answers with itself.
std::string error_body(Protocol protocol, unsigned status, const std::string& message);
// The same as one server-sent event, ending a relayed stream that broke.
std::string error_event(Protocol protocol, const std::string& message);
// The end of the last complete server-sent event in `s` (after its blank line); 0: none.
std::size_t complete_events_end(std::string_view s) noexcept;

}  // namespace failover::serve
