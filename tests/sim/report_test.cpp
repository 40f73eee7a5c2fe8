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

namespace failover::sim {
namespace {

namespace fs = std::filesystem;

const std::string kOddName = "<b>fast&amp;\"cheap</b>";  // a policy name every format must escape
const std::vector<std::string> kSlugs = {"throughput", "buffer", "breakers", "latency", "cost"};

// ---- A tiny well-formedness checker for the XML we write (SVG and JUnit) --------------

bool entities_ok(const std::string& s, std::size_t from, std::size_t to) {
  for (std::size_t i = s.find('&', from); i < to; i = s.find('&', i + 1)) {
    const std::size_t semi = s.find(';', i);
    if (semi == std::string::npos || semi > to) return false;
    const std::string name = s.substr(i + 1, semi - i - 1);
    const bool named = name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos";
    const bool numeric = name.size() > 1 && name[0] == '#';
    if (!named && !numeric) return false;
  }
  return true;
}

std::size_t name_end(const std::string& s, std::size_t i) {
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) != 0 || s[i] == '-' || s[i] == '_' ||
                          s[i] == ':' || s[i] == '.')) {
    ++i;
  }
  return i;
}

// Parses one start tag at s[i] == '<'; returns the index after it, or npos.
std::size_t start_tag(const std::string& s, std::size_t i, std::vector<std::string>& open) {
  const std::size_t ne = name_end(s, i + 1);
  if (ne == i + 1) return std::string::npos;
  const std::string name = s.substr(i + 1, ne - i - 1);
  std::size_t j = ne;
  for (int guard = 0; guard < 1000; ++guard) {
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j])) != 0) ++j;
    if (s.compare(j, 2, "/>") == 0) return j + 2;
    if (j < s.size() && s[j] == '>') {
      open.push_back(name);
      return j + 1;
    }
    const std::size_t ae = name_end(s, j);
    if (ae == j || ae + 1 >= s.size() || s[ae] != '=' || (s[ae + 1] != '"' && s[ae + 1] != '\'')) {
      return std::string::npos;
    }
    const std::size_t close = s.find(s[ae + 1], ae + 2);
    if (close == std::string::npos) return std::string::npos;
    const std::string value = s.substr(ae + 2, close - ae - 2);
    if (value.find('<') != std::string::npos || !entities_ok(s, ae + 2, close)) return std::string::npos;
    j = close + 1;
  }
  return std::string::npos;
}

// True when `s` is one well-formed XML element (after an optional declaration): tags
// balanced and properly nested, attributes quoted, entities known, no stray '<'.
bool well_formed_xml(const std::string& s) {
  std::vector<std::string> open;
  std::size_t i = 0;
  int roots = 0;
  while (i < s.size()) {
    const std::size_t lt = s.find('<', i);
    if (!entities_ok(s, i, lt == std::string::npos ? s.size() : lt)) return false;
    if (lt == std::string::npos) break;
    if (s.compare(lt, 2, "<?") == 0 || s.compare(lt, 4, "<!--") == 0) {
      const std::size_t end = s.find(s[lt + 1] == '?' ? "?>" : "-->", lt);
      if (end == std::string::npos) return false;
      i = end + 2;
      continue;
    }
    if (s.compare(lt, 2, "</") == 0) {
      const std::size_t ne = name_end(s, lt + 2);
      if (open.empty() || s.substr(lt + 2, ne - lt - 2) != open.back() || ne >= s.size() || s[ne] != '>') return false;
      open.pop_back();
      i = ne + 1;
      continue;
    }
    if (open.empty()) ++roots;
    i = start_tag(s, lt, open);
    if (i == std::string::npos) return false;
  }
  return open.empty() && roots == 1;
}

// ---- A tiny JSON validator (iterative: a stack of open containers) --------------------

std::size_t json_string_end(const std::string& s, std::size_t i) {  // s[i] == '"'
  for (++i; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20) return std::string::npos;
    if (c == '\\') {
      ++i;
      if (i >= s.size() || std::string("\"\\/bfnrtu").find(s[i]) == std::string::npos) return std::string::npos;
    } else if (c == '"') {
      return i + 1;
    }
  }
  return std::string::npos;
}

std::size_t json_scalar_end(const std::string& s, std::size_t i) {
  for (const char* word : {"true", "false", "null"}) {
    if (s.compare(i, std::string(word).size(), word) == 0) return i + std::string(word).size();
  }
  std::size_t j = i;
  if (j < s.size() && s[j] == '-') ++j;
  const std::size_t digits = j;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) != 0) ++j;
  if (j == digits || (s[digits] == '0' && j - digits > 1)) return std::string::npos;
  if (j < s.size() && s[j] == '.') {
    const std::size_t frac = ++j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) != 0) ++j;
    if (j == frac) return std::string::npos;
  }
  return j;
}

