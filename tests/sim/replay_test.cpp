// `[traffic] replay` (docs/scenarios.md): the arrivals of a traffic log, sped up,
// multiplied (exactly, or jittered by the seed) and looped, through Traffic itself and
// through the scenario loader, whose errors name the log's file:line or the scenario's
// file:line:col; and a replayed run is deterministic.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/prng.h"
#include "sim/scenario_load.h"
#include "sim/simulation.h"
#include "sim/traffic.h"

namespace failover::sim {
namespace {

TrafficSpec replay_spec(std::vector<ReplayRequest> requests, Duration window) {
  TrafficSpec spec;
  spec.start = kTimeZero + sec(10);
  spec.end = spec.start + window;
  TrafficClass a;
  a.name = "a";
  a.route = 0;
  TrafficClass b = a;
  b.name = "b";
  b.stream = true;
  spec.classes = {a, b};
  ReplaySpec r;
  r.requests = std::make_shared<const std::vector<ReplayRequest>>(std::move(requests));
  spec.replay = r;
  return spec;
}

std::vector<Arrival> all(const TrafficSpec& spec, std::uint64_t seed = 1) {
  Traffic t(spec, Prng(seed));
  std::vector<Arrival> out;
  while (const std::optional<Arrival> a = t.next_arrival()) {
    out.push_back(*a);
    if (out.size() > 100'000) break;
  }
  return out;
}

const std::vector<ReplayRequest> kThree = {{sec(0), 0, 10, 20}, {sec(4), 1, 11, 21}, {sec(6), 0, 12, 22}};

TEST(Replay, KeepsTheLogsArrivalsAndSizes) {
  const TrafficSpec spec = replay_spec(kThree, minutes(1));
  const std::vector<Arrival> a = all(spec);
  ASSERT_EQ(a.size(), 3U);
  EXPECT_EQ(a[0].at, kTimeZero + sec(10));
  EXPECT_EQ(a[1].at, kTimeZero + sec(14));
  EXPECT_EQ(a[1].class_index, 1U);
  EXPECT_EQ(a[1].prompt_tokens, 11);
  EXPECT_EQ(a[1].output_tokens, 21);
  EXPECT_EQ(a[2].number, 2U);
  EXPECT_EQ(replay_arrivals(spec), 3U);
}

TEST(Replay, SpeedScalesTheLogsClockAndTheWindowCutsIt) {
  TrafficSpec spec = replay_spec(kThree, sec(5));
  spec.replay->speed = Ratio{2, 1};
  std::vector<Arrival> a = all(spec);
  ASSERT_EQ(a.size(), 3U);  // 0 s, 2 s, 3 s: all before 5 s
  EXPECT_EQ(a[2].at, kTimeZero + sec(13));
  spec.replay->speed = Ratio{1, 60};  // 60 times slower: 0, 4 min, 6 min, and the window is 5 s
  a = all(spec);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(replay_arrivals(spec), 1U);
}

TEST(Replay, MultiplyExactlyPutsTheCopiesAtTheSameTime) {
  TrafficSpec spec = replay_spec(kThree, minutes(1));
  spec.replay->multiply = 3;
  const std::vector<Arrival> a = all(spec);
  ASSERT_EQ(a.size(), 9U);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].at, a[i / 3 * 3].at) << i;
    EXPECT_EQ(a[i].prompt_tokens, kThree[i / 3].prompt_tokens) << i;
    EXPECT_EQ(a[i].number, i);
  }
  EXPECT_EQ(all(spec, 2).size(), 9U);
  EXPECT_EQ(all(spec, 2)[4].at, a[4].at);  // exact copies do not depend on the seed
  EXPECT_EQ(replay_arrivals(spec), 9U);
}

TEST(Replay, MultiplyWithJitterSpreadsCopiesByTheSeedInTimeOrder) {
  TrafficSpec spec = replay_spec(kThree, minutes(1));
  spec.replay->multiply = 4;
  spec.replay->jitter = sec(5);  // copies of the request at 0 s overlap the one at 4 s
  const std::vector<Arrival> a = all(spec, 7);
  ASSERT_EQ(a.size(), 12U);
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_LE(a[i - 1].at, a[i].at) << i;
  std::vector<int> per_request(3, 0);
  for (const Arrival& x : a) {
    const std::size_t r = x.prompt_tokens == 10 ? 0 : x.prompt_tokens == 11 ? 1 : 2;
    ++per_request[r];
    EXPECT_GE(x.at, kTimeZero + sec(10) + kThree[r].at);
    EXPECT_LT(x.at, kTimeZero + sec(15) + kThree[r].at);
  }
  EXPECT_EQ(per_request, (std::vector<int>{4, 4, 4}));
  const std::vector<Arrival> again = all(spec, 7);
  const std::vector<Arrival> other = all(spec, 8);
  bool moved = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(again[i].at, a[i].at);
    moved = moved || other[i].at != a[i].at;
  }
  EXPECT_TRUE(moved) << "another seed must jitter the copies elsewhere";
}

