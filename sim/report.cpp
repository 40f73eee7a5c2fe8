// The report's Markdown (for people) and JUnit XML (for CI), and writing every file of
// a report into its folder. The JSON is report_json.cpp's; the charts, report_charts.cpp's.
#include "sim/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include "core/engine/assert.h"
#include "sim/report_format.h"
#include "sim/svg.h"

namespace failover::sim {
namespace {

using report::md_cell;

constexpr double kNever = std::numeric_limits<double>::infinity();

// A file name as a Markdown link target: anything but [A-Za-z0-9._~-] is %-encoded.
std::string link_target(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '~' || c == '-';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string seeds_text(const std::vector<std::uint64_t>& seeds) {
  std::string out;
  for (std::size_t i = 0; i < seeds.size(); ++i) out += (i == 0 ? "" : ", ") + std::to_string(seeds[i]);
  return out.empty() ? "none" : out;
}

std::string verdict_line(const ScenarioResult& result) {
  const std::size_t runs = report::runs_total(result);
  std::string line = report::overall_pass(result) ? "**✅ PASS**" : "**❌ FAIL**";
  line += " · " + std::to_string(report::checks_passed(result)) + " of " + std::to_string(result.checks.size()) +
          " expectations met · conservation ";
  line += report::all_conserved(result) ? "holds in every run"
                                        : "broken in " + std::to_string(runs - report::runs_conserved(result)) +
                                              " of " + std::to_string(runs) + " runs";
  line += result.violation.empty() ? " · liveness invariants hold"
                                   : " · a liveness invariant broke (" + result.violation + ")";
  line += " · " + std::to_string(result.policies.size()) + " policies × " +
          std::to_string(result.scenario->seeds.size()) + " seeds";
  return line + "\n\n";
}

std::string md_header(const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  const std::string title = s.title.empty() ? s.name : s.title;
  std::string out = "# " + md_cell(title) + "\n\n" + verdict_line(result);
  if (!s.description.empty()) out += report::md_prose(s.description) + "\n\n";
  out += "| | |\n|---|---|\n";
  if (!s.path.empty()) out += "| scenario file | `" + md_cell(s.path) + "` |\n";
  const Duration bucket = result.policies.empty() ? Duration{0} : result.policies[0].runs.front().bucket;
  out += "| simulated time | " + report::duration_text(s.duration) +
         (to_us(bucket) > 0 ? ", measured in " + report::duration_text(bucket) + " buckets" : "") + " |\n";
  out += "| seeds | " + seeds_text(s.seeds) + " |\n";
  out += "| application buffer | " +
         (s.buffer.capacity > 0 ? report::group_digits(s.buffer.capacity) + " requests" : std::string("unbounded")) +
         (s.buffer.mode == BufferMode::requeue ? ", failed requests requeued" : ", failed requests end failed") +
         " |\n";
  out += "| overflow measured from | " + report::duration_text(s.overflow_from - kTimeZero) + " after the start |\n";
  out += "| cost budget | " + (s.cost_budget_micro_usd > 0 ? report::usd(s.cost_budget_micro_usd) : "none") + " |\n\n";
  if (!s.source.empty()) out += "**Where the numbers come from.** " + report::md_prose(s.source) + "\n\n";
  return out;
}

using CellFormat = std::string (*)(double value);

// Minutes from the storm's start (scenario.overflow_from): a buffer that was already
// overflowing reads "6.9 min before", never "after -6.9 min".
std::string overflow_text(double minutes) {
  if (minutes < 0.0) return svg::fixed(-minutes, 1) + " min before";
  return "after " + svg::fixed(minutes, 1) + " min";
}
std::string seconds_text(double seconds) {
  return report::duration_text(sec(std::llround(seconds)));
}

// The median of a figure that may never happen (never counts as +infinity), and how
// many seeds saw it happen when only some did.
std::string eventual_cell(const std::vector<std::optional<double>>& values, CellFormat format,
                          const std::string& verb) {
  std::vector<double> all;
  std::size_t happened = 0;
  for (const std::optional<double>& v : values) {
    all.push_back(v.value_or(kNever));
    if (v) ++happened;
  }
  const double mid = report::median(all);
  std::string cell = std::isinf(mid) ? "never" : format(mid);
  if (happened > 0 && happened < values.size()) {
    cell += " (" + std::to_string(happened) + " of " + std::to_string(values.size()) + " seeds " + verb + ")";
  }
  return cell;
}

std::string peak_cell(std::int64_t held, std::int64_t capacity) {
  if (capacity <= 0) return report::group_digits(held) + " (unbounded)";
  return report::group_digits(held) + " / " + report::group_digits(capacity) + " (" +
         report::percent(static_cast<double>(held) / static_cast<double>(capacity), 0) + ")";
}

std::string cost_cell(std::int64_t billed, std::int64_t upper) {
  return upper == billed ? report::usd(billed) : report::usd(billed) + " – " + report::usd(upper);
}

// One row of the side-by-side table: the median of each figure over the seeds.
std::string policy_row(const Scenario& s, const PolicyResult& p) {
  std::vector<report::RunFigures> figs;
  for (const RunResult& run : p.runs) figs.push_back(report::figures_of(s, run));
  const auto mid = [&figs](double report::RunFigures::*field) {
    std::vector<double> v;
    for (const report::RunFigures& f : figs) v.push_back(f.*field);
    return std::llround(report::median(v));
  };
  const auto each = [&figs](std::optional<double> report::RunFigures::*field) {
    std::vector<std::optional<double>> v;
    for (const report::RunFigures& f : figs) v.push_back(f.*field);
    return v;
  };
  const bool none_succeeded =
      std::all_of(p.runs.begin(), p.runs.end(), [](const RunResult& r) { return r.latency.count() == 0; });
  const auto latency = [&](double report::RunFigures::*field) {
    return none_succeeded ? std::string("–") : report::latency_text(mid(field));
  };
  std::vector<double> ratios;
  std::vector<double> availability;
  std::vector<double> attempts;
  for (const report::RunFigures& f : figs) {
    if (f.cost_ratio) ratios.push_back(*f.cost_ratio);
    availability.push_back(f.availability);
    attempts.push_back(f.attempts_per_request);
  }
  const std::vector<std::string> cells = {
      "**" + md_cell(p.name) + "**",
      report::percent(report::median(availability), 3),
      report::group_digits(mid(&report::RunFigures::dropped)),
      eventual_cell(each(&report::RunFigures::overflow_minutes), overflow_text, "overflow"),
      peak_cell(mid(&report::RunFigures::held_peak), s.buffer.capacity),
      s.first_fault_start() ? eventual_cell(each(&report::RunFigures::failover_seconds), seconds_text, "fail over")
                            : "–",
      latency(&report::RunFigures::p50_us),
      latency(&report::RunFigures::p99_us),
      latency(&report::RunFigures::p999_us),
      svg::fixed(report::median(attempts), 2),
      report::group_digits(mid(&report::RunFigures::trips)),
      cost_cell(mid(&report::RunFigures::cost_micro_usd), mid(&report::RunFigures::cost_upper_micro_usd)),
      ratios.empty() ? std::string("–") : report::percent(report::median(ratios), 1)};
  std::string row = "|";
  for (const std::string& c : cells) row += " " + c + " |";
  return row + "\n";
}

// A policy that is already failing before the first fault is measured against a
// storm it did not cause (issue 17: the case-study baseline held 26,804 of 43,200
// messages before the storm). Unhealthy: it dropped a request, or held more than a tenth
// of the buffer, before the first fault. Each such policy is named with its worst seed.
std::string md_unhealthy_before_faults(const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  const std::optional<Time> first = s.first_fault_start();
  if (!first) return "";
  std::string out;
  for (const PolicyResult& p : result.policies) {
    std::int64_t held = 0;
    std::int64_t dropped = 0;
    for (const RunResult& run : p.runs) {
      const std::size_t before =
          std::min(run.series.size(), static_cast<std::size_t>(to_us(*first) / to_us(run.bucket)));
      std::int64_t run_held = 0;
      std::int64_t run_dropped = 0;
      for (std::size_t i = 0; i < before; ++i) {
        run_held = std::max(run_held, run.series[i].held_max);
        run_dropped += run.series[i].dropped;
      }
      held = std::max(held, run_held);
      dropped = std::max(dropped, run_dropped);
    }
    const std::int64_t capacity = s.buffer.capacity;
    const bool backlog = capacity > 0 && held > capacity / 10;
    if (!backlog && dropped == 0) continue;
    out += "- ⚠️ **" + md_cell(p.name) + "** was unhealthy before the first fault (" +
           report::duration_text(*first - kTimeZero) + " after the start): it ";
    if (backlog)
      out += "already held " + report::group_digits(held) + " of " + report::group_digits(capacity) + " messages";
    if (backlog && dropped > 0) out += " and ";
    if (dropped > 0) out += "dropped " + report::group_digits(dropped) + " requests";
    out += ". Its figures measure a backlog it built on a healthy day, not only the outage.\n";
  }
  return out;
}

// The preflight's warnings (sim/preflight.h), before the figures they qualify.
std::string md_preflight(const ScenarioResult& result) {
  if (result.warnings.empty()) return "";
  std::string out = "## Preflight\n\n";
  for (const std::string& w : result.warnings) out += "- ⚠️ " + report::md_prose(w) + "\n";
  return out + "\n";
}

std::string md_policies(const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  std::string out = "## Policies side by side\n\n";
  out += s.seeds.size() > 1 ? "Median over the " + std::to_string(s.seeds.size()) +
                                  " seeds, column by column; every run is listed under [Runs](#runs).\n\n"
                            : "Seed " + seeds_text(s.seeds) + ".\n\n";
  out +=
      "| policy | availability | dropped | buffer overflow | peak buffer | time to fail over | p50 | p99 | p99.9 "
      "| attempts / request | breaker trips | cost | cost vs all-primary plan |\n";
  out += "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
  for (const PolicyResult& p : result.policies) out += policy_row(s, p);
  out += "\n";
  for (const PolicyResult& p : result.policies) {
    if (!p.description.empty()) out += "- **" + md_cell(p.name) + "**: " + report::md_prose(p.description) + "\n";
  }
  const std::string unhealthy = md_unhealthy_before_faults(result);
  if (!unhealthy.empty()) out += "\n" + unhealthy;
  out += "\nBuffer overflow is counted from " + report::duration_text(s.overflow_from - kTimeZero) +
         " after the start. Time to fail over: from then until the first " + report::duration_text(kFailoverHold) +
         " in which at least " +
         report::percent(static_cast<double>(kHealthyBucket.num) / static_cast<double>(kHealthyBucket.den), 0) +
         " of arrivals succeed. Latency is end to end for requests that succeeded, queue wait and requeues "
         "included; each percentile is the upper bound of its histogram bucket, at most 1.6% above the exact "
         "value. Cost is billed for sure – including attempts that timed out or were cancelled (a provider may "
         "bill them); each attempt's input and output are priced separately and each rounded up to a whole "
         "micro-dollar; the plan is what every arrival would cost at its route's primary target.\n\n";
  return out;
}

std::string md_expectations(const ScenarioResult& result) {
  std::string out = "## Expectations\n\n| | policy | metric | expected | measured |\n|---|---|---|---|---|\n";
  for (const CheckResult& c : result.checks) {
    out += std::string(c.passed ? "| ✅ PASS" : "| ❌ FAIL") + " | " + md_cell(c.policy) + " | " + md_cell(c.metric) +
           " | " + md_cell(c.expected) + " | " + md_cell(c.measured) + " |\n";
  }
  const std::size_t runs = report::runs_total(result);
  out += std::string(report::all_conserved(result) ? "| ✅ PASS" : "| ❌ FAIL") +
         " | every policy | conservation | arrived = succeeded + failed + dropped + in flight | holds in " +
         std::to_string(report::runs_conserved(result)) + " of " + std::to_string(runs) + " runs |\n\n";
  return out;
}

std::string md_disagreements(const ScenarioResult& result) {
  std::string out = "## Where the claims do not hold under simulation\n\n";
  if (!report::all_conserved(result)) {
    out +=
        "**Conservation is broken**: some requests are unaccounted for, so no figure of those runs can be "
        "trusted. This is a bug in the simulator or the engine, not a finding.\n\n";
  }
  if (report::checks_passed(result) == result.checks.size()) {
    return out +
           "Every expectation holds on every seed: nothing in this replay contradicts the claims it tests. "
           "The description above says which claims those are and where they come from.\n\n";
  }
  out +=
      "These expectations fail. Each is either a policy falling short or a claim of the source that does not "
      "survive the replay; the description above says which claims the scenario tests.\n\n";
  for (const CheckResult& c : result.checks) {
    if (c.passed) continue;
    out += "- **" + md_cell(c.policy) + "**, " + md_cell(c.metric) + ": expected " + md_cell(c.expected) +
           ", measured " + md_cell(c.measured) + "\n";
  }
  return out + "\n";
}

// What one policy's failed and dropped requests ended with, summed over its seeds.
struct Endings {
  std::array<std::int64_t, kEndReasonCount> failed{};
  std::array<std::int64_t, kEndReasonCount> dropped{};
  std::int64_t buffer_full = 0;
  std::vector<std::int64_t> while_open;  // [reason * targets + target]
  std::vector<std::int64_t> while_half_open;
  std::int64_t total = 0;
};

Endings endings_of(const PolicyResult& p, std::size_t targets) {
  Endings e;
  e.while_open.assign(kEndReasonCount * targets, 0);
  e.while_half_open.assign(kEndReasonCount * targets, 0);
  for (const RunResult& run : p.runs) {
    for (std::size_t r = 0; r < kEndReasonCount; ++r) {
      e.failed[r] += run.failed_by[r];
      e.dropped[r] += run.dropped_by[r];
    }
    e.buffer_full += run.dropped_buffer_full;
    for (std::size_t k = 0; k < e.while_open.size() && k < run.ended_while_open.size(); ++k) {
      e.while_open[k] += run.ended_while_open[k];
    }
    for (std::size_t k = 0; k < e.while_half_open.size() && k < run.ended_while_half_open.size(); ++k) {
      e.while_half_open[k] += run.ended_while_half_open[k];
    }
  }
  for (std::size_t r = 0; r < kEndReasonCount; ++r) e.total += e.failed[r] + e.dropped[r];
  e.total += e.buffer_full;
  return e;
}

// The sentence a reader needs first: the commonest ending, its share, and the targets
// whose breakers were open or half-open for at least half of those endings.
std::string top_sentence(const Endings& e, const Config* config, std::size_t targets) {
  std::size_t top = 0;
  for (std::size_t r = 1; r < kEndReasonCount; ++r) {
    if (e.failed[r] + e.dropped[r] > e.failed[top] + e.dropped[top]) top = r;
  }
  const std::int64_t top_count = e.failed[top] + e.dropped[top];
  if (e.buffer_full >= top_count) {
    return report::percent(static_cast<double>(e.buffer_full) / static_cast<double>(e.total), 0) +
           " of them were turned away by a full buffer.";
  }
  const auto names = [&](const std::vector<std::int64_t>& v) {
    std::vector<std::string> out;
    for (std::size_t t = 0; t < targets; ++t) {
      if (2 * v[top * targets + t] >= top_count) out.push_back(report::target_name(config, t));
    }
    std::string text;
    for (std::size_t i = 0; i < out.size(); ++i) {
      text += (i == 0 ? "" : i + 1 == out.size() ? " and " : ", ") + md_cell(out[i]);
    }
    return std::pair{text, out.size()};
  };
  std::string out = report::percent(static_cast<double>(top_count) / static_cast<double>(e.total), 0) +
                    " of them ended `" + std::string(to_string(static_cast<EndReason>(top))) + "`";
  const auto [open, open_n] = names(e.while_open);
  const auto [half, half_n] = names(e.while_half_open);
  if (open_n > 0) out += std::string(" while ") + open + (open_n == 1 ? " was" : " were") + " open";
  if (half_n > 0)
    out += std::string(open_n > 0 ? " and " : " while ") + half + (half_n == 1 ? " was" : " were") + " half-open";
  return out + ".";
}

// Issue 17: a report must say why a policy failed, not only that it did.
std::string md_why_failed(const ScenarioResult& result) {
  std::string out;
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const PolicyResult& p = result.policies[i];
    const std::size_t targets = report::target_count(result, i);
    const Endings e = endings_of(p, targets);
    if (e.total == 0) continue;
    std::int64_t arrived = 0;
    for (const RunResult& run : p.runs) arrived += run.arrived;
    out += "**" + md_cell(p.name) + "**: " + report::group_digits(e.total) + " of " + report::group_digits(arrived) +
           " requests failed or were dropped" +
           (p.runs.size() > 1 ? " over its " + std::to_string(p.runs.size()) + " seeds" : "") + ". " +
           top_sentence(e, report::policy_config(result, i), targets) +
           "\n\n| ended | failed | dropped |\n|---|--:|--:|\n";
    for (std::size_t r = 0; r < kEndReasonCount; ++r) {
      if (e.failed[r] + e.dropped[r] == 0) continue;
      out += "| `" + std::string(to_string(static_cast<EndReason>(r))) + "` | " + report::group_digits(e.failed[r]) +
             " | " + report::group_digits(e.dropped[r]) + " |\n";
    }
    if (e.buffer_full > 0) out += "| buffer full | 0 | " + report::group_digits(e.buffer_full) + " |\n";
    out += "\n";
  }
  if (out.empty()) return "";
  return "## Why requests failed\n\nEvery request that failed or was dropped, by how it ended (reasons: "
         "docs/scenarios.md), summed over the seeds; a target is named when its breaker was open or half-open "
         "for at least half of the commonest ending. Attempts, successes and breaker time per target are under "
         "[Attempts and cost by target](#attempts-and-cost-by-target).\n\n" +
         out;
}

std::string md_charts(const ScenarioResult& result, const std::vector<ChartFile>& charts) {
  const RunResult& first = result.policies.front().runs.front();
  std::string out = "## Over time\n\nEach chart shows the run on seed " + std::to_string(first.seed) +
                    " of every policy, except the per-target charts (traffic share, failed attempts by class, "
                    "latency per target, attempts in flight), which show the policy under test, " +
                    md_cell(result.policies.front().name) +
                    ". A shaded band marks a fault in progress, labelled above the plot with its provider and "
                    "kind.\n\n";
  for (const ChartFile& c : charts) {
    out += "### " + md_cell(c.title) + "\n\n![" + md_cell(c.title) + "](" +
           link_target(result.scenario->name + "-" + c.slug + ".svg") + ")\n\n";
  }
  return out;
}

std::string md_targets(const ScenarioResult& result) {
  std::string out = "## Attempts and cost by target\n\nSeed " +
                    std::to_string(result.policies.front().runs.front().seed) +
                    ".\n\n| policy | target | attempts | share of attempts | successes | cost | breaker trips | "
                    "open | half-open | breaker at the end |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = result.policies[i].runs.front();
    const Config* config = report::policy_config(result, i);
    for (std::size_t t = 0; t < report::target_count(result, i); ++t) {
      const auto at = [t](const std::vector<std::int64_t>& v) { return t < v.size() ? v[t] : std::int64_t{0}; };
      const double share =
          run.attempts == 0 ? 0.0 : static_cast<double>(at(run.attempts_by_target)) / static_cast<double>(run.attempts);
      const auto spent = [t](const std::vector<Duration>& v) {
        return t < v.size() && v[t] > Duration{0} ? report::duration_text(v[t]) : std::string("–");
      };
      out += "| " + md_cell(result.policies[i].name) + " | " + md_cell(report::target_name(config, t)) + " | " +
             report::group_digits(at(run.attempts_by_target)) + " | " + report::percent(share, 1) + " | " +
             report::group_digits(at(run.successes_by_target)) + " | " + report::usd(at(run.cost_by_target_micro_usd)) +
             " | " + report::group_digits(at(run.trips_by_target)) + " | " + spent(run.open_time_by_target) + " | " +
             spent(run.half_open_time_by_target) + " | " +
             (t < run.breaker_end.size() ? md_cell(to_string(run.breaker_end[t])) : "–") + " |\n";
    }
  }
  return out + "\n";
}

std::string md_runs(const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  std::string out =
      "## Runs\n\n| policy | seed | arrived | succeeded | failed | dropped | in flight at end | "
      "requeued | availability | buffer overflow | conserved | trace digest |\n"
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|\n";
  for (const PolicyResult& p : result.policies) {
    for (const RunResult& run : p.runs) {
      const std::optional<double> overflow = report::overflow_minutes(s, run);
      out += "| " + md_cell(p.name) + " | " + std::to_string(run.seed) + " | " + report::group_digits(run.arrived) +
             " | " + report::group_digits(run.succeeded) + " | " + report::group_digits(run.failed) + " | " +
             report::group_digits(run.dropped) + " | " + report::group_digits(run.in_flight_end) + " | " +
             report::group_digits(run.requeued) + " | " + report::percent(run.availability(), 3) + " | " +
             (overflow ? overflow_text(*overflow) : "never") + " | " + (run.conserved ? "✅" : "❌") + " | `" +
             md_cell(run.digest) + "` |\n";
    }
  }
  return out + "\n";
}

std::string markdown_with(const ScenarioResult& result, const std::vector<ChartFile>& charts) {
  std::string out = md_header(result) + md_preflight(result) + md_policies(result) + md_expectations(result) +
                    md_disagreements(result) + md_why_failed(result) + md_charts(result, charts) + md_targets(result) +
                    md_runs(result);
  out += "---\n\nEvery figure, for machines: [" + md_cell(result.scenario->name) + ".json](" +
         link_target(result.scenario->name + ".json") +
         "). The simulator is deterministic: the same scenario file, seeds and commit give this report byte for "
         "byte, and the trace digests above identify each run.\n";
  return out;
}

void check_preconditions(const ScenarioResult& result) {
  FAILOVER_ASSERT(result.scenario != nullptr);
  FAILOVER_ASSERT(!result.scenario->name.empty());
  FAILOVER_ASSERT(!result.policies.empty());
  for (const PolicyResult& p : result.policies) FAILOVER_ASSERT(!p.runs.empty());
}

std::string junit_conservation(const ScenarioResult& result) {
  const std::string name = svg::xml_escape(result.scenario->name);
  std::string out = "    <testcase classname=\"" + name + "\" name=\"conservation\" time=\"0\"";
  if (report::all_conserved(result)) return out + "/>\n";
  std::string detail;
  for (const PolicyResult& p : result.policies) {
    for (const RunResult& r : p.runs) {
      if (r.conserved) continue;
      detail += p.name + " seed " + std::to_string(r.seed) + ": arrived " + std::to_string(r.arrived) + ", succeeded " +
                std::to_string(r.succeeded) + " + failed " + std::to_string(r.failed) + " + dropped " +
                std::to_string(r.dropped) + " + in flight " + std::to_string(r.in_flight_end) + "\n";
    }
  }
  return out +
         ">\n      <failure type=\"conservation\" message=\"expected arrived = succeeded + failed + dropped + "
         "in flight in every run, measured " +
         std::to_string(report::runs_conserved(result)) + " of " + std::to_string(report::runs_total(result)) +
         " runs\">" + svg::xml_escape(detail) + "</failure>\n    </testcase>\n";
}

// The testcase `failover run --check-determinism` adds: every run repeated twice more
// with the same digest, or not (the command names the diverging run on stderr).
std::string junit_determinism(const ScenarioResult& result, bool deterministic) {
  const std::string out =
      "    <testcase classname=\"" + svg::xml_escape(result.scenario->name) + "\" name=\"determinism\" time=\"0\"";
  if (deterministic) return out + "/>\n";
  return out +
         ">\n      <failure type=\"determinism\" message=\"expected the same digest when every run is repeated, "
         "measured a difference (see the command's stderr)\"/>\n    </testcase>\n";
}

std::string junit_properties(const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  std::string out = "    <properties>\n";
  out += "      <property name=\"title\" value=\"" + svg::xml_escape(s.title) + "\"/>\n";
  out += "      <property name=\"seeds\" value=\"" + seeds_text(s.seeds) + "\"/>\n";
  for (const PolicyResult& p : result.policies) {
    for (const RunResult& r : p.runs) {
      out += "      <property name=\"digest " + svg::xml_escape(p.name) + " seed " + std::to_string(r.seed) +
             "\" value=\"" + svg::xml_escape(r.digest) + "\"/>\n";
    }
  }
  return out + "    </properties>\n";
}

Status write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error{path.string(), "cannot open the file for writing"};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return Error{path.string(), "cannot write the file"};
  return Ok{};
}

}  // namespace

