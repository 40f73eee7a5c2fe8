#include "serve/gateway_metrics.h"

#include <algorithm>
#include <cstdio>

#include "core/engine/assert.h"

namespace failover::serve {
namespace {

// A label value as the format wants it: backslash, double quote and newline escaped.
void append_escaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  append_escaped(out, value);
  out += '"';
  return out;
}

// Microseconds as decimal seconds, exactly ("0.012500"); millionths of a dollar likewise.
std::string millionths(std::int64_t v) {
  std::array<char, 32> buffer{};
  const char* sign = v < 0 ? "-" : "";
  const std::int64_t a = v < 0 ? -v : v;
  std::snprintf(buffer.data(), buffer.size(), "%s%lld.%06lld", sign, static_cast<long long>(a / 1'000'000),
                static_cast<long long>(a % 1'000'000));
  return buffer.data();
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t value) {
  sample(out, name, labels, std::to_string(value));
}

}  // namespace

std::string target_label(const Config& config, Index target) {
  return config.provider_of(target).name + "/" + config.model(target).id;
}

void Histogram::observe(std::int64_t us) noexcept {
  const auto it = std::lower_bound(kBoundsUs.begin(), kBoundsUs.end(), us);  // le: the first bound >= us
  ++buckets_[static_cast<std::size_t>(it - kBoundsUs.begin())];
  sum_us_ += us;
  ++count_;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
    cumulative += buckets_[i];
    std::string le = millionths(kBoundsUs[i]);
    while (le.back() == '0') le.pop_back();  // "0.005", "1.", then
    if (le.back() == '.') le.pop_back();     // "1"
    sample(out, bucket, prefix + "le=\"" + le + "\"", cumulative);
  }
  cumulative += buckets_.back();
  FAILOVER_ASSERT(cumulative == count_);
  sample(out, bucket, prefix + "le=\"+Inf\"", cumulative);
  sample(out, std::string(name) + "_sum", labels, millionths(sum_us_));
  sample(out, std::string(name) + "_count", labels, count_);
}

GatewayMetrics::Targets GatewayMetrics::bind(const Config& config) {
  Targets targets;
  for (Index t = 0; t < config.targets.size(); ++t) {
    targets.push_back(&targets_[target_label(config, t)]);  // std::map nodes never move
  }
  return targets;
}

void GatewayMetrics::request_ended(std::string_view route, std::string_view result, std::int64_t latency_us,
                                   std::int64_t first_byte_us) {
  auto r = routes_.find(route);
  if (r == routes_.end()) r = routes_.emplace(std::string(route), RouteCounters{}).first;
  auto n = r->second.results.find(result);
  if (n == r->second.results.end()) n = r->second.results.emplace(std::string(result), 0).first;
  ++n->second;
  if (latency_us >= 0) r->second.latency.observe(latency_us);
  if (first_byte_us >= 0) r->second.first_byte.observe(first_byte_us);
}

void GatewayMetrics::attempt_ended(const Targets& targets, Index target, std::string_view outcome) noexcept {
  FAILOVER_ASSERT(target < targets.size());
  const auto it = std::find(kAttemptOutcomes.begin(), kAttemptOutcomes.end(), outcome);
  FAILOVER_ASSERT(it != kAttemptOutcomes.end());
  ++targets[target]->attempts[static_cast<std::size_t>(it - kAttemptOutcomes.begin())];
}

void GatewayMetrics::attempt_started(const SendAttempt& attempt) noexcept {
  if (attempt.number > 1) ++retries_;
  if (attempt.hedge) ++hedges_;
}

void GatewayMetrics::breaker_changed(const Targets& targets, const BreakerChanged& change) noexcept {
  FAILOVER_ASSERT(change.target < targets.size());
  if (change.to == BreakerState::open) ++targets[change.target]->trips;
}

void GatewayMetrics::charged(const Targets& targets, const Charge& charge) noexcept {
  if (charge.target >= targets.size()) return;  // a run-level charge with no target
  TargetCounters& t = *targets[charge.target];
  (charge.kind == ChargeKind::possibly_billed ? t.possibly_billed_micro_usd : t.cost_micro_usd) +=
      charge.cost_micro_usd;
}

