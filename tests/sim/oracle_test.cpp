// The oracles (sim/oracle.h) on small hand-made scenarios: each fix of a false positive
// comes with the case it excused (the false positive is gone) and a real violation of
// the same property (still caught). Custom baselines carry the broken policies, so one
// file holds both.
#include "sim/oracle.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

// Two providers of one route, 600 requests/minute of 5-second answers (a 20-second
// p99), a 4-minute 503 storm on the primary from minute 3, then -- long after the
// storm -- a 4x spike from minute 25 that runs to minute 35, with arrivals going on to
// the end of the 40-minute run. `extra` is appended (custom baselines, expectations).
std::string scenario_text(const std::string& faults, const std::string& extra) {
  return R"([scenario]
title = "oracle test"
duration = "40m"
seeds = [1]

[traffic]
rate_rpm = 600
schedule = "spike"
peak_rpm = 2400
start = "25m"
duration = "10m"

[[traffic.classes]]
name = "all"
route = "main"
prompt_tokens = 500
output_tokens = { p50 = 600, p99 = 1200 }

[buffer]
capacity = 0
mode = "fail"

[[providers]]
name = "primary"
concurrency_max = 2000
[[providers.models]]
id = "m1"
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0
[providers.sim]
latency = { p50 = "5s", p99 = "20s" }

[[providers]]
name = "backup"
concurrency_max = 2000
[[providers.models]]
id = "m2"
input_usd_per_mtok = 2.0
output_usd_per_mtok = 8.0
[providers.sim]
latency = { p50 = "5s", p99 = "20s" }

[[routes]]
name = "main"
targets = [{ provider = "primary", model = "m1", priority = 0 }, { provider = "backup", model = "m2", priority = 1 }]

[policy.breaker]
consecutive_failures = 5
open_base = "30s"
open_max = "2m"
half_open_probes = 3

[policy.retry]
attempts_max = 3

[policy.timeouts]
request = "120s"
attempt = "60s"

[policy.queue]
depth_max = 20000
requests_max = 20000

)" + faults +
         R"(
[baselines]
direct = true
)" + extra;
}

const std::string kStorm = R"(
[[faults]]
name = "storm"
provider = "primary"
kind = "http_error"
start = "3m"
duration = "4m"
status = 503
delay = "1s"
)";

Scenario load(const std::string& text) {
  Result<Scenario> s = load_scenario_string(text, "oracle-test.toml");
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
  return s ? std::move(*s) : Scenario{};
}

OracleSet only(Oracle o) {
  OracleSet set{};
  set[static_cast<std::size_t>(o)] = true;
  return set;
}

Verdict judge(const Scenario& s, std::string_view policy, Oracle o) {
  const std::vector<Verdict> v = judge_scenario(s, policy, only(o));
  EXPECT_EQ(v.size(), 1U);
  return v.empty() ? Verdict{} : v.front();
}

// The old measure: the worst five-minute window's succeeded / arrived after the last
// fault's end + 10 minutes. Completions lag arrivals, so a spike reads as a dip.
double worst_window_success(const RunResult& run, Time from, Time stop) {
  const auto b0 = static_cast<std::size_t>((from - kTimeZero) / run.bucket);
  const auto b1 = static_cast<std::size_t>((stop - kTimeZero) / run.bucket);
  const std::size_t per = static_cast<std::size_t>(minutes(5) / run.bucket);
  double worst = 1.0;
  for (std::size_t b = b0; b + per <= b1; b += per) {
    std::int64_t arrived = 0, succeeded = 0;
    for (std::size_t i = b; i < b + per; ++i) {
      arrived += run.series[i].arrived;
      succeeded += run.series[i].succeeded;
    }
    if (arrived > 0) worst = std::min(worst, static_cast<double>(succeeded) / static_cast<double>(arrived));
  }
  return worst;
}

TEST(OracleRecovers, ASpikeAfterTheFaultIsNotANonRecovery) {
  const Scenario s = load(scenario_text(kStorm, ""));
  const RunResult run = run_simulation(s.run_spec(*s.find_policy("policy"), 1));
  // Succeeded / arrived dips by more than a point where the spike starts (answers take
  // seconds), which the old definition read as "not recovered".
  EXPECT_LT(worst_window_success(run, kTimeZero + minutes(17), kTimeZero + minutes(39)), 0.99);
  const Verdict v = judge(s, "policy", Oracle::recovers);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed) << v.detail;
}

