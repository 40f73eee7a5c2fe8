#include "sim/live_world.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <variant>

#include "core/engine/assert.h"
#include "sim/expect.h"
#include "sim/json_writer.h"
#include "sim/report_format.h"

namespace failover::sim {
namespace {

Duration div_up(Duration d, std::int64_t k) {
  const std::int64_t n = to_us(d);
  if (n <= 0) return d;
  return us(n / k + (n % k != 0 ? 1 : 0));
}

// Multiplies a rate, saturating rather than overflowing (a limit that high is no limit
// a run can reach).
std::int64_t mul_sat(std::int64_t rate, std::int64_t k) {
  constexpr std::int64_t kMax = std::int64_t{1} << 53;
  return rate > kMax / k ? kMax : rate * k;
}

std::string printf_text(const char* format, double value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// Percentages differ in points; everything else in the metric's own unit.
std::string difference_text(Metric m, double sim, double live) {
  if (std::isinf(sim) || std::isinf(live)) return sim == live ? "same" : "-";
  const double d = live - sim;
  switch (m) {
    case Metric::availability:
    case Metric::cost_ratio:
      return printf_text("%+.3f pt", d);
    case Metric::dropped:
    case Metric::failed:
    case Metric::breaker_trips:
      return printf_text("%+.0f", d);
    case Metric::overflow_at:
      return printf_text("%+.1f min", d);
    case Metric::failover_time:
    case Metric::recovery_time:
      return printf_text("%+.0f s", d);
    case Metric::latency_p50:
    case Metric::latency_p90:
    case Metric::latency_p99:
    case Metric::latency_p999:
      return printf_text("%+.0f ms", d);
    case Metric::attempts_per_request:
      return sim > 0 ? printf_text("%+.3f", d) + printf_text(" (%+.1f%%)", 100.0 * d / sim) : printf_text("%+.3f", d);
    case Metric::cost_usd:
      return printf_text("%+.2f $", d);
  }
  return printf_text("%+g", d);
}

// "failed attempts_exhausted 12, dropped queue_full 3" or "none".
std::string reasons_text(const RunResult& r) {
  std::string out;
  for (std::size_t i = 0; i < kEndReasonCount; ++i) {
    const char* name = to_string(static_cast<EndReason>(i));
    if (r.failed_by[i] > 0)
      out += (out.empty() ? "" : ", ") + std::string("failed ") + name + " " + std::to_string(r.failed_by[i]);
    if (r.dropped_by[i] > 0)
      out += (out.empty() ? "" : ", ") + std::string("dropped ") + name + " " + std::to_string(r.dropped_by[i]);
  }
  if (r.dropped_buffer_full > 0)
    out += (out.empty() ? "" : ", ") + std::string("buffer full ") + std::to_string(r.dropped_buffer_full);
  return out.empty() ? "none" : out;
}

}  // namespace

Duration scaled_down(Duration d, std::int64_t k) {
  FAILOVER_ASSERT(k >= 1);
  return div_up(d, k);
}

Config scaled_config(const Config& config, std::int64_t k) {
  FAILOVER_ASSERT(k >= 1);
  Config c = config;
  for (ProviderConfig& p : c.providers) {
    p.rpm_max = mul_sat(p.rpm_max, k);
    p.tpm_max = mul_sat(p.tpm_max, k);
  }
  for (RouteConfig& r : c.routes) r.hedge_after = div_up(r.hedge_after, k);
  Policy& p = c.policy;
  for (Duration* d :
       {&p.breaker.window, &p.breaker.slow_call_threshold, &p.breaker.open_base, &p.breaker.open_max,
        &p.breaker.healthy_period, &p.retry.backoff_base, &p.retry.backoff_max, &p.retry.retry_after_max,
        &p.retry.throttle_window, &p.timeouts.request, &p.timeouts.attempt, &p.timeouts.first_byte, &p.timeouts.connect,
        &p.queue.lifo_after, &p.cost.budget_window, &p.health.ewma_idle_half_life, &p.health.misconfigured_cooldown}) {
    *d = div_up(*d, k);
  }
  p.retry.budget_min_per_second =
      static_cast<std::int32_t>(std::min<std::int64_t>(mul_sat(p.retry.budget_min_per_second, k), INT32_MAX));
  return c;
}

// ---- LiveRecord: the bookkeeping of sim/simulation.cpp's Loop, fed from outside -----

LiveRecord::LiveRecord(const RunSpec& spec)
    : spec_(spec),
      breaker_(spec.config.targets.size(), BreakerState::closed),
      breaker_since_(spec.config.targets.size(), kTimeZero) {
  result_ = empty_result(spec);
  result_.digest = "live";  // a live run has no trace digest: its order is the machine's
  std::size_t faults = 0;
  for (const ProviderSpec& p : spec.providers) {
    first_fault_.push_back(faults);
    faults += p.faults.size();
  }
}

Bucket& LiveRecord::bucket(Time t) {
  const auto i = static_cast<std::size_t>(to_us(t) / to_us(spec_.bucket));
  return result_.series[std::min(i, result_.series.size() - 1)];
}

// As Loop::close_buckets: a bucket's latency percentiles and occupancy are settled when
// time leaves it. Also the one place that checks time goes forward.
void LiveRecord::close_buckets(Time upto) {
  FAILOVER_ASSERT(upto >= last_);
  last_ = upto;
  if (upto < bucket_closes_at_) return;
  const auto i = std::min(static_cast<std::size_t>(to_us(upto) / to_us(spec_.bucket)), result_.series.size());
  const std::size_t first = bucket_latency_index_;
  for (; bucket_latency_index_ < i; ++bucket_latency_index_) {
    Bucket& b = result_.series[bucket_latency_index_];
    b.latency_p50_us = to_us(bucket_latency_.percentile(Ratio{50, 100}));
    b.latency_p99_us = to_us(bucket_latency_.percentile(Ratio{99, 100}));
    bucket_latency_ = Histogram{};
    b.held_max = std::max({b.held_max, held_, bucket_latency_index_ == first ? held_at_open_ : held_});
    for (std::size_t t = 0; t < breaker_.size() && t < 32; ++t) {
      if (breaker_[t] == BreakerState::open) b.open_targets |= 1U << t;
    }
  }
  const std::size_t open = bucket_latency_index_;
  held_at_open_ = held_;
  bucket_closes_at_ =
      open < result_.series.size() ? kTimeZero + spec_.bucket * static_cast<std::int64_t>(open + 1) : kTimeNever;
}

void LiveRecord::arrived(Time at, std::int64_t plan_cost_micro_usd) {
  close_buckets(at);
  ++result_.arrived;
  ++bucket(at).arrived;
  result_.plan_cost_micro_usd += plan_cost_micro_usd;
}

void LiveRecord::dropped_full(Time at) {
  close_buckets(at);
  if (!result_.overflow_at) result_.overflow_at = at;
  ++result_.dropped;
  ++result_.dropped_buffer_full;
  ++bucket(at).dropped;
}

void LiveRecord::admitted(Time at) {
  close_buckets(at);
  ++held_;
  result_.held_peak = std::max(result_.held_peak, held_);
  Bucket& b = bucket(at);
  b.held_max = std::max(b.held_max, held_);
}

void LiveRecord::action(Time at, const Action& action) {
  close_buckets(at);
  ++result_.events;
  if (const auto* s = std::get_if<SendAttempt>(&action)) {
    on_send(at, *s);
  } else if (const auto* g = std::get_if<Charge>(&action)) {
    result_.cost_by_target_micro_usd[g->target] += g->cost_micro_usd;
    bucket(at).cost_micro_usd += g->cost_micro_usd;
  } else if (const auto* b = std::get_if<BreakerChanged>(&action)) {
    on_breaker(at, *b);
  }
}

void LiveRecord::on_send(Time at, const SendAttempt& s) {
  ++result_.attempts;
  ++result_.attempts_by_target[s.target];
  ++bucket(at).attempts;
  if (s.hedge) ++result_.hedges;
  const std::vector<Fault>& faults = spec_.providers[s.provider].faults;
  for (std::size_t k = 0; k < faults.size(); ++k) {
    if (at >= faults[k].start && at < faults[k].start + faults[k].duration) {
      ++result_.calls_in_fault[first_fault_[s.provider] + k];
    }
  }
}

void LiveRecord::add_breaker_time(Index target, Time until) {
  const Duration spent = std::max(until - breaker_since_[target], Duration{0});
  if (breaker_[target] == BreakerState::open) result_.open_time_by_target[target] += spent;
  if (breaker_[target] == BreakerState::half_open) result_.half_open_time_by_target[target] += spent;
  breaker_since_[target] = until;
}

// The change is stamped with the time it was observed, not the engine's own clock: one
// clock for every event of the run.
void LiveRecord::on_breaker(Time at, const BreakerChanged& b) {
  add_breaker_time(b.target, at);
  breaker_[b.target] = b.to;
  if (b.to == BreakerState::open) {
    ++result_.trips_by_target[b.target];
    if (b.target < 32) bucket(at).open_targets |= 1U << b.target;
  }
  ++result_.transitions_total;
  if (result_.transitions.size() < kTransitionsKept) result_.transitions.push_back({at, b.target, b.from, b.to});
}

void LiveRecord::note_breakers_at_end(std::size_t reason) {
  FAILOVER_ASSERT(reason < kEndReasonCount);
  const std::size_t targets = breaker_.size();
  for (std::size_t t = 0; t < targets; ++t) {
    if (breaker_[t] == BreakerState::open) ++result_.ended_while_open[reason * targets + t];
    if (breaker_[t] == BreakerState::half_open) ++result_.ended_while_half_open[reason * targets + t];
  }
}

void LiveRecord::ended(Time at, const Complete& c, Duration latency, bool dead_letter) {
  close_buckets(at);
  FAILOVER_ASSERT(held_ > 0);
  --held_;
  Bucket& b = bucket(at);
  if (c.status == RequestStatus::succeeded) {
    result_.latency.record(latency);
    bucket_latency_.record(latency);
    ++result_.succeeded;
    ++b.succeeded;
    if (c.target != kNoIndex) ++result_.successes_by_target[c.target];
    if (c.downgraded) ++result_.downgraded;
    return;
  }
  const auto reason = static_cast<std::size_t>(c.reason);
  note_breakers_at_end(reason);
  if (dead_letter) ++result_.dead_lettered;
  if (c.status == RequestStatus::failed || dead_letter) {
    ++result_.failed;
    ++result_.failed_by[reason];
    ++b.failed;
  } else {
    ++result_.dropped;
    ++result_.dropped_by[reason];
    ++b.dropped;
  }
}

RunResult LiveRecord::finish(Time end, std::int64_t in_flight, std::int64_t cost_micro_usd,
                             std::int64_t possibly_billed_micro_usd, std::int64_t retry_budget_denied) {
  close_buckets(std::max(end, last_));
  result_.end = end;
  result_.in_flight_end = in_flight;
  result_.conserved = result_.arrived == result_.succeeded + result_.failed + result_.dropped + in_flight;
  result_.cost_micro_usd = cost_micro_usd;
  result_.possibly_billed_micro_usd = possibly_billed_micro_usd;
  result_.retry_budget_denied = retry_budget_denied;
  for (std::size_t t = 0; t < breaker_.size(); ++t) add_breaker_time(static_cast<Index>(t), std::max(end, last_));
  result_.breaker_end = breaker_;
  return std::move(result_);
}

// ---- the two worlds side by side -------------------------------------------------

std::vector<std::string> two_worlds_notes(const LiveNotes& n) {
  std::vector<std::string> out;
  const double k = static_cast<double>(n.time_scale);
  out.push_back(printf_text("Time scale %.0f: ", k) +
                printf_text("the live run took %.1f s of real time; ", n.wall_seconds) +
                "every live duration is real time x K, so 1 ms of real delay (network, TLS, scheduling) reads as " +
                printf_text("%.0f ms of scenario time.", k));
  out.push_back(printf_text("Arrival jitter: arrivals were sent on average %.3f ms ", n.arrival_late_mean_ms) +
                printf_text("(at most %.1f ms) of real time after their scheduled instant; ", n.arrival_late_max_ms) +
                "the simulator sends each at its instant. Latencies count from the send.");
  out.push_back("Connection set-up: the transport opened " + std::to_string(n.connections) +
                " TLS connections, each a handshake the simulator does not model; the connect timeout was kept at " +
                "least " + std::to_string(n.connect_floor_ms) +
                " ms real (the fleet is on loopback: a slow handshake is the machine's, not a provider's).");
  out.push_back(
      "The fleet's clock: fault windows, latencies and Retry-After are scenario times mapped to real time / K "
      "(Retry-After in whole real milliseconds, rounded up); timers fire late by the machine's scheduling, so "
      "live latencies run above the simulator's by about K x that lateness.");
  out.push_back(
      "Randomness: the traffic (arrival times, classes, token counts) is the simulator's, same seed; the "
      "fleet and the engine get the simulator's random streams for that seed, but their draws are taken in "
      "the live run's order, so individual outcomes differ while their rates agree.");
  if (n.unfinished > 0) {
    out.push_back(std::to_string(n.unfinished) +
                  " requests were still unfinished when the scenario ended (counted in flight, as the simulator "
                  "counts its own).");
  }
  return out;
}

std::string two_worlds_table(const Scenario& scenario, const std::string& policy, const RunResult& simulated,
                             const RunResult& live, const LiveNotes& notes) {
  std::string out = "\ntwo worlds: policy " + policy + ", seed " + std::to_string(live.seed) + ", time scale " +
                    std::to_string(notes.time_scale) + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %18s %18s %22s\n", "metric", "sim", "live", "live - sim");
  out += line;
  for (const Metric m : kTwoWorldsMetrics) {
    const double s = metric_value(m, scenario, simulated, nullptr);
    const double l = metric_value(m, scenario, live, nullptr);
    std::snprintf(line, sizeof line, "%-22s %18s %18s %22s\n", std::string(metric_name(m)).c_str(),
                  format_metric(m, s).c_str(), format_metric(m, l).c_str(), difference_text(m, s, l).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "%-22s %18lld %18lld %22s\n", "arrived", static_cast<long long>(simulated.arrived),
                static_cast<long long>(live.arrived), live.arrived == simulated.arrived ? "same" : "differs");
  out += line;
  out += "why requests did not succeed (sim | live): " + reasons_text(simulated) + " | " + reasons_text(live) + "\n";
  out += "\nwhere the worlds differ:\n";
  for (const std::string& n : two_worlds_notes(notes)) out += "- " + n + "\n";
  return out;
}

void write_two_worlds(JsonWriter& j, const Scenario& scenario, const RunResult& simulated, const RunResult& live,
                      const LiveNotes& notes) {
  const auto number = [&j](std::string_view key, double v) {
    if (std::isinf(v) || std::isnan(v)) {
      j.null(key);
    } else {
      j.real(key, v, 6);
    }
  };
  j.integer("time_scale", notes.time_scale);
  j.real("live_wall_seconds", notes.wall_seconds, 3);
  j.open("metrics", '[');
  for (const Metric m : kTwoWorldsMetrics) {
    const double s = metric_value(m, scenario, simulated, nullptr);
    const double l = metric_value(m, scenario, live, nullptr);
    j.open_inline("", '{');
    j.text("metric", metric_name(m));
    number("sim", s);
    number("live", l);
    number("difference", std::isinf(s) || std::isinf(l) ? s : l - s);  // null when either never happened
    j.close('}');
  }
  j.close(']');
  j.open("notes", '[');
  for (const std::string& n : two_worlds_notes(notes)) j.text("", n);
  j.close(']');
}

}  // namespace failover::sim
