// Shared by the report tests (report_test.cpp, run_report_test.cpp, json_writer_test.cpp):
// tiny validators for the XML and JSON the reports write, a scenario result built by
// hand with every kind of figure in it, and a small real scenario to run.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/expect.h"
#include "sim/scenario.h"

namespace failover::sim::testing {

inline const std::string kOddName = "<b>fast&amp;\"cheap</b>";  // a policy name every format must escape

// ---- A tiny well-formedness checker for the XML we write (SVG and JUnit) --------------

inline bool entities_ok(const std::string& s, std::size_t from, std::size_t to) {
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

inline std::size_t name_end(const std::string& s, std::size_t i) {
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) != 0 || s[i] == '-' || s[i] == '_' ||
                          s[i] == ':' || s[i] == '.')) {
    ++i;
  }
  return i;
}

// Parses one start tag at s[i] == '<'; returns the index after it, or npos.
inline std::size_t start_tag(const std::string& s, std::size_t i, std::vector<std::string>& open) {
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
inline bool well_formed_xml(const std::string& s) {
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

inline std::size_t json_string_end(const std::string& s, std::size_t i) {  // s[i] == '"'
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

inline std::size_t json_scalar_end(const std::string& s, std::size_t i) {
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

inline bool well_formed_json(const std::string& s) {
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

inline std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t i = haystack.find(needle); i != std::string::npos; i = haystack.find(needle, i + 1)) ++n;
  return n;
}

// ---- A scenario result built by hand ------------------------------------------------

inline Config two_targets() {
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

inline Scenario tiny_scenario() {
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
inline RunResult tiny_run(std::uint64_t seed, bool overflow) {
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
  // The per-target charts' series at the buckets' resolution: alpha takes every attempt
  // until the storm, then a third of them and answers 5 of its 60; beta the rest.
  ChartSeries& c = r.chart;
  c.bin = sec(10);
  c.bins = 30;
  c.targets = 2;
  c.providers = 2;
  c.by_target.resize(c.bins * c.targets);
  c.by_class.resize(c.bins);
  c.in_flight_max.resize(c.bins * c.providers);
  for (std::size_t i = 0; i < c.bins; ++i) {
    const bool storm = i >= 6 && i < 18;
    c.by_target[i * 2] = storm ? TargetBin{60, 5, 5 * 400'000} : TargetBin{100, 100, 100 * 300'000};
    c.by_target[i * 2 + 1] = storm ? TargetBin{120, 120, 120 * 900'000} : TargetBin{};
    c.by_class[i][static_cast<std::size_t>(OutcomeClass::success)] = storm ? 125 : 100;
    c.by_class[i][static_cast<std::size_t>(OutcomeClass::transient)] = storm ? 55 : 0;
    c.in_flight_max[i * 2] = storm ? 12 : 30;
    c.in_flight_max[i * 2 + 1] = storm ? 40 : 0;
  }
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

// ---- A small real scenario: three minutes at 600 requests/minute over two targets ----

inline Scenario real_scenario() {
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

}  // namespace failover::sim::testing
