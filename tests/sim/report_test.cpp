#include "sim/report.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sim/report_format.h"
#include "sim/svg.h"
#include "tests/sim/report_test_support.h"

namespace failover::sim {
namespace {

namespace fs = std::filesystem;
using testing::count_of;
using testing::Fixture;
using testing::kOddName;
using testing::real_scenario;
using testing::well_formed_json;
using testing::well_formed_xml;
const std::vector<std::string> kSlugs = {"throughput", "availability", "buffer",         "breakers",  "share",
                                         "errors",     "latency",      "target-latency", "in-flight", "cost"};

// The chart with this slug (every chart is asked for by name: the order is the report's).
std::string chart(const std::vector<ChartFile>& charts, const std::string& slug) {
  for (const ChartFile& c : charts) {
    if (c.slug == slug) return c.svg;
  }
  ADD_FAILURE() << "no chart " << slug;
  return {};
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("report_test_" + name);
  fs::remove_all(dir);
  return dir;
}

std::vector<std::string> report_files(const std::string& name) {
  std::vector<std::string> files = {name + ".md", name + ".json", name + ".junit.xml"};
  for (const std::string& slug : kSlugs) files.push_back(name + "-" + slug + ".svg");
  return files;
}

// ---- Tests ----------------------------------------------------------------------------

TEST(Report, WritesTheMarkdownJsonJunitAndOneSvgPerChart) {
  const Fixture f;
  const fs::path dir = fresh_dir("files") / "nested";
  ASSERT_TRUE(write_reports(f.result, dir.string()).has_value());
  for (const std::string& file : report_files("tiny-storm")) {
    EXPECT_TRUE(fs::is_regular_file(dir / file)) << file;
    EXPECT_GT(fs::file_size(dir / file), 200U) << file;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()),
            static_cast<std::ptrdiff_t>(3 + kSlugs.size()));
}

TEST(Report, TheSameInputGivesByteIdenticalFilesTwice) {
  const Fixture f;
  const fs::path a = fresh_dir("twice_a");
  const fs::path b = fresh_dir("twice_b");
  ASSERT_TRUE(write_reports(f.result, a.string()).has_value());
  const Fixture g;  // a separate copy of the same input
  ASSERT_TRUE(write_reports(g.result, b.string()).has_value());
  for (const std::string& file : report_files("tiny-storm")) {
    EXPECT_EQ(read_file(a / file), read_file(b / file)) << file;
  }
  EXPECT_EQ(read_file(a / "tiny-storm.md"), report_markdown(f.result));
  EXPECT_EQ(read_file(a / "tiny-storm.json"), report_json(f.result));
  EXPECT_EQ(read_file(a / "tiny-storm.junit.xml"), report_junit(f.result));
}

TEST(Report, JsonIsWellFormedAndHoldsEveryRunsFigures) {
  const Fixture f;
  const std::string json = report_json(f.result);
  ASSERT_TRUE(well_formed_json(json));
  EXPECT_NE(json.find("\"digest\": \"00000000deadbeef\""), std::string::npos);
  EXPECT_NE(json.find("\"digest\": \"0123456789abcdef\""), std::string::npos);
  EXPECT_EQ(count_of(json, "\"seed\": "), 4U);
  EXPECT_NE(json.find("\"overflow_at_seconds\": null"), std::string::npos);
  EXPECT_NE(json.find("\"overflow_at_seconds\": 180.000000"), std::string::npos);
  EXPECT_NE(json.find("\"overflow_after_minutes\": 2.000"), std::string::npos);
  EXPECT_NE(json.find("\"arrived\": 3000"), std::string::npos);
  EXPECT_NE(json.find("\"peak_queue\": 500"), std::string::npos);
  const std::optional<double> failover = failover_seconds(f.scenario, f.result.policies[1].runs[0]);
  ASSERT_TRUE(failover.has_value());
  EXPECT_NE(json.find("\"time_to_failover_seconds\": " + svg::fixed(*failover, 3)), std::string::npos);
  EXPECT_NE(json.find("\"cost_upper_usd\": 0.200000"), std::string::npos);
  EXPECT_NE(json.find("\"cost_usd\": 0.150000"), std::string::npos);
  EXPECT_NE(json.find("\"plan_cost_usd\": 0.200000"), std::string::npos);
  const Histogram& h = f.result.policies[0].runs[0].latency;
  EXPECT_NE(json.find("\"p50\": " + report::decimal(h.percentile(Ratio{50, 100}).count(), 3) + ","), std::string::npos);
  EXPECT_NE(json.find("\"queue_full\": 20"), std::string::npos);
  EXPECT_NE(json.find("\"name\": \"alpha/model-a\""), std::string::npos);
  EXPECT_NE(json.find("\"pass\": false"), std::string::npos);
  EXPECT_NE(json.find("\"passed\": false"), std::string::npos);
  EXPECT_NE(json.find("\"held_max\": [0, 40, 80,"), std::string::npos);
  EXPECT_FALSE(well_formed_json(json.substr(0, json.size() - 3)));  // the validator does reject
}

TEST(Report, JunitHasOneTestcasePerCheckPlusConservationAndMarksFailures) {
  const Fixture f;
  const std::string xml = report_junit(f.result);
  ASSERT_TRUE(well_formed_xml(xml));
  EXPECT_EQ(count_of(xml, "<testcase "), f.result.checks.size() + 1);
  EXPECT_EQ(count_of(xml, "<failure "), 1U);
  EXPECT_NE(xml.find("tests=\"3\" failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("name=\"conservation\" time=\"0\"/>"), std::string::npos);
  EXPECT_NE(xml.find("message=\"expected &lt;= 0, measured 20 (seed 7)\""), std::string::npos);
}

TEST(Report, JunitFailsConservationWhenARunLosesRequests) {
  Fixture f;
  f.result.policies[0].runs[1].conserved = false;
  const std::string xml = report_junit(f.result);
  ASSERT_TRUE(well_formed_xml(xml));
  EXPECT_EQ(count_of(xml, "<failure "), 2U);
  EXPECT_NE(xml.find("type=\"conservation\""), std::string::npos);
  EXPECT_NE(xml.find("policy seed 8: arrived 3000"), std::string::npos);
  EXPECT_NE(report_markdown(f.result).find("Conservation is broken"), std::string::npos);
}

TEST(Report, JunitSuiteReturnsItsCountsAndTheDocumentSumsThem) {
  const Fixture f;
  const JunitSuite suite = junit_suite(f.result);
  EXPECT_EQ(suite.tests, 3U);
  EXPECT_EQ(suite.failures, 1U);
  EXPECT_EQ(suite.xml.rfind("  <testsuite name=\"tiny-storm\" tests=\"3\" failures=\"1\"", 0), 0U);
  EXPECT_EQ(report_junit(f.result), junit_document({suite}));
  const std::string two = junit_document({suite, suite});
  ASSERT_TRUE(well_formed_xml(two));
  EXPECT_NE(two.find("<testsuites name=\"failover\" tests=\"6\" failures=\"2\" errors=\"0\" time=\"0\">"),
            std::string::npos);
  EXPECT_EQ(count_of(two, "<testsuite "), 2U);
  EXPECT_TRUE(well_formed_xml(junit_document({})));
}

TEST(Report, JunitSuiteAddsADeterminismTestcaseOnlyWhenItWasChecked) {
  const Fixture f;
  const JunitSuite same = junit_suite(f.result, true);
  EXPECT_EQ(same.tests, 4U);
  EXPECT_EQ(same.failures, 1U);
  EXPECT_NE(same.xml.find("<testcase classname=\"tiny-storm\" name=\"determinism\" time=\"0\"/>"), std::string::npos);
  const JunitSuite differs = junit_suite(f.result, false);
  EXPECT_EQ(differs.tests, 4U);
  EXPECT_EQ(differs.failures, 2U);
  EXPECT_NE(differs.xml.find("<failure type=\"determinism\""), std::string::npos);
  EXPECT_TRUE(well_formed_xml(junit_document({differs})));
  EXPECT_EQ(junit_suite(f.result).xml.find("determinism"), std::string::npos);
}

TEST(Report, ChartsAreWellFormedSvgWithOneLinePerPolicy) {
  const Fixture f;
  const std::vector<ChartFile> charts = report_charts(f.result);
  ASSERT_EQ(charts.size(), kSlugs.size());
  for (std::size_t c = 0; c < charts.size(); ++c) {
    const std::string& svg = charts[c].svg;
    EXPECT_EQ(charts[c].slug, kSlugs[c]);
    EXPECT_TRUE(well_formed_xml(svg)) << charts[c].slug;
    EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"800\""), std::string::npos);
    if (charts[c].slug == "breakers") continue;  // lanes, not lines: its own test below
    EXPECT_GE(count_of(svg, "<path class=\"line\""), charts[c].slug == "errors" ? 1U : 2U) << charts[c].slug;
    // The per-target charts show the policy under test; the others every policy.
    static const std::vector<std::string> kPerTarget = {"share", "errors", "target-latency", "in-flight"};
    if (std::find(kPerTarget.begin(), kPerTarget.end(), charts[c].slug) != kPerTarget.end()) continue;
    for (const std::string& policy : {std::string("policy"), svg::xml_escape(kOddName)}) {
      EXPECT_NE(svg.find("\"><title>" + policy), std::string::npos) << charts[c].slug << " " << policy;
    }
  }
  const std::string buffer = chart(charts, "buffer");
  EXPECT_EQ(count_of(buffer, "<path class=\"line\""), 2U);                    // buffer: one line per policy
  EXPECT_NE(buffer.find("<path class=\"ref\""), std::string::npos);           // and the capacity
  EXPECT_EQ(count_of(chart(charts, "latency"), "<path class=\"line\""), 4U);  // latency: p50 and p99 per policy
  EXPECT_NE(chart(charts, "cost").find("budget $2.00"), std::string::npos);
  EXPECT_NE(chart(charts, "cost").find("all-primary plan (pro rata)"), std::string::npos);
}

