// Traffic: the application's requests as a stream of arrivals -- when each comes
// (a rate schedule and an arrival process) and what it is (a request class drawn from
// a weighted mix, with token counts) -- or, for a replayed traffic log, the log's own
// arrivals, sped up, multiplied or looped. It decides arrival times and request shapes
// only; what happens to an arrival (the buffer, the engine) is left to the event loop,
// and reading the log to the scenario loader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/prng.h"
#include "core/engine/time.h"
#include "sim/distribution.h"

namespace failover::sim {

inline constexpr std::size_t kTrafficClassesMax = 64;
// Requests per minute: a million per second, so that any real workload can be written
// down; whether its run finishes in reasonable time is sim/estimate.h's to say.
inline constexpr std::int64_t kRateRpmMax = 60'000'000;
inline constexpr Duration kScheduleDurationMax = minutes(60 * 24 * 30);  // ramps, spikes, periods
// Rates are computed in milli-requests per minute so that a slow ramp moves smoothly.
inline constexpr std::int64_t kMilli = 1'000;

enum class ScheduleKind : std::uint8_t { steady, ramp, spike, diurnal };

// The arrival rate over time, in requests per minute. Times are absolute (the scenario
// starts at kTimeZero).
struct RateSchedule {
  ScheduleKind kind = ScheduleKind::steady;
  std::int64_t base_rpm = 0;           // steady: the rate; ramp: from; spike: base; diurnal: mean
  std::int64_t peak_rpm = 0;           // ramp: to; spike: peak
  std::int64_t amplitude_rpm = 0;      // diurnal: mean +- amplitude, amplitude <= mean
  Time start = kTimeZero;              // ramp, spike: when the change begins
  Duration duration{0};                // ramp: how long it takes; spike: how long it lasts
  Duration period = minutes(24 * 60);  // diurnal
  Duration phase{0};                   // diurnal: rate at t is as at t + phase

  static RateSchedule steady(std::int64_t rpm);
  // base before `start`, then linear to `to` over `over`, then `to`.
  static RateSchedule ramp(std::int64_t from, std::int64_t to, Time start, Duration over);
  // base, then peak during [start, start + duration), then base again.
  static RateSchedule spike(std::int64_t base, std::int64_t peak, Time start, Duration duration);
  // mean + amplitude x sin(2 pi (t + phase) / period).
  static RateSchedule diurnal(std::int64_t mean, std::int64_t amplitude, Duration period, Duration phase);

