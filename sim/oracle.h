// Oracles: verdicts on runs that need no hand-written expectation. Each judges one
// property a policy must have whatever the outage -- requests conserved and no liveness
// invariant broken; the file's own [[expect]]; never less available than `direct` while
// some route target stays healthy (do no harm); back to its pre-fault level soon after
// the last fault; no trip and every expectation met on a fault-free day; spend within k x
// the all-primary plan. This header decides what each oracle means and which runs it
// needs; drawing scenarios and shrinking them is explore.h's, threads are the caller's.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/expect.h"
#include "sim/scenario.h"
#include "sim/simulation.h"

namespace failover::sim {

enum class Oracle : std::uint8_t { invariants, expect, do_no_harm, recovers, healthy_day, cost };
inline constexpr std::size_t kOracleCount = 6;

// "invariants", "expect", "do-no-harm", "recovers", "healthy-day", "cost".
std::string_view oracle_name(Oracle oracle);
std::optional<Oracle> oracle_from(std::string_view name);

// Which oracles are on; all by default.
using OracleSet = std::array<bool, kOracleCount>;
inline constexpr OracleSet kAllOracles{true, true, true, true, true, true};

// The oracles' knobs, from the scenario's [explore] table (or its defaults).
struct OracleKnobs {
  Duration recovery = minutes(10);            // recovers: bound after the last fault's end
  std::int64_t cost_factor_permille = 2'000;  // cost: at most k x the all-primary plan
  std::int64_t harm_tolerance_ppm = 1'000;    // do-no-harm: 0.1 point of availability
};
OracleKnobs knobs_of(const ExploreSpec& spec);

// One oracle's verdict on one scenario (worst seed). `judged` is false when the oracle
// does not apply (do-no-harm with every target of a route faulted, recovers without
// time left after the last fault, healthy-day when the providers' capacity does not
// suffice for the traffic even without faults...).
struct Verdict {
  Oracle oracle = Oracle::invariants;
  bool judged = false;
  bool failed = false;
  std::uint64_t seed = 0;
  std::string detail;                // one line: what was measured against what
  std::vector<Expectation> expects;  // the failure as [[expect]] lines `failover run` checks, when a metric fits
};

// True when every route that traffic uses keeps a target on a provider without faults.
bool keeps_healthy_target(const Scenario& scenario);
// Routes some traffic class of the scenario uses (through its tier or directly), in index order.
std::vector<Index> used_routes(const Scenario& s);

// The same scenario with every fault removed; failover_time and recovery_time
// expectations (meaningless without faults) dropped; overflow measured from 0.
Scenario without_faults(const Scenario& scenario);

// The `direct` baseline to compare `policy` with: the scenario's own if it runs one,
// else derived from the policy under test (scenario.policies.front()).
NamedPolicy direct_of(const Scenario& scenario);

// `direct` held to the patience of `policy`'s callers, for do-no-harm. A request's
// end-to-end deadline (`timeouts.request`) belongs to whoever calls, not to the
// failover: a caller who gives up after 60 s has lost an answer that arrives after 4
// minutes, whether or not anything failed over. `direct` itself has no deadline (the
// case study's queue waits forever), and judged that way it "serves" an overload by
// answering after the storm, which no deadline-keeping policy can match. So do-no-harm
// keeps the caller and changes only the failover. Healthy-day's capacity check keeps
// `direct` as it is: whether the providers can carry the traffic is not the caller's
// patience (a deadline shorter than a normal answer is caught there).
NamedPolicy patient_as(NamedPolicy direct, const NamedPolicy& policy);

// Requests the policy's own cost budget refused (EndReason::cost_budget, failed or
// dropped): the budget doing its job, which `direct` (no budget) never does. Neither
// do-no-harm nor healthy-day counts them as losses (budget-exhaustion-tiered.toml).
std::int64_t refused_for_budget(const RunResult& run);

// The requests a run lost: failed + dropped, less those refused for the cost budget.
std::int64_t lost(const RunResult& run);

// True when the providers' capacity suffices for the traffic: `direct` on the
// fault-free scenario (same traffic, same capacities) failed and dropped no more than
// the harm tolerance, never overflowed the buffer, and held at the end no more than
// arrived in its last minute (a backlog that kept growing without a rejection is not
// "served").
bool capacity_suffices(const RunResult& direct_fault_free, const OracleKnobs& knobs);

// The healthy-day checks on the policy's fault-free run alone (no trip; nothing lost
// beyond the harm tolerance; no more held at the end than arrived in the last minute;
// the expectations that bound harm, over the requests that ended), as one line; empty
// when every check holds. `expects` (optional) receives the failure as [[expect]] lines.
std::string healthy_day_failures(const Scenario& fault_free_scenario, std::string_view policy, const RunResult& run,
                                 const OracleKnobs& knobs, std::vector<Expectation>* expects = nullptr);

// Single-run checks. `policy` names the policy judged (its expectations apply).
Verdict check_invariants(const RunResult& run, std::string_view label);
Verdict check_expect(const Scenario& scenario, std::string_view policy, const RunResult& run);
Verdict check_do_no_harm(const Scenario& scenario, const RunResult& policy, const RunResult& direct,
                         const OracleKnobs& knobs);
// `fault_free` (optional: the policy on the same scenario without faults) sets the
// level each window must return to together with the level before the first fault.
Verdict check_recovers(const Scenario& scenario, std::string_view policy, const RunResult& run,
                       const RunResult* fault_free, const OracleKnobs& knobs);
// `fault_free_scenario` is without_faults(scenario); `run` is the policy on it;
// `direct` is `direct` on it. A failing run is judged only when capacity_suffices(*direct);
// `direct` may be null when healthy_day_failures() is empty (nothing to excuse).
Verdict check_healthy_day(const Scenario& fault_free_scenario, std::string_view policy, const RunResult& run,
                          const RunResult* direct, const OracleKnobs& knobs);
Verdict check_cost(const RunResult& run, const OracleKnobs& knobs);

// The runs one seed needs for the oracles in `set`. `fault_free` may be given from an
// earlier evaluation (it depends only on the non-fault parts of the scenario).
// `direct_fault_free` is run only when healthy-day would fail without it.
struct OracleRuns {
  RunResult policy;
  std::optional<RunResult> direct;  // patient_as(direct_of(scenario), policy), for do-no-harm
  std::optional<RunResult> fault_free;
  std::optional<RunResult> direct_fault_free;
};
OracleRuns run_oracles(const Scenario& scenario, const Scenario& fault_free_scenario, const NamedPolicy& policy,
                       std::uint64_t seed, const OracleSet& set, const OracleKnobs& knobs,
                       const std::optional<RunResult>& fault_free, const ParallelFor& parallel_for = {});
// The verdicts of the oracles in `set`, in Oracle order.
std::vector<Verdict> judge_runs(const Scenario& scenario, const Scenario& fault_free_scenario, std::string_view policy,
                                const OracleRuns& runs, const OracleSet& set, const OracleKnobs& knobs);

// Every oracle in `set` over every seed of `scenario`, for `policy` (default: the
// policy under test); the first failing seed decides each verdict. For tests over the
// scenario library. Precondition: `policy` is one of the scenario's policies.
std::vector<Verdict> judge_scenario(const Scenario& scenario, std::string_view policy = "policy",
                                    const OracleSet& set = kAllOracles, const ParallelFor& parallel_for = {});

}  // namespace failover::sim
