// The scenario loader (schema: docs/scenarios.md). The shared config schema is read by
// core/config/load.h's config_from_table(), and --set overrides are applied by
// core/config/policy_override.h; this file reads the simulator's tables with the one
// TOML reader (core/config/toml_reader.h), so that each error names file:line:col and
// the key path. toml++ may throw; every call into it that can is wrapped at the entry
// points, so no exception leaves the loader.
#include "sim/scenario_load.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "core/config/load.h"
#include "core/config/policy_override.h"
#include "core/config/toml_reader.h"
#include "core/config/toml_values.h"
#include "core/engine/assert.h"
#include "sim/expect.h"
#include "sim/scenario_config.h"
#include "sim/traffic_log.h"

namespace failover::sim {
namespace {

using config::duration_text;
using config::element;
using config::join;
using config::parse_duration;
using config::RatioRule;
using config::Reader;

constexpr std::int64_t kShareDen = 1'000'000;  // every ratio the loader reads divides this
// Every ratio as written (at most 6 decimals, so that it divides kShareDen) and never
// below 0; a share, an intensity or a chance at most 100%, a cost_ratio bound above too.
constexpr RatioRule kRatioExact{.non_negative = true, .at_most_one = true, .exact = true};
constexpr RatioRule kRatioExactUncapped{.non_negative = true, .at_most_one = false, .exact = true};
constexpr Duration kScenarioDurationMax = kScheduleDurationMax;  // 30 days
constexpr Duration kDay = minutes(24 * 60);
constexpr std::int64_t kBufferCapacityMax = 1'000'000'000;
constexpr std::size_t kNameLengthMax = 256;
constexpr double kUsdMax = 1e12;

const std::vector<std::string> kSimTopLevel = {"scenario",  "traffic", "buffer", "faults",
                                               "baselines", "expect",  "explore"};

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// ---- the scenario tables ---------------------------------------------------------

// Reads the simulator's tables of one scenario file. The config part comes from
// config_from_table(); `reparse` yields a fresh tree of the same text, so that a
// custom baseline's policy can be merged in with toml++'s source positions intact
// (copying a toml++ node loses them; moving keeps them).
class ScenarioLoader {
 public:
  ScenarioLoader(std::string source, std::function<Result<toml::table>()> reparse)
      : r_(std::move(source)), reparse_(std::move(reparse)) {}

  Result<Scenario> load(const toml::table& root);

 private:
  // A non-empty string of at most kNameLengthMax characters.
  std::optional<std::string> read_name(const toml::table& t, std::string_view key, const std::string& path);
  void read_scenario(const toml::table& root);
  std::optional<Time> time_of(const toml::node& n, const std::string& path);
  std::optional<Time> point_at(const toml::table& t, std::string_view key, const std::string& path);
  void read_seeds(const toml::table& t);
  void read_traffic(const toml::table& root);
  void read_replay(const toml::table& t);
  std::optional<Ratio> replay_speed(const toml::table& t);
  void replay_requests(const toml::table& t, const std::string& file, const TrafficLog& log, ReplaySpec& spec);
  std::optional<std::pair<Index, Index>> replay_route(const toml::table& t, const LogRequest& q);
  void replay_loop(const toml::table& t, ReplaySpec& spec);
  void read_schedule(const toml::table& t);
  void read_classes(const toml::array& classes);
  void read_class(const toml::table& t, const std::string& path, TrafficClass& c, std::optional<Ratio>& share);
  std::optional<TokenDist> tokens(const toml::table& t, std::string_view key, const std::string& path);
  void read_buffer(const toml::table& root);
  void read_provider_sims(const toml::table& root);
  void read_provider_sim(const toml::table& t, const std::string& path, ProviderSpec& spec);
  std::optional<LatencyDist> latency(const toml::table& t, std::string_view key, const std::string& path);
  void read_faults(const toml::table& root);
  std::optional<Fault> read_fault(const toml::table& t, const std::string& path, Index& provider);
  bool read_fault_window(const toml::table& t, const std::string& path, Fault& f);
  bool read_fault_kind_keys(const toml::table& t, const std::string& path, Fault& f, Index provider);
  void resolve_overflow_from();
  void read_baselines(const toml::table& root);
  void add_custom_baseline(const toml::table& t, const std::string& path, std::size_t i);
  void read_expectations(const toml::table& root);
  void read_explore(const toml::table& root);
  void read_explore_faults(const toml::table& t);
  void read_explore_ranges(const toml::table& t);
  bool explore_pair(const toml::table& t, std::string_view key, std::vector<const toml::node*>& out);
  void explore_multiplier(const toml::table& t, std::string_view key, std::int64_t& lo, std::int64_t& hi,
                          std::int64_t max_permille);
  void read_expectation(const toml::table& t, const std::string& path);
  std::optional<double> expect_value(const toml::node& n, Metric m, const std::string& path);
  bool check_expectation_fits(const toml::table& t, const std::string& path, const Expectation& e);

