// The live driver: runs the sans-I/O Engine on a boost::asio::io_context against real
// HTTPS endpoints. It converts steady_clock time to engine Time, keeps one timer armed
// at next_deadline(), and carries out every action -- SendAttempt becomes an HTTP
// exchange on the provider's connection pool (ProviderClient), CancelAttempt aborts it,
// Complete hands the caller its answer. It decides nothing: routing, retries, timeouts
// and breakers are the engine's. API keys are read once, at create(), and never logged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/engine.h"
#include "core/engine/prng.h"
#include "core/engine/result.h"
#include "core/protocol/codec.h"
#include "core/transport/http_client.h"
#include "core/transport/tls.h"

namespace failover::transport {

struct LiveOptions {
  TlsOptions tls;
  std::size_t response_bytes_max = kResponseBytesMaxDefault;
  std::uint64_t seed = 1;  // the engine's jitter and weighted choice; fixed, so runs are comparable
  // The engine's random stream itself, instead of Prng(seed): `failover run --live` gives
  // the engine the simulator's stream for the same seed (Prng(seed).fork("engine")).
  std::optional<Prng> engine_prng;
  // One line per event worth a human's attention (breaker changes); null: silent. It
  // never receives a key.
  std::function<void(std::string_view)> log;
  // Every action the engine emits, before the driver carries it out (on the io thread);
  // null: none. For a caller that measures what the engine did, as `failover run --live`
  // measures a scenario's run; it must not call back into the driver.
  std::function<void(const Action&)> on_action;
};

// One logical call: the conversation, and which route or tier to take.
struct LiveRequest {
  std::vector<protocol::Message> messages;
  std::int64_t max_tokens = 1'024;
  std::optional<double> temperature;
  bool stream = false;
  Index route = kNoIndex;  // exactly one of route and tier
  Index tier = kNoIndex;
  std::optional<Duration> timeout;  // end to end; default: policy.timeouts.request
  // Streams only, optional: each text delta of the attempt the engine committed the
  // stream to, as it arrives (on the io thread). If that stream breaks, the request
  // ends stream_interrupted (or resumes elsewhere when the route allows).
  std::function<void(std::string_view)> on_text;
};

struct LiveResult {
  RequestId id = 0;
  RequestStatus status = RequestStatus::failed;
  EndReason reason = EndReason::ok;
  bool aborted = false;     // ended by abort() before the engine finished it
  Index target = kNoIndex;  // the target that served it (successes only)
  std::string provider;     // its provider and model id, empty when none served it
  std::string model;
  std::int32_t attempts = 0;
  Duration latency{0};
  std::int64_t cost_micro_usd = 0;
  bool downgraded = false;
  std::string text;        // the answer, on success
  std::string last_error;  // the last failed attempt, "provider: detail" (no key, no header value)
};

struct LiveTotals {
  std::int64_t charged_micro_usd = 0;          // Charge actions, every kind
  std::int64_t possibly_billed_micro_usd = 0;  // of which: timed out or cancelled after sending
  std::int64_t breaker_changes = 0;
  std::int64_t attempts_sent = 0;
  std::int64_t attempts_cancelled = 0;
};

// Reads each provider's key from the environment variable its api_key_env names. A
// provider without api_key_env sends no credential. A variable that is unset or empty is
// an Error naming the variable and the provider, never a value.
Result<std::vector<std::string>> read_api_keys(const Config& config);

class LiveDriver {
 public:
  // Checks every provider's base_url (parse_url: https, or http to loopback only),
  // builds the TLS context and one connection pool per provider, reads the keys.
  // `config` must have passed validate(). `io` must outlive the driver.
  static Result<std::unique_ptr<LiveDriver>> create(boost::asio::io_context& io, const Config& config,
                                                    const LiveOptions& options);
  ~LiveDriver();
  LiveDriver(const LiveDriver&) = delete;
  LiveDriver& operator=(const LiveDriver&) = delete;

  using Done = std::function<void(LiveResult&&)>;
  // Submits a request now; `done` runs exactly once, on the io thread, when it ends
  // (possibly inside this call when the engine drops it at once). Call on the io thread.
  RequestId submit(LiveRequest request, Done done);
  // The caller of request `id` gave up on it (its user left, its own deadline passed):
  // the engine ends it now (Engine::cancel) -- its attempts aborted, its place in the
  // queue given to the next -- and its `done` runs, inside this call, with reason
  // EndReason::cancelled. A no-op for an id that has ended, or after abort(). Call on
  // the io thread.
  void cancel(RequestId id);
  // Aborts every attempt and ends every unfinished request (aborted = true). The driver
  // accepts no request afterwards.
  void abort();

  [[nodiscard]] std::size_t unfinished() const noexcept;
  [[nodiscard]] HealthReport health() const;
  [[nodiscard]] const LiveTotals& totals() const noexcept;
  [[nodiscard]] PoolStats pool_stats(Index provider) const;
  [[nodiscard]] const Config& config() const noexcept;
  [[nodiscard]] Time now() const noexcept;

  class Impl;

 private:
  explicit LiveDriver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace failover::transport
