// Report formatting: the number formats, names, colours and per-run figures that the
// Markdown, JSON, JUnit and chart writers share, so that a figure reads the same in
// every file. Internal to the report writer (report*.cpp); everything is a pure function
// of its arguments and prints numbers with fixed precision, never through a locale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/time.h"
#include "sim/expect.h"

namespace failover::sim::report {

// "1,234,567"; negative numbers keep their sign.
std::string group_digits(std::int64_t n);
// value / 10^scale written exactly: decimal(1'234'500, 6) == "1.234500".
std::string decimal(std::int64_t value, int scale);
// "$1,234.57"; below one dollar four decimals ("$0.0042").
std::string usd(std::int64_t micro_usd);
// ratio x 100 with `digits` decimals and a percent sign: "99.973%".
std::string percent(double ratio, int digits);
// A latency: "850 ms" below a second, then "1.24 s", "12.3 s", "24.6 min", "1.7 h".
std::string latency_text(std::int64_t us);
// A span of time: "45 s", "18m 30s", "3h 00m".
std::string duration_text(Duration d);
// Minutes since the start as "h:mm".
std::string clock_text(double minutes);
// Markdown table cell text: | and the characters Markdown would interpret are escaped,
// a < or & that would start a tag or an entity becomes an entity (so "<= 0" stays
// readable and "<b>" shows as text), newlines become spaces.
std::string md_cell(std::string_view text);
// Free Markdown prose (a description): kept as written except that raw HTML and
// entities are shown as text.
std::string md_prose(std::string_view text);
// A JSON string literal, quotes included: " and \ escaped, control characters as \u00XX,
// everything else (UTF-8 included) as is.
std::string json_string(std::string_view text);

// Colour of the i-th policy; the same in every chart.
std::string policy_colour(std::size_t i);
// The config the i-th policy ran with: the scenario's policy of the same name, else
// the one at the same position, else none.
const Config* policy_config(const ScenarioResult& result, std::size_t i);
// "provider/model" for a target, or "target N" without a config.
std::string target_name(const Config* config, std::size_t target);
// How many targets the i-th policy has (from its config, else from its runs).
std::size_t target_count(const ScenarioResult& result, std::size_t i);

// The figures of one run that the report shows side by side.
struct RunFigures {
  double availability = 1.0;
  double dropped = 0.0;
  std::optional<double> overflow_minutes;  // after scenario.overflow_from; none: never
  double held_peak = 0.0;
  double p50_us = 0.0;
  double p90_us = 0.0;
  double p99_us = 0.0;
  double p999_us = 0.0;
  double attempts_per_request = 0.0;
  double trips = 0.0;
  double cost_micro_usd = 0.0;             // billed for sure
  double cost_upper_micro_usd = 0.0;       // plus possibly billed (timed-out, cancelled attempts)
  std::optional<double> cost_ratio;        // upper cost / all-primary plan; none without a plan
  std::optional<double> failover_seconds;  // none: no fault, or never back to health
  std::optional<double> recovery_seconds;  // none: no fault, or not recovered by the end
};

RunFigures figures_of(const Scenario& scenario, const RunResult& run);
std::optional<double> overflow_minutes(const Scenario& scenario, const RunResult& run);
std::int64_t trips_total(const RunResult& run);
// The lower median (an actual run's value): element (n - 1) / 2 of the sorted values.
double median(std::vector<double> values);

// Verdicts as the report counts them.
std::size_t runs_total(const ScenarioResult& result);
std::size_t runs_conserved(const ScenarioResult& result);
std::size_t checks_passed(const ScenarioResult& result);
bool all_conserved(const ScenarioResult& result);
bool overall_pass(const ScenarioResult& result);

}  // namespace failover::sim::report