TEST(Report, FaultBandsNameTheirProviderAndKind) {
  const Fixture f;
  for (const ChartFile& c : report_charts(f.result)) {
    // A label above the plot, and the band's tooltip.
    EXPECT_EQ(count_of(c.svg, ">alpha: 503 at 94%</text>"), 1U) << c.slug;
    EXPECT_EQ(count_of(c.svg, "<title>alpha: 503 at 94%</title></rect>"), 1U) << c.slug;
  }
}

TEST(Report, AFlappingFaultIsLabelledOnceAndEveryWindowKeepsItsTooltip) {
  svg::LineChart c;
  c.x = svg::Axis{"t", 0.0, 60.0, false, {}};
  c.y = svg::Axis{"v", 0.0, 1.0, false, {}};
  for (int i = 0; i < 30; ++i) c.spans.push_back(svg::Span{2.0 * i, 2.0 * i + 1.0, "p: 503"});
  c.spans.push_back(svg::Span{30.5, 31.0, "q: connect_error at 20%"});  // overlaps: a second row
  const std::string out = svg::render(c);
  EXPECT_TRUE(well_formed_xml(out));
  EXPECT_EQ(count_of(out, ">p: 503</text>"), 1U);
  EXPECT_EQ(count_of(out, "<title>p: 503</title>"), 30U);
  EXPECT_EQ(count_of(out, ">q: connect_error at 20%</text>"), 1U);
}