bool well_formed_json(const std::string& s) {
  enum class Want { value, value_or_close, key_or_close, key, colon, comma_or_close, done };
  std::vector<char> stack;
  Want want = Want::value;
  std::size_t i = 0;
  const auto after_value = [&] { want = stack.empty() ? Want::done : Want::comma_or_close; };
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == s.size()) return want == Want::done;
    const char c = s[i];
    if (want == Want::done) return false;
    if ((want == Want::value_or_close && c == ']') || (want == Want::key_or_close && c == '}') ||
        (want == Want::comma_or_close && (c == ']' || c == '}'))) {
      if (stack.empty() || (stack.back() == '[') != (c == ']')) return false;
      stack.pop_back();
      ++i;
      after_value();
    } else if (want == Want::comma_or_close) {
      if (c != ',') return false;
      ++i;
      want = stack.back() == '{' ? Want::key : Want::value;
    } else if (want == Want::colon) {
      if (c != ':') return false;
      ++i;
      want = Want::value;
    } else if (want == Want::key || want == Want::key_or_close) {
      if (c != '"' || (i = json_string_end(s, i)) == std::string::npos) return false;
      want = Want::colon;
    } else if (c == '{' || c == '[') {
      stack.push_back(c);
      ++i;
      want = c == '{' ? Want::key_or_close : Want::value_or_close;
    } else {
      i = c == '"' ? json_string_end(s, i) : json_scalar_end(s, i);
      if (i == std::string::npos) return false;
      after_value();
    }
  }
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t i = haystack.find(needle); i != std::string::npos; i = haystack.find(needle, i + 1)) ++n;
  return n;
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

// ---- A scenario result built by hand ------------------------------------------------