TEST(Replay, LoopRepeatsTheLogEveryPeriodUntilTheWindowEnds) {
  TrafficSpec spec = replay_spec(kThree, sec(20));
  spec.replay->loop = true;
  spec.replay->period = sec(8);
  const std::vector<Arrival> a = all(spec);
  // Passes at 0, 8, 16 s: 0 4 6 | 8 12 14 | 16 (20 is the end).
  ASSERT_EQ(a.size(), 7U);
  EXPECT_EQ(a[3].at, kTimeZero + sec(18));
  EXPECT_EQ(a[6].at, kTimeZero + sec(26));
  EXPECT_EQ(a[6].class_index, 0U);
  EXPECT_EQ(replay_arrivals(spec), 7U);
}

// ---- through the scenario loader ---------------------------------------------------

class ReplayLoad : public ::testing::Test {
 protected:
  static std::string name_of_test() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = c == '/' ? '-' : c;
    return name;
  }
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("replay-" + name_of_test());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  [[nodiscard]] std::string scenario_path() const { return (dir_ / "s.toml").string(); }

  // A scenario whose [traffic] is `traffic` (line 5 onwards).
  static std::string scenario(const std::string& traffic) {
    return "[scenario]\ntitle = \"replay\"\nduration = \"10m\"\nseeds = [1]\n" + traffic +
           "\n[[providers]]\nname = \"p\"\n[[providers.models]]\nid = \"m\"\n[providers.sim]\n"
           "latency = { p50 = \"100ms\", p99 = \"1s\" }\n"
           "[[routes]]\nname = \"main\"\ntargets = [{ provider = \"p\", model = \"m\" }]\n"
           "[[tiers]]\nname = \"cheap\"\nroute = \"main\"\n";
  }
  Result<Scenario> load(const std::string& traffic) const {
    return load_scenario_string(scenario(traffic), scenario_path());
  }

  std::filesystem::path dir_;
};

const std::string kCsv =
    "timestamp,route,prompt_tokens,output_tokens,stream\n"
    "100,main,10,,false\n"
    "160,cheap,20,40,true\n"
    "130,main,0,30,false\n"
    "190,m,5,50,true\n";

TEST_F(ReplayLoad, BuildsAClassPerRouteAndStreamAndFillsUnknownOutputs) {
  write("log.csv", kCsv);
  const Result<Scenario> s = load("[traffic]\nreplay = \"log.csv\"\nspeed = \"1/2\"\nmultiply = 2\n");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  ASSERT_TRUE(s->traffic.replay.has_value());
  const ReplaySpec& r = *s->traffic.replay;
  EXPECT_EQ(r.speed, (Ratio{1, 2}));
  EXPECT_EQ(r.multiply, 2);
  ASSERT_EQ(r.requests->size(), 4U);
  ASSERT_EQ(s->traffic.classes.size(), 3U);
  EXPECT_EQ(s->traffic.classes[0].name, "replay:main");
  EXPECT_EQ(s->traffic.classes[1].name, "replay:tier:cheap:stream");
  EXPECT_EQ(s->traffic.classes[2].name, "replay:main:stream");  // the model id m is on route main
  EXPECT_EQ((*r.requests)[1].at, sec(30));
  EXPECT_EQ((*r.requests)[1].prompt_tokens, 1);   // 0 is the simulator's minimum, 1
  EXPECT_EQ((*r.requests)[0].output_tokens, 40);  // unknown: the median of 30, 40, 50
  EXPECT_EQ((*r.requests)[3].at, sec(90));
  EXPECT_EQ(s->traffic.end, kTimeZero + minutes(10));
}