TEST(OracleRecovers, APrimaryBreakerThatStaysOpenForGoodIsCaught) {
  const Scenario s = load(scenario_text(kStorm, R"(
[[baselines.custom]]
name = "stuck-open"
description = "the breaker never closes again"
[baselines.custom.policy.breaker]
open_base = "720h"
open_max = "720h"
)"));
  const Verdict v = judge(s, "stuck-open", Oracle::recovers);
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed) << v.detail;
  EXPECT_NE(v.detail.find("primary breaker open"), std::string::npos) << v.detail;
}

TEST(OracleRecovers, ALossThatNeverEndsIsCaught) {
  // The backup alone cannot carry the traffic (30 answers at once for about 50 in
  // flight): with the primary's breaker open for good, requests are lost to the end.
  std::string text = scenario_text(kStorm, R"(
[[baselines.custom]]
name = "stuck-open"
description = "the breaker never closes again"
[baselines.custom.policy.breaker]
open_base = "720h"
open_max = "720h"
)");
  const std::string backup_sim = R"(output_usd_per_mtok = 8.0
[providers.sim]
latency = { p50 = "5s", p99 = "20s" })";
  text.replace(text.find(backup_sim), backup_sim.size(),
               backup_sim + "\nconcurrency_max = 30\nover_capacity = { status = 429, retry_after = \"2s\" }");
  const Scenario s = load(text);
  const Verdict v = judge(s, "stuck-open", Oracle::recovers);
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed) << v.detail;
  EXPECT_NE(v.detail.find("lost"), std::string::npos) << v.detail;
  const Verdict fine = judge(s, "policy", Oracle::recovers);
  EXPECT_FALSE(fine.failed) << fine.detail;
}

TEST(OracleHealthyDay, AnOutagesOwnExpectationsAreNotAppliedWithoutIt) {
  // attempts_per_request >= 1.5 describes an outage's retries, a p99 bound a traffic
  // level: neither can hold, nor needs to, on a fault-free day.
  const Scenario s = load(scenario_text(kStorm, R"(
[[expect]]
metric = "attempts_per_request"
at_least = 1.5

[[expect]]
metric = "latency_p99"
at_most = "1s"

[[expect]]
metric = "availability"
at_least = "99.9%"
)"));
  const Scenario free = without_faults(s);
  const RunResult run = run_simulation(free.run_spec(*free.find_policy("policy"), 1));
  EXPECT_TRUE(check_expect(free, "policy", run).failed);
  const Verdict v = judge(s, "policy", Oracle::healthy_day);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed) << v.detail;
}

TEST(OracleHealthyDay, IsNotJudgedWhenCapacityDoesNotSuffice) {
  std::string text = scenario_text("", "");
  const std::string sim = R"(latency = { p50 = "5s", p99 = "20s" })";
  for (std::size_t at = text.find(sim); at != std::string::npos; at = text.find(sim, at + 1)) {
    text.replace(at, sim.size(),
                 sim + "\nconcurrency_max = 40\nover_capacity = { status = 429, retry_after = \"2s\" }");
  }
  const Scenario s = load(text);
  const Verdict v = judge(s, "policy", Oracle::healthy_day);
  EXPECT_FALSE(v.failed) << v.detail;
  EXPECT_FALSE(v.judged) << v.detail;
  EXPECT_NE(v.detail.find("capacity does not suffice"), std::string::npos) << v.detail;
}

TEST(OracleHealthyDay, APolicyThatLosesRequestsOnAHealthyDayIsCaught) {
  // A deadline shorter than the providers' normal answers: direct (no deadline) serves
  // everything, so capacity suffices and the losses are the policy's.
  const Scenario s = load(scenario_text(kStorm, R"(
[[baselines.custom]]
name = "impatient"
description = "a 3-second deadline for 5-second answers"
[baselines.custom.policy.timeouts]
request = "3s"
attempt = "3s"
)"));
  const Verdict v = judge(s, "impatient", Oracle::healthy_day);
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed) << v.detail;
  EXPECT_NE(v.detail.find("lost"), std::string::npos) << v.detail;
}

