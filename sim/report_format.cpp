#include "sim/report_format.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/engine/assert.h"
#include "sim/svg.h"

namespace failover::sim::report {
namespace {

std::uint64_t magnitude(std::int64_t n) {
  return n < 0 ? ~static_cast<std::uint64_t>(n) + 1 : static_cast<std::uint64_t>(n);
}

std::string group_unsigned(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out += digits.substr(0, lead);
  for (std::size_t i = lead; i < digits.size(); i += 3) out += "," + digits.substr(i, 3);
  return out;
}

std::uint64_t pow10(int n) {
  std::uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string zero_padded(std::uint64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  return s;
}

}  // namespace

std::string group_digits(std::int64_t n) {
  return (n < 0 ? "-" : "") + group_unsigned(magnitude(n));
}

std::string decimal(std::int64_t value, int scale) {
  FAILOVER_ASSERT(scale >= 0);
  FAILOVER_ASSERT(scale <= 18);
  const std::uint64_t mag = magnitude(value);
  const std::uint64_t unit = pow10(scale);
  std::string out = (value < 0 ? "-" : "") + std::to_string(mag / unit);
  if (scale > 0) out += "." + zero_padded(mag % unit, scale);
  return out;
}

std::string usd(std::int64_t micro_usd) {
  const std::uint64_t mag = magnitude(micro_usd);
  const std::string sign = micro_usd < 0 ? "-" : "";
  if (mag < 1'000'000) {
    const std::uint64_t ten_thousandths = (mag + 50) / 100;
    return sign + "$0." + zero_padded(ten_thousandths, 4);
  }
  const std::uint64_t cents = (mag + 5'000) / 10'000;
  return sign + "$" + group_unsigned(cents / 100) + "." + zero_padded(cents % 100, 2);
}

std::string percent(double ratio, int digits) {
  return svg::fixed(ratio * 100.0, digits) + "%";
}

std::string latency_text(std::int64_t us) {
  const double v = static_cast<double>(us);
  if (us < 1'000) return svg::fixed(v / 1e3, 2) + " ms";
  if (us < 1'000'000) return svg::fixed(v / 1e3, 0) + " ms";
  if (us < 10'000'000) return svg::fixed(v / 1e6, 2) + " s";
  if (us < 100'000'000) return svg::fixed(v / 1e6, 1) + " s";
  if (us < 6'000'000'000) return svg::fixed(v / 60e6, 1) + " min";
  return svg::fixed(v / 3'600e6, 1) + " h";
}

std::string duration_text(Duration d) {
  const std::int64_t total_us = to_us(d);
  if (total_us > 0 && total_us < 1'000'000) return latency_text(total_us);
  const std::uint64_t s = magnitude(total_us) / 1'000'000;
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3'600) return std::to_string(s / 60) + "m " + zero_padded(s % 60, 2) + "s";
  return std::to_string(s / 3'600) + "h " + zero_padded(s / 60 % 60, 2) + "m";
}

std::string clock_text(double minutes) {
  const double rounded = std::round(minutes);
  const std::uint64_t m = static_cast<std::uint64_t>(std::abs(rounded));
  return (rounded < 0 ? "-" : "") + std::to_string(m / 60) + ":" + zero_padded(m % 60, 2);
}

namespace {

// Would this '<' open an HTML tag or comment, or this '&' start an entity?
bool starts_markup(std::string_view text, std::size_t i) {
  if (i + 1 >= text.size()) return false;
  const char next = text[i + 1];
  const bool letter = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z');
  if (text[i] == '<') return letter || next == '/' || next == '!' || next == '?';
  return letter || next == '#';
}

}  // namespace

std::string md_cell(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '\\':
      case '|':
      case '*':
      case '_':
      case '`':
      case '[':
      case ']':
        out += '\\';
        out += c;
        break;
      case '<':
        out += starts_markup(text, i) ? "&lt;" : "<";
        break;
      case '&':
        out += starts_markup(text, i) ? "&amp;" : "&";
        break;
      case '\n':
        out += ' ';
        break;
      case '\r':
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string md_prose(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '<' || c == '&') && starts_markup(text, i)) {
      out += c == '<' ? "&lt;" : "&amp;";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::string policy_colour(std::size_t i) {
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  static constexpr std::array<const char*, 7> kPalette = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                          "#e69f00", "#56b4e9", "#000000"};
  return kPalette[i % kPalette.size()];
}

const Config* policy_config(const ScenarioResult& result, std::size_t i) {
  FAILOVER_ASSERT(result.scenario != nullptr);
  FAILOVER_ASSERT(i < result.policies.size());
  const std::vector<NamedPolicy>& named = result.scenario->policies;
  for (const NamedPolicy& p : named) {
    if (p.name == result.policies[i].name) return &p.config;
  }
  return i < named.size() ? &named[i].config : nullptr;
}

std::string target_name(const Config* config, std::size_t target) {
  if (config == nullptr || target >= config->targets.size()) return "target " + std::to_string(target);
  const auto t = static_cast<Index>(target);
  return config->provider_of(t).name + "/" + config->model(t).id;
}

std::size_t target_count(const ScenarioResult& result, std::size_t i) {
  const Config* config = policy_config(result, i);
  if (config != nullptr && !config->targets.empty()) return config->targets.size();
  std::size_t n = 0;
  for (const RunResult& run : result.policies[i].runs) {
    n = std::max({n, run.attempts_by_target.size(), run.trips_by_target.size(), run.breaker_end.size()});
  }
  return n;
}

std::optional<double> overflow_minutes(const Scenario& scenario, const RunResult& run) {
  if (!run.overflow_at) return std::nullopt;
  return static_cast<double>(to_us(*run.overflow_at) - to_us(scenario.overflow_from)) / 60e6;
}

std::int64_t trips_total(const RunResult& run) {
  std::int64_t n = 0;
  for (const std::int64_t t : run.trips_by_target) n += t;
  return n;
}

RunFigures figures_of(const Scenario& scenario, const RunResult& run) {
  RunFigures f;
  f.availability = run.availability();
  f.dropped = static_cast<double>(run.dropped);
  f.overflow_minutes = overflow_minutes(scenario, run);
  f.held_peak = static_cast<double>(run.held_peak);
  f.p50_us = static_cast<double>(run.latency.percentile(Ratio{50, 100}).count());
  f.p90_us = static_cast<double>(run.latency.percentile(Ratio{90, 100}).count());
  f.p99_us = static_cast<double>(run.latency.percentile(Ratio{99, 100}).count());
  f.p999_us = static_cast<double>(run.latency.percentile(Ratio{999, 1000}).count());
  f.attempts_per_request =
      run.arrived == 0 ? 0.0 : static_cast<double>(run.attempts) / static_cast<double>(run.arrived);
  f.trips = static_cast<double>(trips_total(run));
  f.cost_micro_usd = static_cast<double>(run.cost_micro_usd);
  f.cost_upper_micro_usd = static_cast<double>(run.cost_micro_usd + run.possibly_billed_micro_usd);
  if (run.plan_cost_micro_usd > 0) f.cost_ratio = f.cost_upper_micro_usd / static_cast<double>(run.plan_cost_micro_usd);
  if (!run.series.empty() && to_us(run.bucket) > 0) {
    f.failover_seconds = failover_seconds(scenario, run);
    f.recovery_seconds = recovery_seconds(scenario, run);
  }
  return f;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

std::size_t runs_total(const ScenarioResult& result) {
  std::size_t n = 0;
  for (const PolicyResult& p : result.policies) n += p.runs.size();
  return n;
}

std::size_t runs_conserved(const ScenarioResult& result) {
  std::size_t n = 0;
  for (const PolicyResult& p : result.policies) {
    n += static_cast<std::size_t>(
        std::count_if(p.runs.begin(), p.runs.end(), [](const RunResult& r) { return r.conserved; }));
  }
  return n;
}

std::size_t checks_passed(const ScenarioResult& result) {
  return static_cast<std::size_t>(
      std::count_if(result.checks.begin(), result.checks.end(), [](const CheckResult& c) { return c.passed; }));
}

bool all_conserved(const ScenarioResult& result) {
  return result.conserved && runs_conserved(result) == runs_total(result);
}

bool overall_pass(const ScenarioResult& result) {
  return result.passed() && all_conserved(result);
}

}  // namespace failover::sim::report
