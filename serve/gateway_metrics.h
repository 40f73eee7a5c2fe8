// The gateway's counters and their page, GET /metrics, in the Prometheus text exposition
// format 0.0.4 (docs/serve.md lists every series). It decides what is counted and how it
// reads; the engine decides what happened, and the engine's health report supplies the
// gauges (breaker state and open-until, in-flight, queue depth) at render time.
//
// Threads: every count is made on the engine's thread, where every request and attempt
// ends, so the counters are plain integers -- no atomics, no lock on the hot path. The
// page is rendered on that same thread too (the connection posts the scrape there): the
// gauges come from the engine's health report, which is readable only there anyway, and
// one thread rendering means one consistent snapshot -- a scrape never sees an attempt
// counted whose request is not, or a breaker open with no failure behind it. A scrape
// every few seconds costs the engine's thread one render (tens of microseconds) instead
// of every request paying for atomic increments.
//
// Counters are kept by name (route, "provider/model" target), not by index, so that they
// survive a reload (SIGHUP) that reorders or drops targets: a counter never goes back.
// Series of targets the current config no longer has stay on the page (counters must not
// vanish and reappear at zero); their gauges do not.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"

namespace failover::serve {

// A histogram over fixed buckets (seconds): counts per bucket, cumulated when rendered.
class Histogram {
 public:
  // Upper bounds in microseconds: 5 ms .. 5 min, a request's whole range (a stream may
  // take minutes). Fixed, so that replicas and reloads aggregate.
  static constexpr std::array<std::int64_t, 15> kBoundsUs{5'000,      10'000,     25'000,     50'000,      100'000,
                                                          250'000,    500'000,    1'000'000,  2'500'000,   5'000'000,
                                                          10'000'000, 30'000'000, 60'000'000, 120'000'000, 300'000'000};
  void observe(std::int64_t us) noexcept;
  // Appends the _bucket, _sum and _count lines of `name` with `labels` ("k=\"v\"").
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::int64_t, kBoundsUs.size() + 1> buckets_{};  // the last: above every bound (+Inf)
  std::int64_t sum_us_ = 0;
  std::int64_t count_ = 0;
};

// What the page shows besides the counters: read when it is rendered.
struct MetricsSnapshot {
  const Config* config = nullptr;  // the engine's current config (targets, their names)
  const HealthReport* health = nullptr;
  Time now;                       // the engine's time of `health`
  std::int64_t wall_now_ms = 0;   // the Unix time of `now`, for open_until
  std::int64_t connections = -1;  // caller connections open; <0: not shown
  std::int64_t unfinished = 0;    // requests the gateway holds (engine + answers under way)
};

class GatewayMetrics {
 public:
  // Attempt outcomes: the engine's outcome classes, and the ends of attempts the engine
  // or the gateway cancelled (an engine timeout counts as `timeout`).
  static constexpr std::array<std::string_view, 11> kAttemptOutcomes{
      "success",    "transient", "rate_limited", "timeout",  "caller_error", "capability",
      "credential", "malformed", "cancelled",    "deadline", "hedge_lost"};

  struct TargetCounters {
    std::array<std::int64_t, kAttemptOutcomes.size()> attempts{};
    std::int64_t cost_micro_usd = 0;  // usage and estimated charges
    std::int64_t possibly_billed_micro_usd = 0;
    std::int64_t trips = 0;  // the breaker opened
  };
  // A config's targets, by index, pointing at their counters: each engine (one per
  // config, while an old one drains after a reload) counts through its own.
  using Targets = std::vector<TargetCounters*>;

  // The counters of `config`'s targets, by name: counters of targets seen before, under
  // an earlier config, are the same ones.
  [[nodiscard]] Targets bind(const Config& config);

  // A request ended: `route` is the configured route's name, empty when the request
  // named none (refused); `result` "ok", an engine end reason, "refused" or "shutdown".
  // latency_us < 0: not observed (a refused request never reached the engine);
  // first_byte_us < 0: no first byte (time to first token, for successes).
  void request_ended(std::string_view route, std::string_view result, std::int64_t latency_us,
                     std::int64_t first_byte_us);
  void attempt_started(const SendAttempt& attempt) noexcept;
  static void attempt_ended(const Targets& targets, Index target, std::string_view outcome) noexcept;
  static void breaker_changed(const Targets& targets, const BreakerChanged& change) noexcept;
  static void charged(const Targets& targets, const Charge& charge) noexcept;
  void reloaded(bool ok) noexcept { ++(ok ? reloads_ok_ : reloads_failed_); }
  // A request the engine moved to a cheaper tier when the cost budget ran out ended.
  void downgraded() noexcept { ++downgrades_; }

  // The page, text/plain; version=0.0.4.
  [[nodiscard]] std::string render(const MetricsSnapshot& snapshot) const;

 private:
  struct RouteCounters {
    std::map<std::string, std::int64_t, std::less<>> results;  // at most 18 results
    Histogram latency;
    Histogram first_byte;
  };

  std::map<std::string, RouteCounters, std::less<>> routes_;    // by route name ("" = none)
  std::map<std::string, TargetCounters, std::less<>> targets_;  // by "provider/model"; nodes are stable
  std::int64_t retries_ = 0;                                    // attempts beyond a request's first, hedges included
  std::int64_t hedges_ = 0;
  std::int64_t reloads_ok_ = 0;
  std::int64_t reloads_failed_ = 0;
  std::int64_t downgrades_ = 0;
};

// "provider/model": how the log, the headers and the metrics name a target.
std::string target_label(const Config& config, Index target);

}  // namespace failover::serve