Config two_targets() {
  Config c;
  const char* names[][2] = {{"alpha", "model-a"}, {"beta", "model-b"}};
  for (Index i = 0; i < 2; ++i) {
    ProviderConfig p;
    p.name = names[i][0];
    p.base_url = "https://example.invalid";
    p.api_key_env = "KEY";
    p.models.push_back(ModelConfig{names[i][1], 3'000'000, 15'000'000, 200'000});
    c.providers.push_back(p);
    c.intern_target(i, 0);
  }
  return c;
}

Scenario tiny_scenario() {
  Scenario s;
  s.name = "tiny-storm";
  s.title = "Storm <i>1</i> & \"two\"";
  s.description = "A five-minute 503 storm on **alpha**.";
  s.source = "Made up for the report's tests.";
  s.path = "scenarios/tiny-storm.toml";
  s.duration = minutes(5);
  s.seeds = {7, 8};
  s.overflow_from = at_us(0) + minutes(1);
  ProviderSpec alpha;
  alpha.name = "alpha";
  alpha.faults.push_back(Fault::http_error(at_us(0) + minutes(1), minutes(2), 503, Ratio{94, 100}));
  s.providers = {alpha, ProviderSpec{}};
  s.providers[1].name = "beta";
  s.buffer.capacity = 500;
  s.buffer.mode = BufferMode::requeue;
  s.policies = {NamedPolicy{"policy", two_targets(), "the policy under test"},
                NamedPolicy{kOddName, two_targets(), "a rival"}};
  s.cost_budget_micro_usd = 2'000'000;
  return s;
}

// 30 buckets of 10 s; `overflow` adds a buffer overflow at minute 3 and 20 drops.
RunResult tiny_run(std::uint64_t seed, bool overflow) {
  RunResult r;
  r.seed = seed;
  r.digest = overflow ? "00000000deadbeef" : "0123456789abcdef";
  r.events = 12'345;
  r.end = at_us(0) + minutes(5);
  r.bucket = sec(10);
  r.series.resize(30);
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    Bucket& b = r.series[i];
    const bool storm = i >= 6 && i < 18;
    b.arrived = 100;
    b.dropped = overflow && i == 18 ? 20 : 0;
    b.succeeded = storm && overflow ? 60 : 100 - b.dropped;
    b.attempts = storm ? 180 : 100;
    b.held_max = overflow ? std::min<std::int64_t>(500, 40 * static_cast<std::int64_t>(i)) : 60;
    b.cost_micro_usd = 5'000;
    b.latency_p50_us = storm && !overflow && i == 10 ? 0 : 300'000;  // one bucket without successes
    b.latency_p99_us = storm ? 9'000'000 : 2'000'000;
    r.arrived += b.arrived;
    r.succeeded += b.succeeded;
    r.dropped += b.dropped;
    r.attempts += b.attempts;
    r.cost_micro_usd += b.cost_micro_usd;
  }
  r.in_flight_end = r.arrived - r.succeeded - r.dropped;
  r.dropped_buffer_full = r.dropped;
  r.dropped_by[static_cast<std::size_t>(EndReason::queue_full)] = r.dropped;
  r.conserved = true;
  if (overflow) r.overflow_at = at_us(0) + minutes(3);
  r.held_peak = overflow ? 500 : 60;
  for (int i = 0; i < 98; ++i) r.latency.record(ms(300));
  r.latency.record(ms(2'000));
  r.latency.record(ms(9'000));
  r.attempts_by_target = {r.attempts - 700, 700};
  r.cost_by_target_micro_usd = {100'000, r.cost_micro_usd - 100'000};
  r.plan_cost_micro_usd = 200'000;
  r.possibly_billed_micro_usd = overflow ? 50'000 : 0;
  r.trips_by_target = {1, 0};
  r.transitions = {Transition{at_us(0) + minutes(1), 0, BreakerState::closed, BreakerState::open},
                   Transition{at_us(0) + sec(90), 0, BreakerState::open, BreakerState::half_open},
                   Transition{at_us(0) + minutes(2), 0, BreakerState::half_open, BreakerState::closed}};
  r.transitions_total = 3;
  r.breaker_end = {BreakerState::closed, BreakerState::closed};
  return r;
}

struct Fixture {
  Scenario scenario = tiny_scenario();
  ScenarioResult result;

  Fixture() {
    result.scenario = &scenario;
    result.policies = {PolicyResult{"policy", "the policy under test", {tiny_run(7, false), tiny_run(8, false)}},
                       PolicyResult{kOddName, "a rival", {tiny_run(7, true), tiny_run(8, true)}}};
    result.checks = {CheckResult{"policy", "availability", ">= 99%", "99.000% (seed 7)", 7, true},
                     CheckResult{kOddName, "dropped", "<= 0", "20 (seed 7)", 7, false}};
    result.conserved = true;
  }
};

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
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 8);
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

TEST(Report, ChartsAreWellFormedSvgWithOneLinePerPolicy) {
  const Fixture f;
  const std::vector<ChartFile> charts = report_charts(f.result);
  ASSERT_EQ(charts.size(), kSlugs.size());
  for (std::size_t c = 0; c < charts.size(); ++c) {
    const std::string& svg = charts[c].svg;
    EXPECT_EQ(charts[c].slug, kSlugs[c]);
    EXPECT_TRUE(well_formed_xml(svg)) << charts[c].slug;
    EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"800\""), std::string::npos);
    if (charts[c].slug == "breakers") continue;
    for (const std::string& policy : {std::string("policy"), svg::xml_escape(kOddName)}) {
      EXPECT_GE(count_of(svg, "<path class=\"line\""), 2U) << charts[c].slug;
      EXPECT_NE(svg.find("\"><title>" + policy), std::string::npos) << charts[c].slug << " " << policy;
    }
  }
  EXPECT_EQ(count_of(charts[1].svg, "<path class=\"line\""), 2U);           // buffer: one line per policy
  EXPECT_NE(charts[1].svg.find("<path class=\"ref\""), std::string::npos);  // and the capacity
  EXPECT_EQ(count_of(charts[3].svg, "<path class=\"line\""), 4U);           // latency: p50 and p99 per policy
  EXPECT_NE(charts[4].svg.find("budget $2.00"), std::string::npos);
  EXPECT_NE(charts[4].svg.find("all-primary plan (pro rata)"), std::string::npos);
}

TEST(Report, BreakerChartHasALanePerTargetAndColoursItsStates) {
  const Fixture f;
  const std::string svg = report_charts(f.result)[2].svg;
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

Scenario real_scenario() {
  Scenario s = tiny_scenario();
  s.duration = minutes(3);
  for (NamedPolicy& p : s.policies) {
    RouteConfig route;
    route.name = "main";
    route.targets = {RouteTarget{0, 0, 1}, RouteTarget{1, 1, 1}};
    p.config.routes.push_back(route);
    p.config.policy.queue.depth_max = 5'000;
    p.config.policy.queue.requests_max = 5'000;
  }
  for (std::size_t i = 0; i < s.providers.size(); ++i) {
    s.providers[i].latency.first_token = LatencyDist::lognormal(ms(400), ms(2'000));
    s.providers[i].concurrency_max = 200;
    s.providers[i].models = s.policies[0].config.providers[i].models;
  }
  TrafficClass cls;
  cls.name = "all";
  cls.route = 0;
  cls.prompt_tokens = TokenDist::constant(500);
  cls.output_tokens = TokenDist::constant(200);
  s.traffic.rate = RateSchedule::steady(600);
  s.traffic.end = at_us(0) + s.duration;
  s.traffic.classes.push_back(cls);
  return s;
}

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