  // The rate at `t` in milli-requests per minute (exact integers except diurnal's sine).
  [[nodiscard]] std::int64_t rate_mrpm(Time t) const noexcept;
  // An upper bound of rate_mrpm over all time (the thinning envelope).
  [[nodiscard]] std::int64_t rate_mrpm_max() const noexcept;
};

enum class ArrivalProcess : std::uint8_t {
  poisson,   // exponential gaps at the schedule's peak rate, thinned to the current rate
  constant,  // evenly spaced at 1 / rate, exact in integers (remainder carried)
};

// One kind of request in the mix. Exactly one of tier and route is meant to be set
// (by the scenario loader); the generator only carries them.
struct TrafficClass {
  std::string name;
  std::int64_t weight = 1;  // share of arrivals = weight / sum of weights
  Index tier = kNoIndex;
  Index route = kNoIndex;
  TokenDist prompt_tokens;
  TokenDist output_tokens;
  bool stream = false;
};

// One request of a replayed traffic log (sim/traffic_log.h), as the loader resolved it.
struct ReplayRequest {
  Duration at{0};         // after the log's first arrival, on the log's clock
  Index class_index = 0;  // the class of its route (or tier) and stream flag
  std::int64_t prompt_tokens = kTokensMin;
  std::int64_t output_tokens = kTokensMin;
};

inline constexpr std::int64_t kReplayMultiplyMax = 1'000;
inline constexpr Duration kReplayJitterMax = minutes(60);

// `[traffic] replay` (docs/scenarios.md): the log's arrivals instead of a rate. The k-th
// pass of the log (k = 0 without loop) puts a request at
//   spec.start + (k x period + at) / speed,
// and each request comes `multiply` times: the first at that time, every other copy
// there too (jitter 0) or at a time drawn uniformly in [that, that + jitter) from the
// run's "arrivals" stream, so that copies depend on the seed and nothing else.
struct ReplaySpec {
  // By `at`, then file order. Shared, not copied: every run of a scenario reads one log.
  std::shared_ptr<const std::vector<ReplayRequest>> requests;
  Ratio speed{1, 1};  // num/den > 0: 2/1 replays twice as fast, 1/60 sixty times slower
  std::int64_t multiply = 1;
  Duration jitter{0};
  bool loop = false;
  Duration period{0};  // loop: log time from one pass to the next (> the last `at`)
};

struct TrafficSpec {
  RateSchedule rate;  // unused with replay
  ArrivalProcess process = ArrivalProcess::poisson;
  Time start = kTimeZero;  // first possible arrival
  Time end = kTimeZero;    // arrivals are strictly before end
  std::vector<TrafficClass> classes;
  std::optional<ReplaySpec> replay;  // a replayed log instead of rate and mix
};

// How many arrivals a replay brings in [spec.start, spec.end) (jittered copies counted
// at their request's time). Precondition: spec.replay.
std::uint64_t replay_arrivals(const TrafficSpec& spec);

struct Arrival {
  std::uint64_t number = 0;  // 0 for the first arrival
  Time at;
  Index class_index = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
};

// Generates arrivals in time order. It owns two streams forked from the one it is given:
// "arrivals" (times, thinning) and "mix" (class and token draws, in arrival order), so
// that changing a class's token sizes does not move any arrival, and the k-th arrival
// gets the same class and sizes whatever the rate schedule or arrival process.
class Traffic {
 public:
  Traffic(TrafficSpec spec, const Prng& stream);

  // The next arrival, or empty once the next one would be at or after spec.end.
  std::optional<Arrival> next_arrival();

  [[nodiscard]] const TrafficSpec& spec() const noexcept { return spec_; }
  [[nodiscard]] std::uint64_t generated() const noexcept { return generated_; }

 private:
  std::optional<Time> next_poisson_time();
  std::optional<Time> next_constant_time();
  Arrival shape(Time at);
  std::optional<Arrival> next_replayed();
  [[nodiscard]] std::optional<Time> replay_time() const;

  // A copy of a replayed request waiting for its time (multiply > 1), in a min-heap on
  // (at, sequence): copies of nearby requests interleave in time order.
  struct Copy {
    Time at;
    std::uint64_t sequence = 0;
    Index class_index = 0;
    std::int64_t prompt_tokens = 0;
    std::int64_t output_tokens = 0;
  };
  static bool copy_later(const Copy& a, const Copy& b) noexcept {
    return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
  }

  TrafficSpec spec_;
  Prng arrivals_;
  Prng mix_;
  std::int64_t weight_total_ = 0;
  std::int64_t envelope_mrpm_ = 0;
  Time cursor_;                 // time of the last candidate or arrival
  double carry_us_ = 0.0;       // poisson: the fractional µs of the gaps so far
  std::int64_t remainder_ = 0;  // constant: carried numerator of 1 / rate
  bool first_ = true;           // constant: the first arrival is at spec.start
  bool done_ = false;           // an arrival fell at or after spec.end
  std::uint64_t generated_ = 0;
  std::size_t replay_index_ = 0;  // the next request of the log
  std::int64_t replay_pass_ = 0;  // which pass of a looped log
  std::vector<Copy> copies_;      // heap; bounded by multiply x the requests within one jitter
  std::uint64_t copy_sequence_ = 0;
};

}  // namespace failover::sim