TEST_F(ReplayLoad, SpeedIsAMultipleAPercentageOrAFraction) {
  write("log.csv", kCsv);
  const auto speed = [&](const std::string& written) {
    const Result<Scenario> s = load("[traffic]\nreplay = \"log.csv\"\nspeed = " + written + "\n");
    EXPECT_TRUE(s.has_value()) << written << ": " << s.error().message();
    return s.has_value() ? s->traffic.replay->speed : Ratio{};
  };
  EXPECT_EQ(speed("2"), (Ratio{2'000'000, 1'000'000}));
  EXPECT_EQ(speed("0.25"), (Ratio{250'000, 1'000'000}));
  EXPECT_EQ(speed("\"250%\""), (Ratio{250, 100}));
  EXPECT_EQ(speed("\"1/60\""), (Ratio{1, 60}));
  const Result<Scenario> tiny = load("[traffic]\nreplay = \"log.csv\"\nspeed = 0.0000001\n");
  ASSERT_FALSE(tiny.has_value());
  EXPECT_NE(tiny.error().what.find("at most 6 decimals"), std::string::npos) << tiny.error().what;
}

TEST_F(ReplayLoad, ReplayedRunsAreDeterministicAndCountEveryArrival) {
  write("log.csv", kCsv);
  const Result<Scenario> s =
      load("[traffic]\nreplay = \"log.csv\"\nmultiply = 5\njitter = \"2s\"\nloop = true\narrivals_until = \"5m\"\n");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->traffic.replay->period, sec(120));  // 90 s span + a mean gap of 30 s
  const RunSpec spec = s->run_spec(s->policies.front(), 1);
  const RunResult a = run_simulation(spec);
  const RunResult b = run_simulation(spec);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_TRUE(a.conserved);
  // Passes at 0, 2, 4 min: 4 + 4 + 2 requests (the last pass's 60 s and 90 s fall at or after 5 min), x 5.
  EXPECT_EQ(a.arrived, 50);
  EXPECT_EQ(replay_arrivals(s->traffic), 50U);
  const RunResult other = run_simulation(s->run_spec(s->policies.front(), 2));
  EXPECT_NE(other.digest, a.digest);  // the jitter follows the seed
}

struct LoadError {
  const char* name;
  std::string log;
  std::string traffic;
  std::string where;  // "LOG:line" (the log) or ":line:col" (after the scenario's path)
  const char* what;
};

class ReplayLoadError : public ReplayLoad, public ::testing::WithParamInterface<LoadError> {};

TEST_P(ReplayLoadError, NamesTheFileAndLine) {
  write("log.csv", GetParam().log);
  const Result<Scenario> s = load(GetParam().traffic);
  ASSERT_FALSE(s.has_value());
  const std::string& w = GetParam().where;
  const std::string where = w.rfind("LOG", 0) == 0    ? (dir_ / "log.csv").string() + w.substr(3)
                            : w.rfind("DIR/", 0) == 0 ? (dir_ / w.substr(4)).string()
                                                      : scenario_path() + w;
  EXPECT_EQ(s.error().where, where);
  EXPECT_NE(s.error().what.find(GetParam().what), std::string::npos) << s.error().what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReplayLoadError,
    ::testing::Values(LoadError{"BadLogLine", kCsv + "200,main,many,1,false\n", "[traffic]\nreplay = \"log.csv\"\n",
                                "LOG:6:10", "prompt_tokens: \"many\" is not a token count"},
                      LoadError{"UnknownRoute", kCsv + "200,nowhere,1,1,false\n", "[traffic]\nreplay = \"log.csv\"\n",
                                "LOG:6", "\"nowhere\" is neither a route, a tier nor a model"},
                      LoadError{"MappedRoute", kCsv + "200,nowhere,1,1,false\n",
                                "[traffic]\nreplay = \"log.csv\"\nroutes = { \"*\" = \"elsewhere\" }\n", ":7:18",
                                "names \"elsewhere\", which is neither a route nor a tier"},
                      LoadError{"MissingFile", kCsv, "[traffic]\nreplay = \"none.csv\"\n", "DIR/none.csv",
                                "cannot open the traffic log"},
                      LoadError{"RateWithReplay", kCsv, "[traffic]\nreplay = \"log.csv\"\nrate_rpm = 60\n", ":7:1",
                                "traffic.rate_rpm: unknown key; traffic takes: replay, speed"},
                      LoadError{"JitterWithoutCopies", kCsv, "[traffic]\nreplay = \"log.csv\"\njitter = \"1s\"\n",
                                ":7:10", "traffic.jitter: spreads the copies of multiply > 1"},
                      LoadError{"BadSpeed", kCsv, "[traffic]\nreplay = \"log.csv\"\nspeed = \"1/0\"\n", ":7:9",
                                "is not a fraction of whole numbers"},
                      LoadError{"ShortLoop", kCsv, "[traffic]\nreplay = \"log.csv\"\nloop = \"1m\"\n", ":7:8",
                                "traffic.loop: must be longer than the log, which spans 1m30s"}),
    [](const ::testing::TestParamInfo<LoadError>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace failover::sim
