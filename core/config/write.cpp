// The config writer (write.h): writes the schema's tables in the order docs/config.md
// lists them, each value in the loader's spelling. Numbers that stand for decimals
// (prices, money, throttle_k) are written from their integers, exactly; strings are
// quoted and escaped by toml++. Allocation may throw; the entry point catches.
#include "core/config/write.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <toml++/toml.h>

#include "core/config/schema_names.h"
#include "core/engine/assert.h"
#include "core/engine/wide.h"

namespace failover::config {
namespace {

constexpr std::int64_t kMillionth = 1'000'000;

// The text of one TOML value, in the loader's spelling.
std::string str(std::string_view s) {
  std::ostringstream out;
  const toml::value<std::string> value{std::string(s)};
  out << toml::toml_formatter(value, toml::format_flags::none);  // a basic string: "...", escaped by toml++
  return out.str();
}

std::string boolean(bool b) {
  return b ? "true" : "false";
}

std::string duration(Duration d) {
  return str(duration_text(d));  // parse_duration's inverse for d >= 0, which validate() requires
}

// value / 10^places as a decimal number with a point ("0.35", "15.0", "-2.5"): exact, so
// the loader's scaled() reads back `value` (toml++ would print 0.35 as 0.34999999999999998).
std::string decimal(std::int64_t value, int places) {
  FAILOVER_ASSERT(places >= 0 && places <= kDecimalPlacesMax);
  const auto unit = static_cast<std::uint64_t>(detail::kPow10[places]);
  const std::uint64_t magnitude =
      value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::string frac = std::to_string(magnitude % unit);
  frac.insert(0, static_cast<std::size_t>(places) - std::min(frac.size(), static_cast<std::size_t>(places)), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  const std::string text =
      (value < 0 ? "-" : "") + std::to_string(magnitude / unit) + "." + (frac.empty() ? "0" : frac);
  FAILOVER_ASSERT(text.size() >= 3);
  return text;
}

// A percentage with up to 4 decimals ("94%", "12.3457%"): a ratio rounded to a millionth,
// as the loader rounds a number, which every ratio it makes already is. A negative ratio
// (which validate() refuses) as a number, since a percentage has no sign.
std::string ratio(Ratio r) {
  FAILOVER_ASSERT(r.den > 0);
  const Int128 scaled = static_cast<Int128>(r.num) * kMillionth;
  const Int128 rounded = (scaled + (scaled >= 0 ? r.den / 2 : -(r.den / 2))) / r.den;
  FAILOVER_ASSERT(rounded < Int128{std::numeric_limits<std::int64_t>::max()});
  FAILOVER_ASSERT(rounded > Int128{std::numeric_limits<std::int64_t>::min()});
  const auto ppm = static_cast<std::int64_t>(rounded);
  if (ppm < 0) return decimal(ppm, 6);
  std::string text = decimal(ppm, 4);  // ppm / 10^4 is the percentage
  if (text.ends_with(".0")) text.resize(text.size() - 2);
  return str(text + "%");
}

class Writer {
 public:
  explicit Writer(const Config& c) : c_(c) {}
  std::string write();

 private:
  void header(std::string_view name, bool array) {
    out_ += out_.empty() ? "" : "\n";
    out_ += array ? "[[" + std::string(name) + "]]\n" : "[" + std::string(name) + "]\n";
  }
  void key(std::string_view name, const std::string& value) { out_ += std::string(name) + " = " + value + "\n"; }
  void key(std::string_view name, std::int64_t value) { key(name, std::to_string(value)); }
  void providers();
  void routes();
  void tiers();
  void breaker(const BreakerPolicy& b);
  void retry(const RetryPolicy& r);
  void limits(const Policy& p);
  void classify(const ClassifyPolicy& c);

  const Config& c_;
  std::string out_;
};

void Writer::providers() {
  for (const ProviderConfig& p : c_.providers) {
    header("providers", true);
    key("name", str(p.name));
    if (!p.base_url.empty()) key("base_url", str(p.base_url));
    key("protocol", str(name_of(kProtocols, p.protocol)));
    if (!p.api_key_env.empty()) key("api_key_env", str(p.api_key_env));
    key("concurrency_max", p.concurrency_max);
    key("rpm_max", p.rpm_max);
    key("tpm_max", p.tpm_max);
    for (const ModelConfig& m : p.models) {
      header("providers.models", true);
      key("id", str(m.id));
      key("input_usd_per_mtok", decimal(m.input_micro_usd_per_mtok, 6));
      key("output_usd_per_mtok", decimal(m.output_micro_usd_per_mtok, 6));
      key("context_window", m.context_window_tokens);
    }
  }
}

void Writer::routes() {
  for (const RouteConfig& r : c_.routes) {
    header("routes", true);
    key("name", str(r.name));
    key("selection", str(name_of(kSelections, r.selection)));
    key("hedge_after", duration(r.hedge_after));
    key("stream_resume", boolean(r.stream_resume));
    if (r.capability_fallback != kNoIndex) {
      FAILOVER_ASSERT(r.capability_fallback < c_.routes.size());
      key("capability_fallback", str(c_.routes[r.capability_fallback].name));
    }
    for (const RouteTarget& rt : r.targets) {
      header("routes.targets", true);
      key("provider", str(c_.provider_of(rt.target).name));
      key("model", str(c_.model(rt.target).id));
      key("priority", rt.priority);
      key("weight", rt.weight);
    }
  }
}

void Writer::tiers() {
  for (const TierConfig& t : c_.tiers) {
    FAILOVER_ASSERT(t.route < c_.routes.size());
    header("tiers", true);
    key("name", str(t.name));
    key("route", str(c_.routes[t.route].name));
    if (t.downgrade_to != kNoIndex) {
      FAILOVER_ASSERT(t.downgrade_to < c_.tiers.size());
      key("downgrade_to", str(c_.tiers[t.downgrade_to].name));
    }
  }
}

void Writer::breaker(const BreakerPolicy& b) {
  header("policy.breaker", false);
  key("consecutive_failures", b.consecutive_failures);
  key("failure_rate", ratio(b.failure_rate));
  key("window_calls_min", b.window_calls_min);
  key("window", duration(b.window));
  key("slow_call_threshold", duration(b.slow_call_threshold));
  key("slow_call_rate", ratio(b.slow_call_rate));
  key("open_base", duration(b.open_base));
  key("open_max", duration(b.open_max));
  key("healthy_period", duration(b.healthy_period));
  key("half_open_probes", b.half_open_probes);
  key("min_available_targets", b.min_available_targets);
}

void Writer::retry(const RetryPolicy& r) {
  header("policy.retry", false);
  key("attempts_max", r.attempts_max);
  key("backoff", str(name_of(kBackoffs, r.backoff)));
  key("backoff_base", duration(r.backoff_base));
  key("backoff_max", duration(r.backoff_max));
  key("budget_ratio", ratio(r.budget_ratio));
  key("budget_min_per_second", r.budget_min_per_second);
  key("budget_max", r.budget_max);
  key("retry_after_max", duration(r.retry_after_max));
  key("retry_after_jitter", ratio(r.retry_after_jitter));
  key("adaptive_throttle", boolean(r.adaptive_throttle));
  key("throttle_k", decimal(r.throttle_k_milli, 3));
  key("throttle_window", duration(r.throttle_window));
}

// timeouts, queue, concurrency, cost and health: the small blocks, as load.cpp's read_limits.
void Writer::limits(const Policy& p) {
  header("policy.timeouts", false);
  key("request", duration(p.timeouts.request));
  key("attempt", duration(p.timeouts.attempt));
  key("first_byte", duration(p.timeouts.first_byte));
  key("connect", duration(p.timeouts.connect));
  header("policy.queue", false);
  key("depth_max", p.queue.depth_max);
  key("requests_max", p.queue.requests_max);
  key("when_unavailable", str(name_of(kWhenUnavailable, p.queue.when_unavailable)));
  key("discipline", str(name_of(kDiscipline, p.queue.discipline)));
  key("lifo_share", ratio(p.queue.lifo_share));
  key("lifo_after", duration(p.queue.lifo_after));
  header("policy.concurrency", false);
  key("inflight_max", p.concurrency.inflight_max);
  key("adaptive", boolean(p.concurrency.adaptive));
  header("policy.cost", false);
  key("budget_usd", decimal(p.cost.budget_micro_usd, 6));
  key("budget_window", duration(p.cost.budget_window));
  key("on_exhausted", str(name_of(kOnExhausted, p.cost.on_exhausted)));
  header("policy.health", false);
  key("ewma_weight", ratio(p.health.ewma_weight));
  key("ewma_idle_half_life", duration(p.health.ewma_idle_half_life));
  key("misconfigured_cooldown", duration(p.health.misconfigured_cooldown));
}

void Writer::classify(const ClassifyPolicy& c) {
  for (std::size_t i = 0; i < kOutcomeClassCount; ++i) {
    header("policy.classify.effects." + std::string(to_string(static_cast<OutcomeClass>(i))), false);
    key("retry", boolean(c.effects[i].retry));
    key("health", boolean(c.effects[i].health));
    key("fallback", boolean(c.effects[i].fallback));
  }
  for (const StatusOverride& o : c.status_overrides) {
    header("policy.classify.status", true);
    key("code", o.status);
    key("class", str(to_string(o.cls)));
  }
}

std::string Writer::write() {
  FAILOVER_ASSERT(out_.empty());
  providers();
  routes();
  tiers();
  breaker(c_.policy.breaker);
  retry(c_.policy.retry);
  limits(c_.policy);
  classify(c_.policy.classify);
  FAILOVER_ASSERT(!out_.empty());
  return std::move(out_);
}

}  // namespace

Result<std::string> config_toml(const Config& config) {
  try {
    return Writer(config).write();
  } catch (const std::exception& e) {
    return Error{"config", std::string("could not write the config: ") + e.what()};
  } catch (...) {
    return Error{"config", "could not write the config: unknown exception"};
  }
}

}  // namespace failover::config
