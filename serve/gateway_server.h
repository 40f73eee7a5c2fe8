// The gateway's front: an HTTP/1.1 server (TLS or plain) taking OpenAI
// (POST /v1/chat/completions) and Anthropic (POST /v1/messages) calls from inbound key
// holders and handing each to the one GatewayCore; GET /metrics (gateway_metrics.h),
// /healthz and /readyz. Threads: the engine, its timer and
// every upstream connection run on one thread (the engine is single-threaded, and one
// thread means one breaker state per target); accepting, TLS and HTTP parsing of the
// callers' connections run on `threads` more, each connection on its own strand. It
// decides who may call (a SHA-256 of the key in the config), which route a request
// takes (gateway_routes.h), and what a connection may cost the others: a cap on
// connections overall and per client address (at a cap the oldest idle connection gives
// way, and only when none is idle is a newcomer refused), bounded header and body sizes,
// and bounded time to send a request's head and body, so idle or slow clients cannot
// shut others out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/engine/result.h"
#include "serve/gateway_config.h"
#include "serve/gateway_core.h"

namespace failover::serve {

struct GatewayOptions {
  ListenAddress listen{"127.0.0.1", 8080};
  std::string tls_cert_file;  // PEM chain; with tls_key_file: HTTPS, else plain HTTP
  std::string tls_key_file;
  std::int32_t threads = 0;  // connection threads; 0: the [serve] table's
  CoreOptions core;
};

class Gateway {
 public:
  // Checks access rules (check_access), builds the routes, reads the provider keys,
  // binds, and starts its threads. The Error says what is wrong, in the config's terms.
  static Result<std::unique_ptr<Gateway>> start(const GatewayConfig& config, const GatewayOptions& options);
  virtual ~Gateway() = default;

  [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
  // "https://127.0.0.1:PORT" (or http): what a client puts before /v1/...
  [[nodiscard]] virtual std::string url() const = 0;
  // Callable from any thread but the gateway's own.
  virtual void stop_accepting() = 0;
  [[nodiscard]] virtual CoreStats core_stats() const = 0;
  [[nodiscard]] virtual std::int64_t connections() const = 0;  // open caller connections now
  // SIGHUP: swaps in `config` (loaded and validated by the caller) without stopping:
  // the access rule is checked and the routes built first; then, on the engine's
  // thread, a new engine takes over the state of every target whose definition did not
  // change (Engine::take_over) and takes every request whose route is picked from then
  // on, while requests already submitted finish on the old config's engine. The new
  // file's inbound keys apply at once; the rest of its [serve] table (listener, threads,
  // limits, timeouts) only after a restart, which a note says. An Error changes nothing.
  // Callable from any thread but the gateway's own.
  virtual Result<ReloadReport> reload(const GatewayConfig& config) = 0;
  // A reload refused before it reached the gateway (the file did not load): counted in
  // the metrics' failover_config_reloads_total{result="failed"}.
  virtual void reload_refused() = 0;
  // Answers what is unfinished with a 503, closes every connection, joins the threads.
  virtual void stop() = 0;
  // Notes for the operator: routes whose stream_resume was turned off, routes without
  // targets for one protocol.
  [[nodiscard]] virtual const std::vector<std::string>& notes() const noexcept = 0;
};

}  // namespace failover::serve
