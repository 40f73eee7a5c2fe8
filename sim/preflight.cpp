// Preflight (preflight.h): a healthy-day replay of the policy under test and a check
// that every fault window was exercised, turned into sentences for the report.
#include "sim/preflight.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>

#include "core/engine/assert.h"
#include "sim/oracle.h"
#include "sim/report_format.h"

namespace failover::sim {
namespace {

constexpr std::size_t kUnreachedListed = 5;  // faults named one by one; the rest counted

double percent_of(Duration part, Duration whole) {
  return to_us(whole) <= 0 ? 0.0 : 100.0 * static_cast<double>(to_us(part)) / static_cast<double>(to_us(whole));
}

std::string fixed0(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

}  // namespace

RunResult preflight_run(const Scenario& scenario) {
  FAILOVER_ASSERT(!scenario.policies.empty());
  FAILOVER_ASSERT(!scenario.seeds.empty());
  const Scenario fault_free = without_faults(scenario);
  return run_simulation(fault_free.run_spec(fault_free.policies.front(), fault_free.seeds.front()));
}

std::string likely_limit(const NamedPolicy& policy, const RunResult& run) {
  const Duration whole = run.end - kTimeZero;
  std::size_t worst = run.saturated_time_by_provider.size();
  for (std::size_t p = 0; p < run.saturated_time_by_provider.size(); ++p) {
    if (worst == run.saturated_time_by_provider.size() ||
        run.saturated_time_by_provider[p] > run.saturated_time_by_provider[worst]) {
      worst = p;
    }
  }
  if (worst == run.saturated_time_by_provider.size()) return "";
  const double share = percent_of(run.saturated_time_by_provider[worst], whole);
  if (share < kSaturatedPercent) return "";
  FAILOVER_ASSERT(worst < policy.config.providers.size());
  const ProviderConfig& p = policy.config.providers[worst];
  const double rpm =
      static_cast<double>(run.arrived) * 60e6 / static_cast<double>(std::max<std::int64_t>(to_us(whole), 1));
  return "concurrency_max " + std::to_string(p.concurrency_max) + " on " + p.name + " was saturated " + fixed0(share) +
         "% of the run at " + report::group_digits(static_cast<std::int64_t>(rpm + 0.5)) + " requests/minute";
}

std::vector<std::string> preflight_warnings(const Scenario& scenario, const ScenarioResult& result,
                                            const RunResult& fault_free) {
  FAILOVER_ASSERT(!scenario.policies.empty());
  std::vector<std::string> out;
  const NamedPolicy& policy = scenario.policies.front();
  if (scenario.first_fault_start()) {
    const Scenario ff = without_faults(scenario);
    const std::string failures = healthy_day_failures(ff, policy.name, fault_free, knobs_of(scenario.explore));
    if (!failures.empty()) {
      std::string w = "On a healthy day (every fault removed, seed " + std::to_string(fault_free.seed) + ") `" +
                      policy.name + "` fails: " + failures + ".";
      const std::string limit = likely_limit(policy, fault_free);
      if (!limit.empty()) w += " Likely limit: " + limit + ".";
      out.push_back(std::move(w));
    }
  }
  // A fault whose provider no policy sent a call while it was on tests nothing (a
  // provider no route uses, a window outside the traffic). A window only the policy
  // under test kept away from -- its breaker open through a flap -- is the policy at
  // work, and `direct` still calls there. First seed of each policy.
  if (result.policies.empty() || result.policies.front().runs.empty()) return out;
  const RunResult& run = result.policies.front().runs.front();
  std::size_t k = 0;
  std::size_t unreached = 0;
  for (const ProviderSpec& p : scenario.providers) {
    for (const Fault& f : p.faults) {
      FAILOVER_ASSERT(k < run.calls_in_fault.size());
      bool called = false;
      for (const PolicyResult& other : result.policies) {
        const RunResult& first = other.runs.front();
        called = called || (k < first.calls_in_fault.size() && first.calls_in_fault[k] > 0);
      }
      ++k;
      if (called) continue;
      if (++unreached > kUnreachedListed) continue;
      out.push_back("The fault " + (f.name.empty() ? std::string(to_string(f.kind)) : "`" + f.name + "`") + " on " +
                    p.name + " (from " + report::duration_text(f.start - kTimeZero) + " for " +
                    report::duration_text(f.duration) + ") saw no call from any policy on seed " +
                    std::to_string(run.seed) + ": it tests nothing.");
    }
  }
  if (unreached > kUnreachedListed) {
    out.push_back("... and " + std::to_string(unreached - kUnreachedListed) + " more faults that saw no call.");
  }
  FAILOVER_ASSERT(k == run.calls_in_fault.size());
  return out;
}

}  // namespace failover::sim