  Reader r_;
  std::function<Result<toml::table>()> reparse_;
  Scenario s_;
  Config policy_;
  std::optional<toml::time> clock_start_;
  const toml::node* overflow_from_ = nullptr;
  std::vector<std::string> fault_names_;
  std::vector<Time> fault_starts_;
};

Result<Scenario> ScenarioLoader::load(const toml::table& root) {
  // The config schema's keys and kSimTopLevel.
  if (!r_.only_keys(root, "",
                    {"providers", "routes", "tiers", "policy", "scenario", "traffic", "buffer", "faults", "baselines",
                     "expect", "explore"})) {
    return r_.error();
  }
  Result<Config> config = config_from_table(root, r_.source(), LoadOptions{kSimTopLevel, true});
  if (!config) return config.error();
  policy_ = std::move(*config);
  read_scenario(root);
  read_traffic(root);
  read_buffer(root);
  read_provider_sims(root);
  read_faults(root);
  resolve_overflow_from();
  read_baselines(root);
  read_expectations(root);
  read_explore(root);
  if (r_.failed()) return r_.error();
  return std::move(s_);
}

std::optional<std::string> ScenarioLoader::read_name(const toml::table& t, std::string_view key,
                                                     const std::string& path) {
  std::optional<std::string> s = r_.text(t, key, path);
  if (s && (s->empty() || s->size() > kNameLengthMax)) {
    r_.fail(*t.get(key), join(path, key),
            "must be a non-empty name of at most " + std::to_string(kNameLengthMax) + " characters");
    return std::nullopt;
  }
  return s;
}

void ScenarioLoader::read_scenario(const toml::table& root) {
  if (!r_.require(root, "scenario", "")) return;
  const toml::table* t = r_.table(root, "scenario", "");
  const std::string path = "scenario";
  if (t == nullptr || !r_.only_keys(*t, path,
                                    {"title", "description", "source", "config", "duration", "seeds", "overflow_from",
                                     "clock_start", "bucket", "budget_usd"}))
    return;
  if (r_.require(*t, "title", path)) s_.title = r_.text(*t, "title", path).value_or("");
  s_.description = r_.text(*t, "description", path).value_or("");
  s_.source = r_.text(*t, "source", path).value_or("");
  if (const std::optional<std::string> config = r_.text(*t, "config", path)) {
    s_.config_path = live_config_path(r_.source(), *config);  // merged in by with_live_config
  }
  if (const toml::node* c = r_.get(*t, "clock_start")) {
    if (c->as_time() == nullptr)
      r_.expected(*c, "scenario.clock_start", "a time of day such as 11:00:00");
    else
      clock_start_ = c->as_time()->get();
  }
  if (!r_.require(*t, "duration", path)) return;
  const std::optional<Duration> duration = r_.duration(*t, "duration", path);
  if (duration && (*duration <= Duration{0} || *duration > kScenarioDurationMax)) {
    r_.fail(*t->get("duration"), "scenario.duration",
            "must be positive and at most 30 days but is " + duration_text(*duration));
  }
  s_.duration = duration.value_or(Duration{0});
  if (const std::optional<Duration> b = r_.duration(*t, "bucket", path)) {
    if (*b < sec(1) || *b > s_.duration)
      r_.fail(*t->get("bucket"), "scenario.bucket",
              "must be at least 1s and at most the duration but is " + duration_text(*b));
    s_.bucket = *b;
  }
  if (const toml::node* budget = r_.get(*t, "budget_usd")) {
    const std::optional<double> usd = r_.number_of(*budget, "scenario.budget_usd");
    if (usd && (*usd <= 0.0 || *usd > kUsdMax)) r_.fail(*budget, "scenario.budget_usd", "must be positive (USD)");
    s_.cost_budget_micro_usd = static_cast<std::int64_t>(std::llround(usd.value_or(0.0) * 1e6));
  }
  overflow_from_ = r_.get(*t, "overflow_from");
  read_seeds(*t);
}

void ScenarioLoader::read_seeds(const toml::table& t) {
  if (!r_.require(t, "seeds", "scenario")) return;
  const toml::array* seeds = r_.array(t, "seeds", "scenario");
  if (seeds == nullptr) return;
  if (seeds->empty() || seeds->size() > kSeedsMax) {
    r_.fail(*t.get("seeds"), "scenario.seeds", "must list 1 to " + std::to_string(kSeedsMax) + " seeds");
    return;
  }
  for (std::size_t i = 0; i < seeds->size() && !r_.failed(); ++i) {
    const std::string path = element("scenario.seeds", i);
    const std::optional<std::int64_t> seed =
        r_.integer_of(*seeds->get(i), path, 0, std::numeric_limits<std::int64_t>::max());
    if (!seed) return;
    const auto value = static_cast<std::uint64_t>(*seed);
    if (std::find(s_.seeds.begin(), s_.seeds.end(), value) != s_.seeds.end()) {
      r_.fail(*seeds->get(i), path, "repeats seed " + std::to_string(value));
      return;
    }
    s_.seeds.push_back(value);
  }
}

// A point in the scenario: a duration string from its start ("23m"), or a TOML time
// of day (11:23:00) relative to scenario.clock_start, the next day if earlier.
std::optional<Time> ScenarioLoader::time_of(const toml::node& n, const std::string& path) {
  if (const auto* t = n.as_time()) {
    if (!clock_start_) {
      r_.fail(n, path, "is a time of day, which needs scenario.clock_start (the clock time the scenario starts at)");
      return std::nullopt;
    }
    const auto seconds = [](const toml::time& x) {
      return std::int64_t{x.hour} * 3'600 + std::int64_t{x.minute} * 60 + x.second;
    };
    const std::int64_t us = (seconds(t->get()) - seconds(*clock_start_)) * 1'000'000 +
                            (std::int64_t{t->get().nanosecond} - clock_start_->nanosecond) / 1'000;
    return kTimeZero + (us < 0 ? Duration{us} + kDay : Duration{us});
  }
  if (n.as_string() == nullptr) {
    r_.expected(n, path, "a duration from the start such as \"23m\" or a time of day such as 11:23:00");
    return std::nullopt;
  }
  const std::optional<Duration> d = r_.duration_of(n, path);
  if (!d) return std::nullopt;
  return kTimeZero + *d;
}

std::optional<Time> ScenarioLoader::point_at(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = r_.get(t, key);
  return n == nullptr ? std::nullopt : time_of(*n, join(path, key));
}

constexpr std::array<std::pair<std::string_view, ArrivalProcess>, 2> kProcesses{
    {{"poisson", ArrivalProcess::poisson}, {"constant", ArrivalProcess::constant}}};
constexpr std::array<std::pair<std::string_view, ScheduleKind>, 4> kSchedules{{{"steady", ScheduleKind::steady},
                                                                               {"ramp", ScheduleKind::ramp},
                                                                               {"spike", ScheduleKind::spike},
                                                                               {"diurnal", ScheduleKind::diurnal}}};
constexpr std::array<std::pair<std::string_view, BufferMode>, 2> kBufferModes{
    {{"fail", BufferMode::fail}, {"requeue", BufferMode::requeue}}};

void ScenarioLoader::read_traffic(const toml::table& root) {
  if (r_.failed() || !r_.require(root, "traffic", "")) return;
  const toml::table* t = r_.table(root, "traffic", "");
  const std::string path = "traffic";
  const bool replay = t != nullptr && t->contains("replay");
  if (t == nullptr ||
      !(replay ? r_.only_keys(
                     *t, path,
                     {"replay", "speed", "multiply", "jitter", "loop", "routes", "arrivals_from", "arrivals_until"})
               : r_.only_keys(*t, path,
                              {"rate_rpm", "process", "schedule", "to_rpm", "peak_rpm", "amplitude_rpm", "start",
                               "over", "duration", "period", "phase", "arrivals_from", "arrivals_until", "classes"})))
    return;
  if (!replay) {
    s_.traffic.process = r_.choice(*t, "process", path, kProcesses).value_or(ArrivalProcess::poisson);
    read_schedule(*t);
  }
  s_.traffic.start = point_at(*t, "arrivals_from", path).value_or(kTimeZero);
  s_.traffic.end = point_at(*t, "arrivals_until", path).value_or(kTimeZero + s_.duration);
  if (!r_.failed() && (s_.traffic.start >= s_.traffic.end || s_.traffic.end > kTimeZero + s_.duration)) {
    const toml::node* at = t->contains("arrivals_until") ? t->get("arrivals_until") : t->get("arrivals_from");
    r_.fail(
        *at, t->contains("arrivals_until") ? "traffic.arrivals_until" : "traffic.arrivals_from",
        "arrivals must start before they stop, within the scenario's duration (" + duration_text(s_.duration) + ")");
  }
  if (replay) {
    read_replay(*t);
    return;
  }
  if (!r_.require(*t, "classes", path)) return;
  if (const toml::array* classes = r_.tables(*t, "classes", path)) read_classes(*classes);
}

// ---- [traffic] replay ------------------------------------------------------------

constexpr std::int64_t kSpeedMax = 1'000'000;
// A replayed request whose log does not say how long its answer was (it failed) gets
// the median of the answers the log does know, or this when it knows none.
constexpr std::int64_t kReplayOutputTokensDefault = 256;

// The arrivals and token counts of a traffic log (sim/traffic_log.h): read here, by the
// loader, so that the simulator never opens a file. Each (route or tier, stream) pair
// of the log becomes one traffic class.
void ScenarioLoader::read_replay(const toml::table& t) {
  const std::string path = "traffic";
  const std::optional<std::string> written = r_.text(t, "replay", path);
  if (!written) return;
  if (written->empty()) {
    r_.fail(*t.get("replay"), "traffic.replay", "must name a traffic log file (docs/traffic-log.md)");
    return;
  }
  ReplaySpec spec;
  spec.speed = replay_speed(t).value_or(kRatioOne);
  spec.multiply = r_.integer(t, "multiply", path, 1, kReplayMultiplyMax).value_or(1);
  if (const std::optional<Duration> jitter = r_.duration(t, "jitter", path)) {
    if (*jitter > kReplayJitterMax) {
      r_.fail(*t.get("jitter"), "traffic.jitter", "must be at most " + duration_text(kReplayJitterMax));
    } else if (spec.multiply == 1 && *jitter > Duration{0}) {
      r_.fail(*t.get("jitter"), "traffic.jitter", "spreads the copies of multiply > 1, and multiply is 1");
    }
    spec.jitter = *jitter;
  }
  if (r_.failed()) return;
  const std::string file = live_config_path(r_.source(), *written);  // relative to this file's folder
  Result<TrafficLog> log = read_traffic_log_file(file);
  if (!log) {
    r_.set(Error{log.error().where, log.error().what + " (the traffic log of traffic.replay, " +
                                        config::where(r_.source(), t.get("replay")->source()) + ")"});
    return;
  }
  replay_requests(t, file, *log, spec);
  replay_loop(t, spec);
  if (!r_.failed()) s_.traffic.replay = std::move(spec);
}

// A number (2, 0.5, "50%") or a fraction "1/60": how much faster than recorded.
std::optional<Ratio> ScenarioLoader::replay_speed(const toml::table& t) {
  const toml::node* n = r_.get(t, "speed");
  if (n == nullptr) return std::nullopt;
  std::optional<Ratio> speed;
  const std::string_view fraction = n->as_string() != nullptr ? std::string_view(n->as_string()->get()) : "";
  if (const std::size_t slash = fraction.find('/'); slash != std::string_view::npos) {
    const auto whole = [](std::string_view d) -> std::optional<std::int64_t> {
      if (d.empty() || d.size() > 7 || d.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
      return std::stoll(std::string(d));
    };
    const std::optional<std::int64_t> num = whole(fraction.substr(0, slash));
    const std::optional<std::int64_t> den = whole(fraction.substr(slash + 1));
    if (num && den && *den > 0) speed = Ratio{*num, *den};
    if (!speed) {
      r_.fail(*n, "traffic.speed", quoted(fraction) + " is not a fraction of whole numbers such as \"1/60\"");
      return std::nullopt;
    }
  } else if (n->as_string() != nullptr) {  // "200%"
    speed = r_.ratio_of(*n, "traffic.speed", kRatioExactUncapped);
    if (!speed) return std::nullopt;
  } else {  // 2, 0.5: a multiple, not a share, so not the reader's ratio rule
    const std::optional<double> x = r_.number_of(*n, "traffic.speed");
    if (!x) return std::nullopt;
    const double micros = *x * static_cast<double>(kShareDen);
    if (!(micros >= 0.0 && micros <= 1e12) || std::abs(micros - std::round(micros)) > 1e-6) {
      r_.fail(*n, "traffic.speed", "must have at most 6 decimals and be between 1/1000000 and 1000000");
      return std::nullopt;
    }
    speed = Ratio{std::llround(micros), kShareDen};
  }
  if (speed->num * kSpeedMax < speed->den || speed->num > kSpeedMax * speed->den) {
    r_.fail(*n, "traffic.speed", "must be between 1/1000000 and 1000000");
    return std::nullopt;
  }
  return speed;
}

// The route (or tier) a log line's name stands for: [traffic] routes first, then a
// route, a tier, a route listing that model id (the gateway's rule), then routes."*".
std::optional<std::pair<Index, Index>> ScenarioLoader::replay_route(const toml::table& t, const LogRequest& q) {
  const toml::table* map = t.get("routes") != nullptr ? t.get("routes")->as_table() : nullptr;
  const auto named = [&](std::string_view name) -> std::optional<std::pair<Index, Index>> {
    if (const std::optional<Index> r = policy_.route_index(name)) return std::pair{*r, kNoIndex};
    if (const std::optional<Index> tier = policy_.tier_index(name)) return std::pair{kNoIndex, *tier};
    return std::nullopt;
  };
  if (map != nullptr) {
    if (const toml::node* n = map->get(q.route); n != nullptr && n->as_string() != nullptr) {
      return named(n->as_string()->get());
    }
  }
  if (auto found = named(q.route)) return found;
  for (std::size_t r = 0; r < policy_.routes.size(); ++r) {
    for (const RouteTarget& rt : policy_.routes[r].targets) {
      if (policy_.model(rt.target).id == q.route) return std::pair{static_cast<Index>(r), kNoIndex};
    }
  }
  if (map != nullptr) {
    if (const toml::node* n = map->get("*"); n != nullptr && n->as_string() != nullptr)
      return named(n->as_string()->get());
  }
  return std::nullopt;
}

void ScenarioLoader::replay_requests(const toml::table& t, const std::string& file, const TrafficLog& log,
                                     ReplaySpec& spec) {
  const auto log_where = [&](const LogRequest& q) { return file + ":" + std::to_string(q.line); };
  if (const toml::table* map = r_.table(t, "routes", "traffic")) {
    for (const auto& [k, v] : *map) {
      const std::string key_path = join("traffic.routes", k.str());
      const std::optional<std::string> to = r_.text_of(v, key_path);
      if (!to) return;
      if (!policy_.route_index(*to) && !policy_.tier_index(*to)) {
        r_.fail(v, key_path, "names " + quoted(*to) + ", which is neither a route nor a tier");
        return;
      }
    }
  }
  std::vector<std::int64_t> known;
  for (const LogRequest& q : log.requests) {
    if (q.output_tokens) known.push_back(*q.output_tokens);
  }
  std::int64_t output_default = kReplayOutputTokensDefault;
  if (!known.empty()) {
    std::nth_element(known.begin(), known.begin() + static_cast<std::ptrdiff_t>((known.size() - 1) / 2), known.end());
    output_default = known[(known.size() - 1) / 2];
  }
  const auto clamp = [](std::int64_t tokens) { return std::clamp(tokens, kTokensMin, kTokensMax); };
  const std::string replay_at = config::where(r_.source(), t.get("replay")->source());
  auto requests = std::make_shared<std::vector<ReplayRequest>>();
  requests->reserve(log.requests.size());
  const std::int64_t origin = log.requests.front().arrived_us;
  for (const LogRequest& q : log.requests) {
    const std::optional<std::pair<Index, Index>> route = replay_route(t, q);
    if (!route) {
      std::string known_routes;
      for (const RouteConfig& rc : policy_.routes) known_routes += (known_routes.empty() ? "" : ", ") + rc.name;
      r_.set(Error{log_where(q), quoted(q.route) +
                                     " is neither a route, a tier nor a "
                                     "model of the scenario (routes: " +
                                     known_routes + "); map it with [traffic] routes = { " + quoted(q.route) +
                                     " = \"ROUTE\" } or \"*\" (the traffic log of traffic.replay, " + replay_at + ")"});
      return;
    }
    const auto same = [&](const TrafficClass& c) {
      return c.route == route->first && c.tier == route->second && c.stream == q.stream;
    };
    auto it = std::find_if(s_.traffic.classes.begin(), s_.traffic.classes.end(), same);
    if (it == s_.traffic.classes.end()) {
      if (s_.traffic.classes.size() == kTrafficClassesMax) {
        r_.set(Error{log_where(q), "more than " + std::to_string(kTrafficClassesMax) +
                                       " (route, stream) pairs: the simulator keeps one traffic class each"});
        return;
      }
      TrafficClass c;
      c.route = route->first;
      c.tier = route->second;
      c.stream = q.stream;
      c.name = "replay:" + (c.tier != kNoIndex ? "tier:" + policy_.tiers[c.tier].name : policy_.routes[c.route].name) +
               (c.stream ? ":stream" : "");
      c.prompt_tokens = TokenDist::constant(clamp(q.prompt_tokens));
      c.output_tokens = TokenDist::constant(clamp(q.output_tokens.value_or(output_default)));
      s_.traffic.classes.push_back(std::move(c));
      it = s_.traffic.classes.end() - 1;
    }
    requests->push_back({us(q.arrived_us - origin), static_cast<Index>(it - s_.traffic.classes.begin()),
                         clamp(q.prompt_tokens), clamp(q.output_tokens.value_or(output_default))});
  }
  spec.requests = std::move(requests);
}

// loop = true: the next pass starts one mean gap after the last request (the log's
// span x n / (n - 1)); loop = "24h": every 24 h of log time, which must exceed the span.
void ScenarioLoader::replay_loop(const toml::table& t, ReplaySpec& spec) {
  const toml::node* n = r_.get(t, "loop");
  if (n == nullptr || spec.requests == nullptr) return;
  const Duration span = spec.requests->back().at;
  if (n->as_boolean() != nullptr) {
    spec.loop = n->as_boolean()->get();
    const auto count = static_cast<std::int64_t>(spec.requests->size());
    spec.period = count < 2 ? sec(1) : std::max(us(1), span + span / (count - 1));
    return;
  }
  const std::optional<Duration> period = r_.duration_of(*n, "traffic.loop");
  if (!period) return;
  if (*period <= span) {
    r_.fail(*n, "traffic.loop", "must be longer than the log, which spans " + duration_text(span));
    return;
  }
  spec.loop = true;
  spec.period = *period;
}

// The rate schedule: rate_rpm and the keys of the chosen schedule, and no other's.
void ScenarioLoader::read_schedule(const toml::table& t) {
  const std::string path = "traffic";
  const ScheduleKind kind = r_.choice(t, "schedule", path, kSchedules).value_or(ScheduleKind::steady);
  const std::pair<std::string_view, std::uint32_t> owners[] = {
      {"to_rpm", 1U << 1U},   {"over", 1U << 1U},     {"start", (1U << 1U) | (1U << 2U)},
      {"peak_rpm", 1U << 2U}, {"duration", 1U << 2U}, {"amplitude_rpm", 1U << 3U},
      {"period", 1U << 3U},   {"phase", 1U << 3U}};
  static_assert(static_cast<int>(ScheduleKind::diurnal) == 3);
  for (const auto& [key, mask] : owners) {
    if (r_.failed() || !t.contains(key) || (mask & (1U << static_cast<std::uint32_t>(kind))) != 0) continue;
    std::string owners_text;
    for (const auto& [name, k] : kSchedules) {
      if ((mask & (1U << static_cast<std::uint32_t>(k))) != 0)
        owners_text += (owners_text.empty() ? "" : " or ") + quoted(name);
    }
    r_.fail(*t.get(key), join(path, key), "applies only to schedule = " + owners_text);
  }
  if (!r_.require(t, "rate_rpm", path)) return;
  const std::int64_t rate = r_.integer(t, "rate_rpm", path, 0, kRateRpmMax).value_or(0);
  const auto span = [&](std::string_view key, Duration fallback) {
    const std::optional<Duration> d = r_.duration(t, key, path);
    if (d && (*d <= Duration{0} || *d > kScheduleDurationMax))
      r_.fail(*t.get(key), join(path, key), "must be positive and at most 30 days");
    return r_.failed() ? fallback : d.value_or(fallback);
  };
  const auto need = [&](std::initializer_list<std::string_view> keys) {
    for (const std::string_view k : keys) r_.require(t, k, path);
    return !r_.failed();
  };
  if (kind == ScheduleKind::steady) s_.traffic.rate = RateSchedule::steady(rate);
  if (kind == ScheduleKind::ramp && need({"to_rpm", "over"})) {
    const std::int64_t to = r_.integer(t, "to_rpm", path, 0, kRateRpmMax).value_or(0);
    s_.traffic.rate =
        RateSchedule::ramp(rate, to, point_at(t, "start", path).value_or(kTimeZero), span("over", sec(1)));
  }
  if (kind == ScheduleKind::spike && need({"peak_rpm", "start", "duration"})) {
    const std::int64_t peak = r_.integer(t, "peak_rpm", path, 0, kRateRpmMax).value_or(0);
    s_.traffic.rate =
        RateSchedule::spike(rate, peak, point_at(t, "start", path).value_or(kTimeZero), span("duration", sec(1)));
  }
  if (kind == ScheduleKind::diurnal && need({"amplitude_rpm"})) {
    const std::int64_t amplitude = r_.integer(t, "amplitude_rpm", path, 0, rate).value_or(0);
    const std::optional<Duration> phase = r_.duration(t, "phase", path);
    s_.traffic.rate = RateSchedule::diurnal(rate, amplitude, span("period", kDay), phase.value_or(Duration{0}));
  }
  if (!r_.failed() && s_.traffic.rate.rate_mrpm_max() == 0) {
    r_.fail(*t.get("rate_rpm"), "traffic.rate_rpm", "the schedule never has a positive rate: no request would arrive");
  }
}

void ScenarioLoader::read_classes(const toml::array& classes) {
  const std::string path = "traffic.classes";
  if (classes.empty() || classes.size() > kTrafficClassesMax) {
    r_.fail(classes, path, "must list 1 to " + std::to_string(kTrafficClassesMax) + " classes");
    return;
  }
  std::vector<std::optional<Ratio>> shares;
  for (std::size_t i = 0; i < classes.size() && !r_.failed(); ++i) {
    const toml::table* t = r_.table_at(classes, i, path);
    if (t == nullptr) return;
    TrafficClass c;
    read_class(*t, element(path, i), c, shares.emplace_back());
    for (const TrafficClass& other : s_.traffic.classes) {
      if (!r_.failed() && other.name == c.name)
        r_.fail(*t->get("name"), element(path, i) + ".name", "repeats the class name " + quoted(c.name));
    }
    s_.traffic.classes.push_back(std::move(c));
  }
  const auto with_share = static_cast<std::size_t>(
      std::count_if(shares.begin(), shares.end(), [](const auto& s) { return s.has_value(); }));
  if (r_.failed() || with_share == 0) return;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (!shares[i]) {
      r_.fail(*classes.get(i), element(path, i),
              "has no share while other classes do: give every class a share, or every class a weight");
      return;
    }
    FAILOVER_ASSERT(kShareDen % shares[i]->den == 0);
    s_.traffic.classes[i].weight = shares[i]->num * (kShareDen / shares[i]->den);
    total += s_.traffic.classes[i].weight;
  }
  if (total != kShareDen) {
    std::string fraction = std::to_string(total % 10'000 + 10'000).substr(1);  // 4 digits
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    const std::string percent = std::to_string(total / 10'000) + (fraction.empty() ? "" : "." + fraction);
    r_.fail(classes, path, "shares add up to " + percent + "% instead of 100%");
  }
}

void ScenarioLoader::read_class(const toml::table& t, const std::string& path, TrafficClass& c,
                                std::optional<Ratio>& share) {
  if (!r_.only_keys(t, path, {"name", "weight", "share", "tier", "route", "prompt_tokens", "output_tokens", "stream"}))
    return;
  if (r_.require(t, "name", path)) c.name = read_name(t, "name", path).value_or("");
  if (t.contains("weight") && t.contains("share")) {
    r_.fail(*t.get("share"), path + ".share", "a class takes a weight or a share, not both");
    return;
  }
  c.weight = r_.integer(t, "weight", path, 1, std::int64_t{1} << 40).value_or(1);
  share = r_.ratio(t, "share", path, kRatioExact);
  if (share && share->num == 0) r_.fail(*t.get("share"), path + ".share", "must be above 0%");
  if (t.contains("tier") == t.contains("route")) {
    r_.fail(t, path, "needs exactly one of tier and route");
    return;
  }
  const std::string_view key = t.contains("tier") ? "tier" : "route";
  const std::optional<std::string> target = read_name(t, key, path);
  if (!target) return;
  const std::optional<Index> found = key == "tier" ? policy_.tier_index(*target) : policy_.route_index(*target);
  if (!found) {
    r_.fail(*t.get(key), join(path, key),
            "names a " + std::string(key) + " " + quoted(*target) + " that is not defined");
    return;
  }
  (key == "tier" ? c.tier : c.route) = *found;
  if (r_.require(t, "prompt_tokens", path)) c.prompt_tokens = tokens(t, "prompt_tokens", path).value_or(TokenDist{});
  if (r_.require(t, "output_tokens", path)) c.output_tokens = tokens(t, "output_tokens", path).value_or(TokenDist{});
  c.stream = r_.boolean(t, "stream", path).value_or(false);
}

// 500 | { p50 = 400, p99 = 3000 } (lognormal) | { lo = 100, hi = 900 } (uniform).
std::optional<TokenDist> ScenarioLoader::tokens(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = r_.get(t, key);
  const std::string full = join(path, key);
  if (n == nullptr) return std::nullopt;
  if (n->as_integer() != nullptr) {
    const std::optional<std::int64_t> v = r_.integer_of(*n, full, kTokensMin, kTokensMax);
    return v ? std::optional<TokenDist>(TokenDist::constant(*v)) : std::nullopt;
  }
  const toml::table* d = n->as_table();
  if (d == nullptr) {
    r_.expected(*n, full, "a token count or a table { p50, p99 } or { lo, hi }");
    return std::nullopt;
  }
  const bool lognormal = d->contains("p50") || d->contains("p99");
  if (!r_.only_keys(*d, full,
                    lognormal ? std::initializer_list<std::string_view>{"p50", "p99"}
                              : std::initializer_list<std::string_view>{"lo", "hi"}))
    return std::nullopt;
  const std::string_view a = lognormal ? "p50" : "lo";
  const std::string_view b = lognormal ? "p99" : "hi";
  if (!r_.require(*d, a, full) || !r_.require(*d, b, full)) return std::nullopt;
  const std::optional<std::int64_t> first = r_.integer(*d, a, full, kTokensMin, kTokensMax);
  const std::optional<std::int64_t> second = r_.integer(*d, b, full, kTokensMin, kTokensMax);
  if (!first || !second) return std::nullopt;
  if (*first > *second) {
    r_.fail(*d->get(b), join(full, b),
            std::string(b) + " (" + std::to_string(*second) + ") must not be below " + std::string(a) + " (" +
                std::to_string(*first) + ")");
    return std::nullopt;
  }
  return lognormal ? TokenDist::lognormal(*first, *second) : TokenDist::uniform(*first, *second);
}

void ScenarioLoader::read_buffer(const toml::table& root) {
  const toml::table* t = r_.table(root, "buffer", "");
  const std::string path = "buffer";
  if (t == nullptr || !r_.only_keys(*t, path, {"capacity", "mode", "redelivery_delay", "max_deliveries"})) return;
  if (r_.require(*t, "capacity", path))
    s_.buffer.capacity = r_.integer(*t, "capacity", path, 0, kBufferCapacityMax).value_or(0);
  if (r_.require(*t, "mode", path))
    s_.buffer.mode = r_.choice(*t, "mode", path, kBufferModes).value_or(BufferMode::fail);
  if (const std::optional<Duration> d = r_.duration(*t, "redelivery_delay", path)) {
    if (s_.buffer.mode != BufferMode::requeue)
      r_.fail(*t->get("redelivery_delay"), "buffer.redelivery_delay", "applies only to mode = \"requeue\"");
    if (*d > kLatencyMax) r_.fail(*t->get("redelivery_delay"), "buffer.redelivery_delay", "must be at most 1h");
    s_.buffer.redelivery_delay = *d;
  }
  if (const std::optional<std::int64_t> n = r_.integer(*t, "max_deliveries", path, 1, 1'000'000)) {
    if (s_.buffer.mode != BufferMode::requeue)
      r_.fail(*t->get("max_deliveries"), "buffer.max_deliveries", "applies only to mode = \"requeue\"");
    s_.buffer.max_deliveries = static_cast<std::int32_t>(*n);
  }
}

void ScenarioLoader::read_provider_sims(const toml::table& root) {
  if (r_.failed()) return;
  const toml::array* providers = root.get("providers")->as_array();  // config_from_table checked it
  FAILOVER_ASSERT(providers != nullptr);
  FAILOVER_ASSERT(providers->size() == policy_.providers.size());
  s_.providers.resize(providers->size());
  for (std::size_t i = 0; i < providers->size() && !r_.failed(); ++i) {
    const toml::table& t = *providers->get(i)->as_table();
    const std::string path = element("providers", i) + ".sim";
    if (!t.contains("sim")) {
      r_.fail(
          t, path,
          "is required in a scenario: the fake provider's model, at least latency = { p50 = \"600ms\", p99 = \"4s\" }");
      return;
    }
    ProviderSpec& spec = s_.providers[i];
    spec.name = policy_.providers[i].name;
    spec.models = policy_.providers[i].models;
    read_provider_sim(*t.get("sim")->as_table(), path, spec);
  }
}

void ScenarioLoader::read_provider_sim(const toml::table& t, const std::string& path, ProviderSpec& spec) {
  if (!r_.only_keys(
          t, path,
          {"latency", "per_output_token", "concurrency_max", "rpm_max", "tpm_max", "over_capacity", "reject_delay"}))
    return;
  if (r_.require(t, "latency", path)) spec.latency.first_token = latency(t, "latency", path).value_or(LatencyDist{});
  const auto bounded = [&](std::string_view key, Duration& out) {
    const std::optional<Duration> d = r_.duration(t, key, path);
    if (d && *d > kLatencyMax) r_.fail(*t.get(key), join(path, key), "must be at most 1h");
    if (d && !r_.failed()) out = *d;
  };
  bounded("per_output_token", spec.latency.per_output_token);
  bounded("reject_delay", spec.reject_delay);
  spec.concurrency_max = static_cast<std::int32_t>(r_.integer(t, "concurrency_max", path, 0, kInflightMax).value_or(0));
  spec.rpm_max = r_.integer(t, "rpm_max", path, 0, kLimitPerMinuteMax).value_or(0);
  spec.tpm_max = r_.integer(t, "tpm_max", path, 0, kLimitPerMinuteMax).value_or(0);
  const toml::table* over = r_.table(t, "over_capacity", path);
  const std::string over_path = join(path, "over_capacity");
  if (over == nullptr || !r_.only_keys(*over, over_path, {"status", "retry_after"})) return;
  spec.over_capacity.status = static_cast<std::int32_t>(r_.integer(*over, "status", over_path, 400, 599).value_or(429));
  spec.over_capacity.retry_after = r_.duration(*over, "retry_after", over_path);  // absent: no Retry-After header
  if (spec.over_capacity.retry_after && *spec.over_capacity.retry_after > kDay)
    r_.fail(*over->get("retry_after"), over_path + ".retry_after", "must be at most 24h");
}

// { p50 = "600ms", p99 = "4s" } (lognormal) | { mean = "1s" } (exponential) | { constant = "200ms" }.
std::optional<LatencyDist> ScenarioLoader::latency(const toml::table& t, std::string_view key,
                                                   const std::string& path) {
  const toml::table* d = r_.table(t, key, path);
  const std::string full = join(path, key);
  if (d == nullptr || !r_.only_keys(*d, full, {"p50", "p99", "mean", "constant"})) return std::nullopt;
  const auto value = [&](std::string_view k) -> std::optional<Duration> {
    const std::optional<Duration> v = r_.duration(*d, k, full);
    if (v && (*v < kLatencyMin || *v > kLatencyMax))
      r_.fail(*d->get(k), join(full, k), "must be between 1us and 1h but is " + duration_text(*v));
    return r_.failed() ? std::nullopt : v;
  };
  const bool lognormal = d->contains("p50") || d->contains("p99");
  const int forms = (lognormal ? 1 : 0) + (d->contains("mean") ? 1 : 0) + (d->contains("constant") ? 1 : 0);
  if (forms != 1) {
    r_.fail(*d, full, "takes exactly one form: { p50, p99 } (lognormal), { mean } (exponential) or { constant }");
    return std::nullopt;
  }
  if (d->contains("mean")) {
    const std::optional<Duration> mean = value("mean");
    return mean ? std::optional<LatencyDist>(LatencyDist::exponential(*mean)) : std::nullopt;
  }
  if (d->contains("constant")) {
    const std::optional<Duration> c = value("constant");
    return c ? std::optional<LatencyDist>(LatencyDist::constant(*c)) : std::nullopt;
  }
  if (!r_.require(*d, "p50", full) || !r_.require(*d, "p99", full)) return std::nullopt;
  const std::optional<Duration> p50 = value("p50");
  const std::optional<Duration> p99 = value("p99");
  if (!p50 || !p99) return std::nullopt;
  if (*p50 > *p99) {
    r_.fail(*d->get("p99"), full + ".p99",
            "p99 (" + duration_text(*p99) + ") must not be below p50 (" + duration_text(*p50) + ")");
    return std::nullopt;
  }
  return LatencyDist::lognormal(*p50, *p99);
}

constexpr std::array<std::pair<std::string_view, FaultKind>, 10> kFaultKinds{
    {{"http_error", FaultKind::http_error},
     {"rate_limit", FaultKind::rate_limit},
     {"latency", FaultKind::latency},
     {"hang", FaultKind::hang},
     {"connect_error", FaultKind::connect_error},
     {"malformed", FaultKind::malformed},
     {"truncated", FaultKind::truncated},
     {"stream_error", FaultKind::stream_error},
     {"unterminated", FaultKind::unterminated},
     {"stall", FaultKind::stall}}};
// The kinds `failover explore` draws: the stream faults take parameters it does not draw.
constexpr std::array<std::pair<std::string_view, FaultKind>, 7> kExploreKinds{
    {kFaultKinds[0], kFaultKinds[1], kFaultKinds[2], kFaultKinds[3], kFaultKinds[4], kFaultKinds[5], kFaultKinds[6]}};

void ScenarioLoader::read_faults(const toml::table& root) {
  const toml::array* faults = r_.tables(root, "faults", "");
  if (faults == nullptr) return;
  for (std::size_t i = 0; i < faults->size() && !r_.failed(); ++i) {
    const std::string path = element("faults", i);
    const toml::table* fault = r_.table_at(*faults, i, "faults");
    if (fault == nullptr) return;
    const toml::table& t = *fault;
    Index provider = kNoIndex;
    const std::optional<Fault> f = read_fault(t, path, provider);
    if (!f) return;
    std::vector<Fault>& list = s_.providers[provider].faults;
    const std::string key = f->stream_key();
    const bool named = !f->name.empty();
    for (const Fault& other : list) {
      if (other.stream_key() != key) continue;
      r_.fail(named ? *t.get("name") : t, named ? path + ".name" : path,
              "draws from the same random stream " + quoted(key) + " as another fault on provider " +
                  quoted(s_.providers[provider].name) + " (same kind and start): give one of them a distinct name");
      return;
    }
    if (named && std::find(fault_names_.begin(), fault_names_.end(), f->name) != fault_names_.end()) {
      r_.fail(*t.get("name"), path + ".name", "repeats the fault name " + quoted(f->name));
      return;
    }
    if (list.size() >= kFaultsPerProviderMax) {
      r_.fail(t, path,
              "is one fault too many on provider " + quoted(s_.providers[provider].name) + " (at most " +
                  std::to_string(kFaultsPerProviderMax) + ")");
      return;
    }
    fault_names_.push_back(f->name);
    fault_starts_.push_back(f->start);
    list.push_back(*f);
  }
  // A total order independent of the file's order: reordering [[faults]] tables never
  // changes a run (the fleet applies overlapping faults in list order).
  for (ProviderSpec& p : s_.providers) {
    std::sort(p.faults.begin(), p.faults.end(), [](const Fault& a, const Fault& b) {
      return a.start != b.start ? a.start < b.start : a.stream_key() < b.stream_key();
    });
  }
}

std::optional<Fault> ScenarioLoader::read_fault(const toml::table& t, const std::string& path, Index& provider) {
  if (!r_.only_keys(t, path,
                    {"provider", "kind", "name", "start", "duration", "intensity", "ramp_up", "ramp_down", "status",
                     "retry_after", "delay", "reset", "factor", "latency", "after_tokens", "stall"}))
    return std::nullopt;
  for (const std::string_view key : {"provider", "kind", "start", "duration"}) {
    if (!r_.require(t, key, path)) return std::nullopt;
  }
  const std::optional<std::string> provider_name = read_name(t, "provider", path);
  const std::optional<FaultKind> kind = r_.choice(t, "kind", path, kFaultKinds);
  if (!provider_name || !kind) return std::nullopt;
  const std::optional<Index> p = policy_.provider_index(*provider_name);
  if (!p) {
    std::string names;
    for (const ProviderConfig& c : policy_.providers) names += (names.empty() ? "" : ", ") + c.name;
    r_.fail(*t.get("provider"), path + ".provider",
            "names a provider " + quoted(*provider_name) + " that is not defined (providers: " + names + ")");
    return std::nullopt;
  }
  provider = *p;
  Fault f;
  f.kind = *kind;
  if (!read_fault_window(t, path, f) || !read_fault_kind_keys(t, path, f, provider)) return std::nullopt;
  if (const std::optional<std::string> name = read_name(t, "name", path)) {
    if (parse_duration(*name)) {
      r_.fail(*t.get("name"), path + ".name", "must not read as a duration (scenario.overflow_from may name a fault)");
      return std::nullopt;
    }
    f.name = *name;
  }
  if (r_.failed()) return std::nullopt;
  return f;
}

// start, duration, intensity and ramps: within the scenario, ramps within the fault.
bool ScenarioLoader::read_fault_window(const toml::table& t, const std::string& path, Fault& f) {
  const std::optional<Time> start = point_at(t, "start", path);
  const std::optional<Duration> duration = r_.duration(t, "duration", path);
  if (!start || !duration) return false;
  const Time end = kTimeZero + s_.duration;
  if (*start >= end)
    return r_.fail(*t.get("start"), path + ".start",
                   "starts at " + duration_text(*start - kTimeZero) + ", not before the scenario's end (" +
                       duration_text(s_.duration) + ")");
  if (*duration <= Duration{0}) return r_.fail(*t.get("duration"), path + ".duration", "must be positive");
  if (*duration > end - *start) {
    return r_.fail(*t.get("duration"), path + ".duration",
                   "ends at " + duration_text(*start - kTimeZero + *duration) + ", after the scenario's end (" +
                       duration_text(s_.duration) + ")");
  }
  f.start = *start;
  f.duration = *duration;
  f.intensity = r_.ratio(t, "intensity", path, kRatioExact).value_or(kRatioOne);
  f.ramp_up = r_.duration(t, "ramp_up", path).value_or(Duration{0});
  f.ramp_down = r_.duration(t, "ramp_down", path).value_or(Duration{0});
  if (!r_.failed() && f.ramp_up + f.ramp_down > f.duration) {
    const std::string_view key = t.contains("ramp_down") ? "ramp_down" : "ramp_up";
    return r_.fail(*t.get(key), join(path, key),
                   "ramp_up + ramp_down (" + duration_text(f.ramp_up + f.ramp_down) +
                       ") must fit in the fault's duration (" + duration_text(f.duration) + ")");
  }
  return !r_.failed();
}

// The keys that belong to one kind of fault, and no other's.
bool ScenarioLoader::read_fault_kind_keys(const toml::table& t, const std::string& path, Fault& f, Index provider) {
  const auto bit = [](FaultKind k) { return 1U << static_cast<std::uint32_t>(k); };
  const std::uint32_t stream_faults =
      bit(FaultKind::stream_error) | bit(FaultKind::unterminated) | bit(FaultKind::stall);
  const std::pair<std::string_view, std::uint32_t> owners[] = {
      {"status", bit(FaultKind::http_error) | bit(FaultKind::stream_error)},
      {"retry_after", bit(FaultKind::http_error)},
      {"delay", bit(FaultKind::http_error) | bit(FaultKind::connect_error)},
      {"reset", bit(FaultKind::connect_error) | bit(FaultKind::stall)},
      {"factor", bit(FaultKind::latency)},
      {"latency", bit(FaultKind::latency)},
      {"after_tokens", stream_faults},
      {"stall", bit(FaultKind::stall)}};
  for (const auto& [key, mask] : owners) {
    if (!t.contains(key) || (mask & bit(f.kind)) != 0) continue;
    std::string kinds;
    for (const auto& [name, k] : kFaultKinds) {
      if ((mask & bit(k)) != 0) kinds += (kinds.empty() ? "" : " or ") + quoted(name);
    }
    return r_.fail(*t.get(key), join(path, key), "applies only to kind = " + kinds);
  }
  // An http_error fault answers with an error: a 1xx-3xx status is no failure, and the
  // fleet could not serve it as one.
  f.status = static_cast<std::int32_t>(
      r_.integer(t, "status", path, 400, 599).value_or(f.kind == FaultKind::stream_error ? 529 : 503));
  // The error event's type is one a client maps back to this very status (overloaded_error,
  // rate_limit_error, api_error), so that the engine sees the same outcome live and simulated.
  if (f.kind == FaultKind::stream_error && f.status != 429 && f.status != 500 && f.status != 529)
    return r_.fail(*t.get("status"), path + ".status", "a stream_error is 529 (overloaded), 429 or 500");
  f.after_tokens = r_.integer(t, "after_tokens", path, 0, kTokensMax).value_or(0);
  if (f.kind == FaultKind::stall) {
    if (!r_.require(t, "stall", path)) return false;
    f.stall = r_.duration(t, "stall", path).value_or(Duration{0});
    if (!r_.failed() && (f.stall <= Duration{0} || f.stall > kLatencyMax))
      return r_.fail(*t.get("stall"), path + ".stall", "must be positive and at most 1h");
  }
  f.retry_after = r_.duration(t, "retry_after", path);
  if (f.retry_after && *f.retry_after > kDay)
    return r_.fail(*t.get("retry_after"), path + ".retry_after", "must be at most 24h");
  f.delay = r_.duration(t, "delay", path).value_or(f.delay);
  if (f.delay > kLatencyMax) return r_.fail(*t.get("delay"), path + ".delay", "must be at most 1h");
  f.reset = r_.boolean(t, "reset", path).value_or(false);
  if (f.kind == FaultKind::latency) {
    if (t.contains("factor") == t.contains("latency"))
      return r_.fail(
          t, path,
          "a latency fault takes exactly one of factor (a multiplier) and latency (a replacement distribution)");
    if (const toml::node* factor = r_.get(t, "factor")) {
      const std::optional<double> x = r_.number_of(*factor, path + ".factor");
      if (x && (*x * 1000.0 < 1.0 || *x > 1000.0))
        return r_.fail(*factor, path + ".factor", "must be between 0.001 and 1000");
      f.latency_factor_permille = x ? std::llround(*x * 1000.0) : kPermille;
    }
    if (t.contains("latency")) f.latency_first_token = latency(t, "latency", path);
  }
  const ProviderSpec& spec = s_.providers[provider];
  if (f.kind == FaultKind::rate_limit && spec.rpm_max == 0 && spec.tpm_max == 0) {
    return r_.fail(
        *t.get("kind"), path + ".kind",
        "cuts the provider's limits, but provider " + quoted(spec.name) + " sets neither sim.rpm_max nor sim.tpm_max");
  }
  return !r_.failed();
}

void ScenarioLoader::resolve_overflow_from() {
  if (r_.failed()) return;
  if (overflow_from_ == nullptr) {
    s_.overflow_from = s_.first_fault_start().value_or(kTimeZero);
    return;
  }
  const std::string path = "scenario.overflow_from";
  if (const auto* s = overflow_from_->as_string(); s != nullptr && !parse_duration(s->get())) {
    for (std::size_t i = 0; i < fault_names_.size(); ++i) {
      if (!fault_names_[i].empty() && fault_names_[i] == s->get()) {
        s_.overflow_from = fault_starts_[i];
        return;
      }
    }
    r_.fail(*overflow_from_, path, quoted(s->get()) + " is neither a duration such as \"23m\" nor the name of a fault");
    return;
  }
  const std::optional<Time> at = time_of(*overflow_from_, path);
  if (at && *at >= kTimeZero + s_.duration)
    r_.fail(*overflow_from_, path, "must be before the scenario's end (" + duration_text(s_.duration) + ")");
  s_.overflow_from = at.value_or(kTimeZero);
}

void ScenarioLoader::read_baselines(const toml::table& root) {
  if (r_.failed()) return;
  s_.policies.push_back(NamedPolicy{"policy", policy_, "the policy under test"});
  const toml::table* t = r_.table(root, "baselines", "");
  const std::string path = "baselines";
  if (t == nullptr || !r_.only_keys(*t, path, {"direct", "case_study", "custom"})) return;
  if (r_.boolean(*t, "direct", path).value_or(false)) {
    s_.policies.push_back(NamedPolicy{"direct", direct_baseline(policy_, s_.buffer),
                                      "one target per route: no failover, no breaker, one attempt"});
  }
  if (r_.boolean(*t, "case_study", path).value_or(false)) {
    s_.policies.push_back(
        NamedPolicy{"case-study", case_study_baseline(policy_, s_.buffer),
                    "the 2026-05-08 case study's client: 5-failure breaker, unlimited half-open, no budget"});
  }
  const toml::array* custom = r_.tables(*t, "custom", path);
  if (custom == nullptr) return;
  for (std::size_t i = 0; i < custom->size() && !r_.failed(); ++i) {
    const toml::table* baseline = r_.table_at(*custom, i, "baselines.custom");
    if (baseline == nullptr) return;
    add_custom_baseline(*baseline, element("baselines.custom", i), i);
  }
}

void ScenarioLoader::add_custom_baseline(const toml::table& t, const std::string& path, std::size_t i) {
  if (!r_.only_keys(t, path, {"name", "description", "policy"}) || !r_.require(t, "name", path) ||
      !r_.require(t, "policy", path))
    return;
  const std::optional<std::string> name = read_name(t, "name", path);
  const std::string description = r_.text(t, "description", path).value_or("custom baseline");
  if (r_.table(t, "policy", path) == nullptr || !name) return;
  if (s_.find_policy(*name) != nullptr) {
    r_.fail(*t.get("name"), path + ".name",
            "repeats the policy name " + quoted(*name) + " (\"policy\", \"direct\" and \"case-study\" are taken)");
    return;
  }
  if (s_.policies.size() >= kPoliciesMax) {
    r_.fail(t, path, "is one policy too many (at most " + std::to_string(kPoliciesMax) + ")");
    return;
  }
  Result<toml::table> fresh = reparse_();
  if (!fresh) return r_.set(fresh.error());
  toml::table& root = *fresh;
  toml::table* overrides = root["baselines"]["custom"][i]["policy"].as_table();
  FAILOVER_ASSERT(overrides != nullptr);  // the same text parsed again
  if (root.get("policy") == nullptr) root.insert("policy", toml::table{});
  FAILOVER_ASSERT(root.get("policy")->is_table());  // config_from_table accepted it
  if (!merge_into(*root.get("policy")->as_table(), *overrides)) {
    r_.fail(t, path + ".policy", "nests tables too deeply");
    return;
  }
  Result<Config> config = config_from_table(root, r_.source(), LoadOptions{kSimTopLevel, true});
  if (!config) return r_.set(Error{config.error().where, path + " (" + quoted(*name) + "): " + config.error().what});
  s_.policies.push_back(NamedPolicy{*name, std::move(*config), description});
}

void ScenarioLoader::read_expectations(const toml::table& root) {
  const toml::array* expect = r_.tables(root, "expect", "");
  if (expect == nullptr) return;
  if (expect->size() > kExpectationsMax) {
    r_.fail(*expect, "expect", "lists more than " + std::to_string(kExpectationsMax) + " expectations");
    return;
  }
  for (std::size_t i = 0; i < expect->size() && !r_.failed(); ++i) {
    const toml::table* expectation = r_.table_at(*expect, i, "expect");
    if (expectation == nullptr) return;
    read_expectation(*expectation, element("expect", i));
  }
}

void ScenarioLoader::read_expectation(const toml::table& t, const std::string& path) {
  if (!r_.only_keys(t, path, {"policy", "metric", "at_least", "at_most", "between", "never"}) ||
      !r_.require(t, "metric", path))
    return;
  Expectation e;
  e.policy = read_name(t, "policy", path).value_or("policy");
  if (!r_.failed() && s_.find_policy(e.policy) == nullptr) {
    std::string names;
    for (const NamedPolicy& p : s_.policies) names += (names.empty() ? "" : ", ") + p.name;
    r_.fail(*t.get("policy"), path + ".policy",
            "names a policy " + quoted(e.policy) + " that this scenario does not run (it runs: " + names + ")");
    return;
  }
  const std::optional<std::string> metric = read_name(t, "metric", path);
  if (!metric) return;
  const std::optional<Metric> m = metric_from(*metric);
  if (!m) {
    std::string names;
    for (std::size_t i = 0; i < kMetricCount; ++i)
      names += (names.empty() ? "" : ", ") + std::string(metric_name(static_cast<Metric>(i)));
    r_.fail(*t.get("metric"), path + ".metric", quoted(*metric) + " is not a metric (" + names + ")");
    return;
  }
  e.metric = *m;
  const int bounds = static_cast<int>(t.contains("at_least")) + static_cast<int>(t.contains("at_most")) +
                     static_cast<int>(t.contains("between")) + static_cast<int>(t.contains("never"));
  if (bounds != 1) {
    r_.fail(t, path, "needs exactly one of at_least, at_most, between and never");
    return;
  }
  if (const toml::node* n = r_.get(t, "at_least")) {
    e.bound = Bound::at_least;
    e.lo = expect_value(*n, e.metric, path + ".at_least").value_or(0.0);
  } else if (const toml::node* x = r_.get(t, "at_most")) {
    e.bound = Bound::at_most;
    e.hi = expect_value(*x, e.metric, path + ".at_most").value_or(0.0);
  } else if (const toml::node* b = r_.get(t, "between")) {
    e.bound = Bound::between;
    const toml::array* pair = b->as_array();
    if (pair == nullptr || pair->size() != 2)
      return (void)r_.fail(*b, path + ".between", "expected an array of two values [low, high]");
    e.lo = expect_value(*pair->get(0), e.metric, path + ".between[0]").value_or(0.0);
    e.hi = expect_value(*pair->get(1), e.metric, path + ".between[1]").value_or(0.0);
    if (!r_.failed() && e.lo > e.hi)
      return (void)r_.fail(*b, path + ".between", "the low bound must not exceed the high bound");
  } else {
    e.bound = Bound::none_;
    if (!r_.boolean(t, "never", path).value_or(true))
      return (void)r_.fail(*t.get("never"), path + ".never",
                           "must be true (write no expectation instead of never = false)");
  }
  if (!check_expectation_fits(t, path, e)) return;
  e.text = std::string(metric_name(e.metric)) + " " + expected_text(e);
  s_.expectations.push_back(std::move(e));
}

// Expectations that could never be measured are errors, not silent passes.
bool ScenarioLoader::check_expectation_fits(const toml::table& t, const std::string& path, const Expectation& e) {
  if (r_.failed()) return false;
  if (e.bound == Bound::none_ && e.metric != Metric::overflow_at) {
    return r_.fail(*t.get("never"), path + ".never",
                   "applies only to metric = \"overflow_at\" (write at_most = 0 for counts)");
  }
  if (e.metric == Metric::overflow_at && s_.buffer.capacity == 0) {
    return r_.fail(*t.get("metric"), path + ".metric", "overflow_at needs a bounded buffer ([buffer] capacity > 0)");
  }
  const bool timed = e.metric == Metric::failover_time || e.metric == Metric::recovery_time;
  if (timed && !s_.first_fault_start())
    return r_.fail(*t.get("metric"), path + ".metric", "is measured from a fault, and this scenario has no [[faults]]");
  return true;
}

// A bound in the metric's unit: percent, count, minutes (overflow_at), seconds
// (failover/recovery), milliseconds (latency), USD (cost_usd; "budget" =
// scenario.budget_usd).
std::optional<double> ScenarioLoader::expect_value(const toml::node& n, Metric m, const std::string& path) {
  const auto percent = [&](bool capped) -> std::optional<double> {
    const std::optional<Ratio> r = r_.ratio_of(n, path, capped ? kRatioExact : kRatioExactUncapped);
    return r ? std::optional<double>(100.0 * static_cast<double>(r->num) / static_cast<double>(r->den)) : std::nullopt;
  };
  const auto span = [&](double us_per_unit) -> std::optional<double> {
    const std::optional<Duration> d = r_.duration_of(n, path);
    return d ? std::optional<double>(static_cast<double>(to_us(*d)) / us_per_unit) : std::nullopt;
  };
  const auto non_negative = [&](std::optional<double> v) -> std::optional<double> {
    if (v && *v < 0.0) r_.fail(n, path, "must not be negative");
    return r_.failed() ? std::nullopt : v;
  };
  switch (m) {
    case Metric::availability:
      return percent(true);
    case Metric::cost_ratio:
      return percent(false);
    case Metric::dropped:
    case Metric::failed:
    case Metric::breaker_trips: {
      const std::optional<std::int64_t> v = r_.integer_of(n, path, 0, std::int64_t{1} << 52);
      return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
    }
    case Metric::overflow_at:
      return n.as_string() != nullptr ? span(60e6) : non_negative(r_.number_of(n, path));
    case Metric::failover_time:
    case Metric::recovery_time:
      return span(1e6);
    case Metric::latency_p50:
    case Metric::latency_p90:
    case Metric::latency_p99:
    case Metric::latency_p999:
      return span(1e3);
    case Metric::attempts_per_request:
      return non_negative(r_.number_of(n, path));
    case Metric::cost_usd: {
      const auto* s = n.as_string();
      if (s == nullptr) return non_negative(r_.number_of(n, path));
      if (s->get() != "budget") return (r_.fail(n, path, "expected a number of USD or \"budget\""), std::nullopt);
      if (s_.cost_budget_micro_usd == 0)
        return (r_.fail(n, path, "\"budget\" needs scenario.budget_usd"), std::nullopt);
      return static_cast<double>(s_.cost_budget_micro_usd) / 1e6;
    }
  }
  FAILOVER_ASSERT(false);
  return std::nullopt;
}

// ---- [explore] (docs/explore.md) --------------------------------------------------

constexpr std::int64_t kExploreFaultsMax = 16;
constexpr std::int64_t kMultiplierMaxPermille = 100'000;  // 100x

void ScenarioLoader::read_explore(const toml::table& root) {
  if (r_.failed()) return;
  const toml::table* t = r_.table(root, "explore", "");
  if (t == nullptr) return;
  s_.has_explore = true;
  if (!r_.only_keys(*t, "explore",
                    {"kinds", "providers", "faults_max", "keep_healthy", "start", "fault_duration", "intensity", "rate",
                     "spike_chance", "spike_peak", "tokens", "capacity", "horizon", "recovery", "cost_factor",
                     "harm_tolerance"})) {
    return;
  }
  read_explore_faults(*t);
  read_explore_ranges(*t);
}

void ScenarioLoader::read_explore_faults(const toml::table& t) {
  ExploreSpec& e = s_.explore;
  if (const toml::array* kinds = r_.array(t, "kinds", "explore")) {
    if (kinds->empty()) r_.fail(*kinds, "explore.kinds", "must name at least one fault kind");
    for (std::size_t i = 0; i < kinds->size() && !r_.failed(); ++i) {
      const toml::node& n = *kinds->get(i);
      const std::optional<FaultKind> kind = r_.choice_of(n, element("explore.kinds", i), kExploreKinds);
      if (!kind) return;
      if (std::find(e.kinds.begin(), e.kinds.end(), *kind) != e.kinds.end())
        r_.fail(n, element("explore.kinds", i), "repeats " + quoted(n.as_string()->get()));
      e.kinds.push_back(*kind);
    }
  }
  if (const toml::array* providers = r_.array(t, "providers", "explore")) {
    if (providers->empty()) r_.fail(*providers, "explore.providers", "must name at least one provider");
    for (std::size_t i = 0; i < providers->size() && !r_.failed(); ++i) {
      const toml::node& n = *providers->get(i);
      const std::optional<std::string> name = r_.text_of(n, element("explore.providers", i));
      if (!name) return;
      const std::optional<Index> p = policy_.provider_index(*name);
      if (!p) {
        std::string names;
        for (const ProviderConfig& c : policy_.providers) names += (names.empty() ? "" : ", ") + c.name;
        r_.fail(n, element("explore.providers", i),
                "names a provider " + quoted(*name) + " that is not defined (providers: " + names + ")");
        return;
      }
      if (std::find(e.providers.begin(), e.providers.end(), *p) != e.providers.end())
        r_.fail(n, element("explore.providers", i), "repeats " + quoted(*name));
      e.providers.push_back(*p);
    }
  }
  e.faults_max = r_.integer(t, "faults_max", "explore", 1, kExploreFaultsMax).value_or(e.faults_max);
  e.keep_healthy = r_.boolean(t, "keep_healthy", "explore").value_or(e.keep_healthy);
}

// A [lo, hi] pair: an array of exactly two values.
bool ScenarioLoader::explore_pair(const toml::table& t, std::string_view key, std::vector<const toml::node*>& out) {
  const toml::array* a = r_.array(t, key, "explore");
  if (a == nullptr) return false;
  if (a->size() != 2) return r_.fail(*a, join("explore", key), "must be a pair [low, high]");
  out = {a->get(0), a->get(1)};
  return true;
}

// A pair of positive multipliers written as numbers (0.5, 2), kept in permille.
void ScenarioLoader::explore_multiplier(const toml::table& t, std::string_view key, std::int64_t& lo, std::int64_t& hi,
                                        std::int64_t max_permille) {
  std::vector<const toml::node*> pair;
  if (!explore_pair(t, key, pair)) return;
  const std::string path = join("explore", key);
  std::array<std::int64_t, 2> v{};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::optional<double> x = r_.number_of(*pair[i], element(path, i));
    if (!x) return;
    if (!(*x > 0.0) || *x * 1000.0 > static_cast<double>(max_permille)) {
      r_.fail(*pair[i], element(path, i),
              "must be a multiplier above 0 and at most " + std::to_string(max_permille / 1000));
      return;
    }
    v[i] = std::max<std::int64_t>(1, std::llround(*x * 1000.0));
  }
  if (v[0] > v[1]) r_.fail(*pair[0], path, "low must not exceed high");
  lo = v[0];
  hi = v[1];
}

void ScenarioLoader::read_explore_ranges(const toml::table& t) {
  ExploreSpec& e = s_.explore;
  const auto durations = [&](std::string_view key, const auto& assign) {
    std::vector<const toml::node*> pair;
    if (r_.failed() || !explore_pair(t, key, pair)) return;
    const std::string path = join("explore", key);
    const std::optional<Duration> lo = r_.duration_of(*pair[0], element(path, 0));
    const std::optional<Duration> hi = r_.duration_of(*pair[1], element(path, 1));
    if (!lo || !hi) return;
    if (*lo > *hi)
      r_.fail(*pair[0], path, "low must not exceed high");
    else
      assign(*pair[0], path, *lo, *hi);
  };
  durations("start", [&](const toml::node& at, const std::string& path, Duration lo, Duration hi) {
    if (hi >= s_.duration)
      r_.fail(at, path, "must start before the scenario's end (" + duration_text(s_.duration) + ")");
    e.start_lo = lo;
    e.start_hi = hi;
  });
  durations("fault_duration", [&](const toml::node& at, const std::string& path, Duration lo, Duration hi) {
    if (lo < sec(1)) r_.fail(at, path, "must be at least 1s");
    e.fault_duration_lo = lo;
    e.fault_duration_hi = hi;
  });
  durations("horizon", [&](const toml::node& at, const std::string& path, Duration lo, Duration hi) {
    if (lo < minutes(2) || hi > kScenarioDurationMax) r_.fail(at, path, "must lie between 2m and 30 days");
    e.horizon_lo = lo;
    e.horizon_hi = hi;
  });
  std::vector<const toml::node*> pair;
  if (!r_.failed() && explore_pair(t, "intensity", pair)) {
    const std::optional<Ratio> lo = r_.ratio_of(*pair[0], "explore.intensity[0]", kRatioExact);
    const std::optional<Ratio> hi = r_.ratio_of(*pair[1], "explore.intensity[1]", kRatioExact);
    if (lo && hi) {
      e.intensity_lo_ppm = std::max<std::int64_t>(1, lo->num * 1'000'000 / lo->den);
      e.intensity_hi_ppm = hi->num * 1'000'000 / hi->den;
      if (e.intensity_lo_ppm > e.intensity_hi_ppm) r_.fail(*pair[0], "explore.intensity", "low must not exceed high");
    }
  }
  explore_multiplier(t, "rate", e.rate_lo_permille, e.rate_hi_permille, kMultiplierMaxPermille);
  explore_multiplier(t, "spike_peak", e.spike_lo_permille, e.spike_hi_permille, kMultiplierMaxPermille);
  explore_multiplier(t, "tokens", e.tokens_lo_permille, e.tokens_hi_permille, kMultiplierMaxPermille);
  explore_multiplier(t, "capacity", e.capacity_lo_permille, e.capacity_hi_permille, kMultiplierMaxPermille);
  if (const std::optional<Ratio> c = r_.ratio(t, "spike_chance", "explore", kRatioExact))
    e.spike_chance_ppm = c->num * 1'000'000 / c->den;
  if (const std::optional<Ratio> h = r_.ratio(t, "harm_tolerance", "explore", kRatioExact))
    e.harm_tolerance_ppm = h->num * 1'000'000 / h->den;
  if (const std::optional<Duration> d = r_.duration(t, "recovery", "explore")) {
    if (*d <= Duration{0} || *d > kDay)
      r_.fail(*t.get("recovery"), "explore.recovery", "must be positive and at most 24h");
    e.recovery = *d;
  }
  if (const toml::node* k = r_.get(t, "cost_factor")) {
    const std::optional<double> x = r_.number_of(*k, "explore.cost_factor");
    if (x && (!(*x > 0.0) || *x > 1000.0)) r_.fail(*k, "explore.cost_factor", "must be above 0 and at most 1000");
    if (x) e.cost_factor_permille = std::max<std::int64_t>(1, std::llround(*x * 1000.0));
  }
}

std::string stem_of(std::string_view name) {
  const std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (name.ends_with(".toml")) name.remove_suffix(5);
  return std::string(name);
}

Result<Scenario> load(std::string source, const std::function<Result<toml::table>()>& reparse) {
  try {
    Result<toml::table> root = reparse();
    if (!root) return root.error();
    Result<Scenario> s = ScenarioLoader(source, reparse).load(*root);
    if (!s) return s;
    s->name = stem_of(source);
    s->path = source;
    FAILOVER_ASSERT(!s->policies.empty());
    FAILOVER_ASSERT(s->providers.size() == s->policies.front().config.providers.size());
    return s;
  } catch (const std::exception& e) {
    return Error{source, std::string("could not load: ") + e.what()};
  } catch (...) {
    return Error{source, "could not load: unknown exception"};
  }
}

// ---- overrides (sweep points) ----------------------------------------------------

// What parse yields with the live config it names merged in (scenario_config.h).
std::function<Result<toml::table>()> with_config(std::function<Result<toml::table>()> parse, std::string source) {
  return [parse = std::move(parse), source = std::move(source)]() -> Result<toml::table> {
    Result<toml::table> root = parse();
    if (!root) return root;
    return with_live_config(std::move(*root), source);
  };
}

// What reparse yields with the live config merged in and the overrides applied on top.
std::function<Result<toml::table>()> with_overrides(std::function<Result<toml::table>()> parse, std::string source,
                                                    std::vector<PolicyOverride> overrides) {
  parse = with_config(std::move(parse), std::move(source));
  if (overrides.empty()) return parse;
  return [parse = std::move(parse), overrides = std::move(overrides)]() -> Result<toml::table> {
    Result<toml::table> root = parse();
    if (!root) return root;
    const Status applied = config::apply_policy_overrides(*root, overrides);
    if (!applied) return applied.error();
    return root;
  };
}

}  // namespace

Result<Scenario> load_scenario_file(const std::string& path, const std::vector<PolicyOverride>& overrides) {
  return load(path, with_overrides([path] { return parse_toml_file(path); }, path, overrides));
}

Result<Scenario> load_scenario_string(std::string_view text, std::string_view name,
                                      const std::vector<PolicyOverride>& overrides) {
  std::string copy(text);
  std::string source(name);
  return load(source, with_overrides([copy, source] { return parse_toml(copy, source); }, source, overrides));
}

Result<Scenario> load_scenario_file(const std::string& path) {
  return load_scenario_file(path, {});
}

Result<Scenario> load_scenario_string(std::string_view text, std::string_view name) {
  return load_scenario_string(text, name, {});
}

Result<toml::table> parse_scenario_toml(std::string_view text, std::string_view name) {
  try {
    const std::string source(name);
    Result<toml::table> root = with_config([&] { return parse_toml(text, source); }, source)();
    if (!root) return root;
    if (toml::table* scenario = (*root)["scenario"].as_table()) scenario->erase("config");
    return root;
  } catch (const std::exception& e) {
    return Error{std::string(name), std::string("could not load: ") + e.what()};
  } catch (...) {
    return Error{std::string(name), "could not load: unknown exception"};
  }
}

}  // namespace failover::sim