std::string GatewayMetrics::render(const MetricsSnapshot& s) const {
  FAILOVER_ASSERT(s.config != nullptr && s.health != nullptr);
  std::string out;
  out.reserve(16'384);

  family(out, "failover_requests_total", "counter",
         "Requests by configured route and result: ok, the engine's end reason (cancelled: the caller went away), "
         "refused (by the front) or shutdown.");
  for (const auto& [route, r] : routes_) {
    for (const auto& [result, count] : r.results)
      sample(out, "failover_requests_total", label("route", route) + "," + label("result", result), count);
  }
  family(out, "failover_request_duration_seconds", "histogram",
         "Time from a request's arrival to its answer's end, requests the engine handled.");
  for (const auto& [route, r] : routes_) {
    if (route.empty()) continue;  // refused before a route: not timed
    r.latency.render(out, "failover_request_duration_seconds", label("route", route));
  }
  family(out, "failover_time_to_first_token_seconds", "histogram",
         "Time from a served request's arrival to the first byte of the answer (streams: the first content event).");
  for (const auto& [route, r] : routes_) {
    if (route.empty()) continue;
    r.first_byte.render(out, "failover_time_to_first_token_seconds", label("route", route));
  }

  family(out, "failover_attempts_total", "counter", "Attempts by target and outcome class.");
  for (const auto& [target, t] : targets_) {
    for (std::size_t o = 0; o < kAttemptOutcomes.size(); ++o) {
      if (t.attempts[o] == 0) continue;
      sample(out, "failover_attempts_total", label("target", target) + "," + label("outcome", kAttemptOutcomes[o]),
             t.attempts[o]);
    }
  }
  family(out, "failover_cost_usd_total", "counter", "Cost charged per target, from usage (or estimated), in USD.");
  for (const auto& [target, t] : targets_) {
    sample(out, "failover_cost_usd_total", label("target", target), millionths(t.cost_micro_usd));
  }
  family(out, "failover_breaker_trips_total", "counter", "Times the target's circuit breaker opened.");
  for (const auto& [target, t] : targets_)
    sample(out, "failover_breaker_trips_total", label("target", target), t.trips);
  family(out, "failover_possibly_billed_usd_total", "counter",
         "Worst-case cost of attempts cut off after sending (timeouts, cancellations), per target, in USD.");
  for (const auto& [target, t] : targets_) {
    sample(out, "failover_possibly_billed_usd_total", label("target", target), millionths(t.possibly_billed_micro_usd));
  }

  const Config& config = *s.config;
  family(out, "failover_breaker_state", "gauge", "1 for the target's circuit breaker state, 0 for the others.");
  for (const TargetHealth& h : s.health->targets) {
    const std::string name = label("target", target_label(config, h.target));
    for (const BreakerState state : {BreakerState::closed, BreakerState::open, BreakerState::half_open}) {
      sample(out, "failover_breaker_state", name + "," + label("state", to_string(state)), h.breaker == state ? 1 : 0);
    }
  }
  family(out, "failover_breaker_open_until_seconds", "gauge",
         "Unix time at which an open breaker lets a probe through; 0 when it is not open.");
  for (const TargetHealth& h : s.health->targets) {
    const std::int64_t until_ms = h.breaker == BreakerState::open
                                      ? s.wall_now_ms + std::max<std::int64_t>(0, to_us(h.open_until - s.now)) / 1'000
                                      : 0;
    sample(out, "failover_breaker_open_until_seconds", label("target", target_label(config, h.target)),
           millionths(until_ms * 1'000));
  }
  family(out, "failover_inflight_attempts", "gauge", "Attempts in flight per target.");
  for (const TargetHealth& h : s.health->targets) {
    sample(out, "failover_inflight_attempts", label("target", target_label(config, h.target)), h.inflight);
  }

  family(out, "failover_queue_depth", "gauge", "Requests waiting in the engine's queue for a target.");
  sample(out, "failover_queue_depth", "", s.health->totals.queued);
  family(out, "failover_requests_in_progress", "gauge", "Requests the gateway holds: queued, in flight or answering.");
  sample(out, "failover_requests_in_progress", "", s.unfinished);
  if (s.connections >= 0) {
    family(out, "failover_connections", "gauge", "Caller connections open.");
    sample(out, "failover_connections", "", s.connections);
  }
  family(out, "failover_retries_total", "counter", "Attempts beyond each request's first, hedges included.");
  sample(out, "failover_retries_total", "", retries_);
  family(out, "failover_hedges_total", "counter", "Hedged attempts started.");
  sample(out, "failover_hedges_total", "", hedges_);
  family(out, "failover_downgrades_total", "counter",
         "Requests naming a tier that the engine moved to a cheaper tier when the cost budget ran out.");
  sample(out, "failover_downgrades_total", "", downgrades_);
  family(out, "failover_config_reloads_total", "counter", "Config reloads (SIGHUP) by result.");
  sample(out, "failover_config_reloads_total", "result=\"ok\"", reloads_ok_);
  sample(out, "failover_config_reloads_total", "result=\"failed\"", reloads_failed_);
  return out;
}

}  // namespace failover::serve