std::string report_markdown(const ScenarioResult& result) {
  check_preconditions(result);
  return markdown_with(result, report_charts(result));
}

std::string report_junit(const ScenarioResult& result) {
  return junit_document({junit_suite(result)});
}

JunitSuite junit_suite(const ScenarioResult& result, std::optional<bool> deterministic) {
  check_preconditions(result);
  JunitSuite suite;
  suite.tests = result.checks.size() + 1 + (deterministic ? 1 : 0);
  suite.failures = result.checks.size() - report::checks_passed(result) + (report::all_conserved(result) ? 0 : 1) +
                   (deterministic && !*deterministic ? 1 : 0);
  const std::string scenario = svg::xml_escape(result.scenario->name);
  std::string& out = suite.xml;
  out = "  <testsuite name=\"" + scenario + "\" tests=\"" + std::to_string(suite.tests) + "\" failures=\"" +
        std::to_string(suite.failures) + "\" errors=\"0\" skipped=\"0\" time=\"0\">\n" + junit_properties(result);
  for (const CheckResult& c : result.checks) {
    out += "    <testcase classname=\"" + scenario + "." + svg::xml_escape(c.policy) + "\" name=\"" +
           svg::xml_escape(c.metric + " " + c.expected) + "\" time=\"0\"";
    if (c.passed) {
      out += "/>\n";
      continue;
    }
    out += ">\n      <failure type=\"expectation\" message=\"" +
           svg::xml_escape("expected " + c.expected + ", measured " + c.measured) + "\">" +
           svg::xml_escape(c.policy + ": " + c.metric + " expected " + c.expected + ", measured " + c.measured +
                           " (worst seed " + std::to_string(c.worst_seed) + ")") +
           "</failure>\n    </testcase>\n";
  }
  out += junit_conservation(result);
  if (deterministic) out += junit_determinism(result, *deterministic);
  out += "  </testsuite>\n";
  FAILOVER_ASSERT(suite.failures <= suite.tests);
  return suite;
}

std::string junit_document(const std::vector<JunitSuite>& suites) {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::string body;
  for (const JunitSuite& s : suites) {
    tests += s.tests;
    failures += s.failures;
    body += s.xml;
  }
  FAILOVER_ASSERT(failures <= tests);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"failover\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\" time=\"0\">\n" + body + "</testsuites>\n";
}

Status write_reports(const ScenarioResult& result, const std::string& dir) {
  check_preconditions(result);
  const std::filesystem::path folder(dir.empty() ? "." : dir);
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{dir, "cannot create the report folder: " + ec.message()};
  const std::string& name = result.scenario->name;
  const std::vector<ChartFile> charts = report_charts(result);
  for (const ChartFile& c : charts) {
    if (Status s = write_file(folder / (name + "-" + c.slug + ".svg"), c.svg); !s) return s;
  }
  if (Status s = write_file(folder / (name + ".json"), report_json(result)); !s) return s;
  if (Status s = write_file(folder / (name + ".junit.xml"), report_junit(result)); !s) return s;
  return write_file(folder / (name + ".md"), markdown_with(result, charts));
}

}  // namespace failover::sim
