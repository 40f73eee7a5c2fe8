// Swarm exploration (sim/explore.h) and the oracles (sim/oracle.h): draws depend on
// (base, seed, index) only, a finding file loads and still fails its oracle, a weak
// policy is caught and shrunk to one fault, and [explore] errors name file:line:col.
#include "sim/explore.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "sim/oracle.h"
#include "sim/scenario_load.h"

namespace failover::sim::explore {
namespace {

std::string read(const std::string& relative) {
  std::ifstream in(std::string(FAILOVER_SOURCE_DIR) + "/" + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The headline storm with bounds that keep each draw small: 20-30 minutes at a tenth of
// the rate, so a test runs in seconds.
std::string small_headline() {
  return read("scenarios/claude-503-storm-2026-05-08.toml") + R"(
[explore]
horizon = ["20m", "30m"]
rate = [0.1, 0.15]
fault_duration = ["1m", "8m"]
recovery = "5m"
)";
}

Base base_of(const std::string& text, const std::string& policy) {
  Result<Base> b = load_base("headline.toml", text, policy);
  EXPECT_TRUE(b.has_value()) << (b ? "" : b.error().message());
  return std::move(*b);
}

TEST(Explore, ADrawDependsOnlyOnSeedAndIndex) {
  const Base base = base_of(small_headline(), "policy");
  const Result<std::string> a = render(base, draw(base, 7, 3));
  const Result<std::string> b = render(base, draw(base, 7, 3));
  const Result<std::string> c = render(base, draw(base, 7, 4));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(Explore, EveryDrawLoadsThroughTheLoader) {
  const Base base = base_of(small_headline(), "policy");
  for (std::uint64_t i = 0; i < 40; ++i) {
    const Result<std::string> text = render(base, draw(base, 1, i));
    ASSERT_TRUE(text.has_value());
    const Result<Scenario> s = load_scenario_string(*text, "draw.toml");
    EXPECT_TRUE(s.has_value()) << "draw " << i << ": " << (s ? "" : s.error().message());
  }
}

TEST(Explore, WeakPolicyFailsDoNoHarmAndShrinksToOneFault) {
  const Base base = base_of(small_headline(), "case-study");
  OracleSet set{};
  set[static_cast<std::size_t>(Oracle::do_no_harm)] = true;
  bool found = false;
  for (std::uint64_t i = 0; i < 100 && !found; ++i) {
    const Draw d = draw(base, 1, i);
    Result<Evaluation> e = evaluate(base, d, set);
    ASSERT_TRUE(e.has_value()) << e.error().message();
    const Verdict* v = e->verdict(Oracle::do_no_harm);
    if (v == nullptr || !v->failed) continue;
    found = true;
    const Shrunk s = shrink(base, d, *v, 60);
    EXPECT_TRUE(s.verdict.failed);
    EXPECT_EQ(s.draw.faults.size(), 1U) << size_text(size_of(base, s.draw));
    // The finding file loads, and replaying it fails the same oracle again.
    const Result<std::string> text = finding_text(base, 1, d, s);
    ASSERT_TRUE(text.has_value());
    Result<Scenario> loaded = load_scenario_string(*text, "finding.toml");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    const std::vector<Verdict> again = judge_scenario(*loaded, "case-study", set);
    ASSERT_EQ(again.size(), 1U);
    EXPECT_TRUE(again.front().failed) << again.front().detail;
    // Its [[expect]] line fails under `failover run` too.
    const ScenarioResult run = run_scenario(*loaded);
    EXPECT_FALSE(run.passed());
  }
  EXPECT_TRUE(found) << "no do-no-harm violation of case-study in the first 100 draws";
}

TEST(Explore, ShardRecordsMergeIntoTheWholeRun) {
  explore::Run whole;
  whole.bases = {BaseEntry{"a.toml", "0", {"p"}}};
  whole.keep_going = true;
  for (std::uint64_t i = 0; i < 6; ++i)
    whole.draws.push_back(DrawRecord{0, i, 1, {1}, 1, i == 4 ? 1U : 0U, 999'000, -1, 900, i == 4 ? "x" : ""});
  whole.findings.push_back(FindingRecord{0, 4, Oracle::invariants, "x", "big", "small", 3, "# text\n"});
  std::vector<explore::Run> shards(2, whole);
  for (std::size_t k = 0; k < 2; ++k) {
    shards[k].index = k;
    shards[k].count = 2;
    std::erase_if(shards[k].draws, [&](const DrawRecord& d) { return d.index % 2 != k; });
    std::erase_if(shards[k].findings, [&](const FindingRecord& f) { return f.index % 2 != k; });
    Result<explore::Run> back = read_shard(write_shard(shards[k]), "shard");
    ASSERT_TRUE(back.has_value()) << back.error().message();
    shards[k] = *back;
  }
  const Result<explore::Run> merged = merge(shards, {"s0", "s1"});
  const Result<explore::Run> one = merge({*read_shard(write_shard(whole), "w")}, {"w"});
  ASSERT_TRUE(merged && one);
  EXPECT_EQ(render_outputs(*merged), render_outputs(*one));
}

// A shard is read with the one TOML reader: each error names the file, line:col and
// the key's path, and a key the writer never writes is refused rather than ignored.
TEST(Explore, AMalformedShardIsRefusedAtItsLineAndKey) {
  explore::Run run;
  run.bases = {BaseEntry{"a.toml", "0", {"p"}}};
  run.draws.push_back(DrawRecord{0, 0, 1, {1}, 1, 0, 999'000, -1, 900, ""});
  run.draws.push_back(DrawRecord{0, 1, 1, {1}, 1, 0, 999'000, -1, 900, ""});
  const std::string text = write_shard(run);
  ASSERT_TRUE(read_shard(text, "s.toml").has_value());

  const auto error_of = [](const std::string& shard) {
    const Result<explore::Run> r = read_shard(shard, "s.toml");
    return r.has_value() ? std::string("(read)") : r.error().message();
  };
  std::string out_of_range = text;
  const std::size_t judged = out_of_range.rfind("judged = 1");
  ASSERT_NE(judged, std::string::npos);
  out_of_range.replace(judged, 10, "judged = 99");
  const std::string e1 = error_of(out_of_range);
  EXPECT_NE(e1.find("s.toml:"), std::string::npos) << e1;
  EXPECT_NE(e1.find("draws[1].judged"), std::string::npos) << e1;

  std::string unknown = text;
  unknown.replace(unknown.find("partial ="), 9, "partia1 =");
  const std::string e2 = error_of(unknown);
  EXPECT_NE(e2.find("explore.partia1: unknown key"), std::string::npos) << e2;

  EXPECT_NE(error_of("format = \"sweep\"\n").find("not a shard file of failover explore"), std::string::npos);
}

TEST(Explore, FindingFilesAreWhereTheOutputsPutThemAndFailingDrawsAreCounted) {
  explore::Run run;
  run.bases = {BaseEntry{"a.toml", "0", {"p"}}};
  for (std::uint64_t i = 0; i < 4; ++i)
    run.draws.push_back(DrawRecord{0, i, 1, {1}, 3, i % 2 == 1 ? 2U : 0U, 999'000, -1, 900, ""});
  EXPECT_EQ(failing_draws(run), 2U);
  run.findings.push_back(FindingRecord{0, 1, Oracle::expect, "x", "big", "small", 3, "# one\n"});
  run.findings.push_back(FindingRecord{0, 3, Oracle::cost, "y", "big", "small", 3, "# two\n"});
  EXPECT_EQ(finding_file(1, run.findings[1]), "findings/002-cost.toml");
  const std::vector<std::pair<std::string, std::string>> files = render_outputs(run);
  ASSERT_EQ(files.size(), 4U);
  for (std::size_t i = 0; i < run.findings.size(); ++i) {
    EXPECT_EQ(files[2 + i].first, finding_file(i, run.findings[i]));
    EXPECT_EQ(files[2 + i].second, run.findings[i].text);
  }
  EXPECT_NE(files[0].second.find("## Failing draws (2)"), std::string::npos);
  run.draws.clear();
  EXPECT_EQ(failing_draws(run), 0U);
}

TEST(Explore, BadExploreTableNamesFileLineAndColumn) {
  const std::string text =
      read("scenarios/claude-503-storm-2026-05-08.toml") + "\n[explore]\nkinds = [\"http_error\", \"meteor\"]\n";
  const Result<Scenario> s = load_scenario_string(text, "storm.toml");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("storm.toml:"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("explore.kinds[1]"), std::string::npos) << s.error().message();
  const Result<Scenario> p = load_scenario_string(
      read("scenarios/claude-503-storm-2026-05-08.toml") + "\n[explore]\nproviders = [\"antropic\"]\n", "storm.toml");
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.error().message().find("explore.providers[0]"), std::string::npos) << p.error().message();
}

TEST(Oracle, HealthyDayAndDoNoHarmHoldForThePolicyOnTheShortStorm) {
  Result<Scenario> s = load_scenario_string(read("tests/cli/short-storm.toml"), "short-storm.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  OracleSet set{};
  set[static_cast<std::size_t>(Oracle::healthy_day)] = true;
  set[static_cast<std::size_t>(Oracle::do_no_harm)] = true;
  set[static_cast<std::size_t>(Oracle::invariants)] = true;
  for (const Verdict& v : judge_scenario(*s, "policy", set))
    EXPECT_FALSE(v.failed) << oracle_name(v.oracle) << ": " << v.detail;
}

}  // namespace
}  // namespace failover::sim::explore
