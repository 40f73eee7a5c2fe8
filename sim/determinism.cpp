#include "sim/determinism.h"

#include <functional>
#include <optional>

#include "core/engine/assert.h"
#include "sim/trace.h"

namespace failover::sim {
namespace {

std::string event_text(const std::optional<TraceEvent>& event) {
  return event ? trace_event_text(*event) : "(no event)";
}

// The message for one repeated run; empty when both repeats gave the first digest.
std::string compare_run(const Scenario& s, const NamedPolicy& policy, std::uint64_t seed, const std::string& first) {
  const RunSpec spec = s.run_spec(policy, seed);
  TraceRecorder left(kDeterminismEventsKept);
  TraceRecorder right(kDeterminismEventsKept);
  const RunResult a = run_simulation(spec, &left);
  const RunResult b = run_simulation(spec, &right);
  if (a.digest == b.digest && a.digest == first) return {};
  std::string m = "NOT DETERMINISTIC: " + s.name + ", policy " + policy.name + ", seed " + std::to_string(seed) +
                  ": digests " + first + ", " + a.digest + ", " + b.digest + "\n";
  if (const std::optional<Divergence> d = first_divergence(left, right)) {
    return m + "  first diverging event #" + std::to_string(d->index) + ": " + event_text(d->left) + " vs " +
           event_text(d->right) + "\n";
  }
  return m + "  the two recorded runs agree; the first run differed from both\n";
}

}  // namespace

std::vector<std::string> determinism_problems(const ScenarioResult& result, const ParallelFor& parallel_for) {
  FAILOVER_ASSERT(result.scenario != nullptr);
  const Scenario& s = *result.scenario;
  FAILOVER_ASSERT(result.policies.size() == s.policies.size());
  const std::size_t seeds = s.seeds.size();
  std::vector<std::string> problems(s.policies.size() * seeds);
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    const std::size_t p = i / seeds;
    FAILOVER_ASSERT(result.policies[p].runs.size() == seeds);
    problems[i] = compare_run(s, s.policies[p], s.seeds[i % seeds], result.policies[p].runs[i % seeds].digest);
  };
  if (parallel_for) {
    parallel_for(problems.size(), task);
  } else {
    for (std::size_t i = 0; i < problems.size(); ++i) task(i);
  }
  std::erase_if(problems, [](const std::string& m) { return m.empty(); });
  return problems;
}

}  // namespace failover::sim