const std::string kBudget = R"(
[policy.cost]
budget_usd = 40.0
on_exhausted = "reject"
)";

TEST(OracleDoNoHarm, RefusingSpendOverBudgetIsNotHarm) {
  std::string text = scenario_text(kStorm, "");
  text.replace(text.find("[policy.queue]"), 0, kBudget + "\n");
  const Scenario s = load(text);
  const RunResult policy = run_simulation(s.run_spec(*s.find_policy("policy"), 1));
  const RunResult direct = run_simulation(s.run_spec(*s.find_policy("direct"), 1));
  ASSERT_GT(refused_for_budget(policy), 0);
  EXPECT_LT(policy.availability(), direct.availability() - 0.01);  // what the old oracle compared
  const Verdict v = judge(s, "policy", Oracle::do_no_harm);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed) << v.detail;
}

// A breaker that counts every 5-second answer as slow trips on both targets while
// both are healthy, and with nothing left, requests fail: harm done by the failover
// machinery itself, which direct (no breaker) never does, whatever the deadline.
const std::string kTriggerHappy = R"(
[[baselines.custom]]
name = "trigger-happy"
description = "every 5-second answer counts as slow; a trip may leave a route empty"
[baselines.custom.policy.breaker]
slow_call_threshold = "1s"
slow_call_rate = "10%"
window_calls_min = 5
min_available_targets = 0
open_base = "10m"
open_max = "10m"
[baselines.custom.policy.queue]
when_unavailable = "fail"
)";

TEST(OracleDoNoHarm, HarmIsCaughtBesideABudget) {
  std::string text = scenario_text(kStorm, kTriggerHappy);
  text.replace(text.find("[policy.queue]"), 0, kBudget + "\n");
  const Scenario s = load(text);
  const Verdict v = judge(s, "trigger-happy", Oracle::do_no_harm);
  EXPECT_TRUE(v.judged);
  EXPECT_TRUE(v.failed) << v.detail;
}

TEST(OracleDoNoHarm, DirectIsHeldToTheCallersDeadline) {
  // tests/sim/data/late-direct.toml: the healthy fallback carries 3,000 of 4,290
  // requests a minute while the primary answers 429 with Retry-After: 45s. Direct holds
  // the storm's requests and answers them minutes after the policy's callers (60 s
  // deadline) gave up; held to that deadline it serves less than the policy.
  Result<Scenario> loaded = load_scenario_file(FAILOVER_SOURCE_DIR "/tests/sim/data/late-direct.toml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  const Scenario& s = *loaded;
  const NamedPolicy& policy = *s.find_policy("policy");
  const std::uint64_t seed = s.seeds.front();
  const RunResult mine = run_simulation(s.run_spec(policy, seed));
  const RunResult late = run_simulation(s.run_spec(direct_of(s), seed));
  const RunResult patient = run_simulation(s.run_spec(patient_as(direct_of(s), policy), seed));
  EXPECT_GT(late.availability(), patient.availability() + 0.005);  // late answers counted as served
  EXPECT_GT(late.latency.percentile(Ratio{99, 100}), sec(120));    // by answering minutes late
  EXPECT_LT(patient.availability(), mine.availability());
  const Verdict v = judge(s, "policy", Oracle::do_no_harm);
  EXPECT_TRUE(v.judged);
  EXPECT_FALSE(v.failed) << v.detail;
  EXPECT_NE(v.detail.find("as patient as the policy's callers"), std::string::npos) << v.detail;
}

TEST(OracleDoNoHarm, TheCallersDeadlineIsTheShorterOfTheTwo) {
  const Scenario s = load(scenario_text(kStorm, ""));
  NamedPolicy policy = *s.find_policy("policy");
  const NamedPolicy direct = direct_of(s);
  EXPECT_GT(direct.config.policy.timeouts.request, policy.config.policy.timeouts.request);
  EXPECT_EQ(patient_as(direct, policy).config.policy.timeouts.request, sec(120));
  NamedPolicy hasty = direct;
  hasty.config.policy.timeouts.request = sec(30);
  EXPECT_EQ(patient_as(hasty, policy).config.policy.timeouts.request, sec(30));
}

}  // namespace
}  // namespace failover::sim