TEST(Report, ThroughputDrawsTheArrivalsOverTheSuccessesAndTheFirstPolicyWidest) {
  const Fixture f;
  const std::string svg = chart(report_charts(f.result), "throughput");
  const std::size_t policy = svg.find("<title>policy successes</title>");
  const std::size_t rival = svg.find("successes</title>", policy + std::string("<title>policy successes").size());
  const std::size_t arrivals = svg.find("<title>arrivals</title>");
  ASSERT_NE(policy, std::string::npos);
  ASSERT_NE(rival, std::string::npos);
  ASSERT_NE(arrivals, std::string::npos);
  EXPECT_LT(rival, arrivals);  // drawn last: on top
  const auto width_before = [&svg](std::size_t at) {
    const std::size_t w = svg.rfind("stroke-width=\"", at);
    return std::stod(svg.substr(w + 14));
  };
  EXPECT_GT(width_before(policy), width_before(rival));  // the first policy's rim shows around the next
  EXPECT_LT(width_before(arrivals), width_before(rival));
}

TEST(Report, AvailabilityChartDrawsEachPolicysSloAndZoomsToIt) {
  Fixture f;
  f.scenario.expectations.push_back(Expectation{"policy", Metric::availability, Bound::at_least, 99.5, 0.0, ""});
  const std::string svg = chart(report_charts(f.result), "availability");
  EXPECT_NE(svg.find("<title>policy SLO &gt;= 99.50%</title>"), std::string::npos);
  EXPECT_EQ(count_of(svg, "<path class=\"ref\""), 1U);  // the rival has no availability expectation
  // The axis serves the SLO: from five error budgets below 100% (97.5%, rounded down to a
  // tick), so the rival's minute at 96.7% (20 dropped of 600) is drawn at the bottom edge.
  EXPECT_NE(svg.find(">100%</text>"), std::string::npos);
  EXPECT_NE(svg.find(">97%</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">96%</text>"), std::string::npos);
  EXPECT_NE(svg.find("lower minutes drawn at the bottom edge"), std::string::npos);
  // Without an SLO the axis reaches down to the data instead.
  Fixture g;
  const std::string plain = chart(report_charts(g.result), "availability");
  EXPECT_EQ(plain.find("<path class=\"ref\""), std::string::npos);
  EXPECT_NE(plain.find(">96%</text>"), std::string::npos);
  EXPECT_EQ(plain.find("bottom edge"), std::string::npos);
}

TEST(Report, PerTargetChartsDrawTheFocusPolicysTargetsAndLimits) {
  const Fixture f;
  const std::vector<ChartFile> charts = report_charts(f.result);
  for (const std::string slug : {"share", "target-latency"}) {
    const std::string svg = chart(charts, slug);
    EXPECT_EQ(count_of(svg, "<path class=\"line\""), 2U) << slug;  // one per target
    EXPECT_NE(svg.find("<title>alpha/model-a</title>"), std::string::npos) << slug;
    EXPECT_NE(svg.find("<title>beta/model-b</title>"), std::string::npos) << slug;
    EXPECT_NE(svg.find("policy under test: policy"), std::string::npos) << slug;
  }
  const std::string errors = chart(charts, "errors");
  EXPECT_EQ(count_of(errors, "<path class=\"line\""), 1U);  // only transient attempts failed
  EXPECT_NE(errors.find("<title>transient</title>"), std::string::npos);
  const std::string in_flight = chart(charts, "in-flight");
  EXPECT_EQ(count_of(in_flight, "<path class=\"line\""), 2U);  // one per provider
  EXPECT_EQ(count_of(in_flight, "<path class=\"ref\""), 2U);   // and its concurrency_max
  EXPECT_NE(in_flight.find("<title>alpha concurrency_max 64</title>"), std::string::npos);
}

TEST(Report, BreakerChartHasALanePerTargetAndColoursItsStates) {
  const Fixture f;
  const std::string svg = chart(report_charts(f.result), "breakers");
  EXPECT_EQ(count_of(svg, ">alpha/model-a</text>"), 2U);  // one lane per policy
  EXPECT_EQ(count_of(svg, ">beta/model-b</text>"), 2U);
  EXPECT_NE(svg.find(">policy</text>"), std::string::npos);
  // alpha opens at minute 1 and half-opens at 1:30: both states are drawn.
  EXPECT_GE(count_of(svg, "fill=\"#d55e00\"/>"), 2U);
  EXPECT_GE(count_of(svg, "fill=\"#e6a700\"/>"), 2U);
}

TEST(Report, EscapesNamesInEveryFormat) {
  const Fixture f;
  const std::string md = report_markdown(f.result);
  const std::string json = report_json(f.result);
  const std::string xml = report_junit(f.result);
  EXPECT_NE(md.find("&lt;b>fast&amp;amp;\"cheap&lt;/b>"), std::string::npos);
  EXPECT_NE(md.find("# Storm &lt;i>1&lt;/i> & \"two\""), std::string::npos);  // a lone & or "<=" stays
  EXPECT_NE(json.find("\"<b>fast&amp;\\\"cheap</b>\""), std::string::npos);
  EXPECT_NE(xml.find("&lt;b&gt;fast&amp;amp;&quot;cheap&lt;/b&gt;"), std::string::npos);
  for (const std::string& doc : {md, json, xml}) EXPECT_EQ(doc.find(kOddName), std::string::npos);
  for (const ChartFile& c : report_charts(f.result)) EXPECT_EQ(c.svg.find(kOddName), std::string::npos) << c.slug;
}

TEST(Report, MarkdownShowsVerdictsPoliciesChartsAndDigests) {
  const Fixture f;
  const std::string md = report_markdown(f.result);
  EXPECT_NE(md.find("**❌ FAIL** · 1 of 2 expectations met"), std::string::npos);
  EXPECT_NE(md.find("| ✅ PASS | policy | availability | >= 99% | 99.000% (seed 7) |"), std::string::npos);
  EXPECT_NE(md.find("| overflow measured from | 1m 00s after the start |"), std::string::npos);
  EXPECT_NE(md.find("| ❌ FAIL | " + report::md_cell(kOddName) + " | dropped | <= 0 | 20 (seed 7) |"),
            std::string::npos);
  EXPECT_NE(md.find("| ✅ PASS | every policy | conservation |"), std::string::npos);
  // Time to fail over is expect.h's figure, shown as a duration.
  const auto failover = [&f](std::size_t policy) {
    const std::optional<double> seconds = failover_seconds(f.scenario, f.result.policies[policy].runs[0]);
    return seconds ? report::duration_text(sec(std::llround(*seconds))) : std::string("never");
  };
  EXPECT_NE(md.find("| never | 60 / 500 (12%) | " + failover(0) + " |"), std::string::npos);
  EXPECT_NE(md.find("| after 2.0 min | 500 / 500 (100%) | " + failover(1) + " |"), std::string::npos);
  const Histogram& h = f.result.policies[0].runs[0].latency;
  EXPECT_NE(md.find("| " + report::latency_text(h.percentile(Ratio{50, 100}).count()) + " | " +
                    report::latency_text(h.percentile(Ratio{99, 100}).count()) + " | 9.00 s |"),
            std::string::npos);
  EXPECT_NE(md.find("| $0.1500 | 75.0% |"), std::string::npos);
  EXPECT_NE(md.find("| $0.1500 – $0.2000 | 100.0% |"), std::string::npos);  // possibly billed: a range
  for (const std::string& slug : kSlugs) EXPECT_NE(md.find("(tiny-storm-" + slug + ".svg)"), std::string::npos);
  EXPECT_NE(md.find("`00000000deadbeef`"), std::string::npos);
  EXPECT_NE(md.find("| seeds | 7, 8 |"), std::string::npos);
  EXPECT_NE(md.find("A five-minute 503 storm on **alpha**."), std::string::npos);
}

// Issue 17: the report says why a policy failed -- endings by reason, and the targets
// whose breakers were open or half-open for most of the commonest one.
TEST(Report, MarkdownSaysWhyRequestsFailed) {
  const Fixture f;
  ScenarioResult result = f.result;
  PolicyResult& p = result.policies[0];
  const std::size_t targets = report::target_count(result, 0);
  ASSERT_GE(targets, 2U);
  for (RunResult& run : p.runs) {
    run.failed_by = {};
    run.dropped_by = {};
    run.dropped_buffer_full = 0;
    run.ended_while_open.assign(kEndReasonCount * targets, 0);
    run.ended_while_half_open.assign(kEndReasonCount * targets, 0);
  }
  RunResult& run = p.runs[0];
  const auto deadline = static_cast<std::size_t>(EndReason::deadline_exceeded);
  run.failed_by[deadline] = 93;
  run.dropped_by[static_cast<std::size_t>(EndReason::queue_full)] = 7;
  run.ended_while_half_open[deadline * targets + 1] = 90;  // the second target: half-open for most
  run.ended_while_open[deadline * targets + 0] = 10;       // the first: open for few
  const std::string md = report_markdown(result);
  const std::string second = report::target_name(report::policy_config(result, 0), 1);
  EXPECT_NE(md.find("## Why requests failed"), std::string::npos);
  EXPECT_NE(md.find("93% of them ended `deadline_exceeded` while " + report::md_cell(second) + " was half-open."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `deadline_exceeded` | 93 | 0 |"), std::string::npos);
  EXPECT_NE(md.find("| `queue_full` | 0 | 7 |"), std::string::npos);
}

TEST(Report, AnErrorNamesThePathThatCouldNotBeWritten) {
  const Fixture f;
  const fs::path dir = fresh_dir("blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "not a folder";
  const std::string target = (dir / "file" / "reports").string();
  const Status s = write_reports(f.result, target);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find(target), std::string::npos);
}

TEST(ReportFormat, WritesMoneyTimeAndCountsExactly) {
  EXPECT_EQ(report::usd(1'234'567'890), "$1,234.57");
  EXPECT_EQ(report::usd(4'200), "$0.0042");
  EXPECT_EQ(report::decimal(-1'234'500, 6), "-1.234500");
  EXPECT_EQ(report::group_digits(-1'234'567), "-1,234,567");
  EXPECT_EQ(report::duration_text(minutes(180)), "3h 00m");
  EXPECT_EQ(report::duration_text(sec(18 * 60 + 5)), "18m 05s");
  EXPECT_EQ(report::clock_text(83.0), "1:23");
  EXPECT_EQ(report::latency_text(12'345'678), "12.3 s");
  EXPECT_EQ(report::latency_text(1'476'000'000), "24.6 min");
  EXPECT_EQ(report::md_cell("a|b<c <= 1 & x\n_y_"), "a\\|b&lt;c <= 1 & x \\_y\\_");
  EXPECT_EQ(svg::fixed(-0.0001, 2), "0.00");
  EXPECT_EQ(svg::xml_escape("a<b&\"c'\x01"), "a&lt;b&amp;&quot;c&apos;");
  EXPECT_EQ(svg::nice_ceiling(0.37), 0.5);
  EXPECT_EQ(svg::linear_ticks(0.0, 10.0, 6), (std::vector<double>{0.0, 2.0, 4.0, 6.0, 8.0, 10.0}));
}

// ---- A report of real runs ------------------------------------------------------------

TEST(Report, AReportOfARealScenarioRunIsWellFormedAndRepeatsItself) {
  Scenario s = real_scenario();
  s.expectations = {Expectation{"policy", Metric::dropped, Bound::at_most, 0.0, 0.0, "dropped <= 0"},
                    Expectation{kOddName, Metric::availability, Bound::at_least, 100.5, 0.0, "impossible"}};
  for (const NamedPolicy& p : s.policies) ASSERT_TRUE(validate(p.config).has_value());
  const ScenarioResult a = run_scenario(s);
  const ScenarioResult b = run_scenario(s);
  ASSERT_EQ(a.checks.size(), 2U);
  const std::string json = report_json(a);
  EXPECT_TRUE(well_formed_json(json));
  EXPECT_NE(json.find("\"digest\": \"" + a.policies[0].runs[0].digest + "\""), std::string::npos);
  EXPECT_NE(json.find("\"succeeded\": " + std::to_string(a.policies[1].runs[1].succeeded)), std::string::npos);
  const std::string xml = report_junit(a);
  EXPECT_TRUE(well_formed_xml(xml));
  EXPECT_EQ(count_of(xml, "<testcase "), 3U);
  EXPECT_GE(count_of(xml, "<failure "), 1U);  // nothing reaches 100.5% availability
  for (const ChartFile& c : report_charts(a)) EXPECT_TRUE(well_formed_xml(c.svg)) << c.slug;
  const fs::path da = fresh_dir("real_a");
  const fs::path db = fresh_dir("real_b");
  ASSERT_TRUE(write_reports(a, da.string()).has_value());
  ASSERT_TRUE(write_reports(b, db.string()).has_value());
  for (const std::string& file : report_files(s.name)) EXPECT_EQ(read_file(da / file), read_file(db / file)) << file;
}

}  // namespace
}  // namespace failover::sim
