// Policy sweeps: which points of a parameter grid (or which random sample of it) a sweep
// runs, which shard of a job array runs which point, how one run's figures are kept,
// how shard files are written, read and merged, and how points are ranked and which
// lie on the Pareto frontier of availability, p99 latency and cost. Running the
// simulations -- on as many threads as the caller likes -- is the CLI's; the outputs
// (CSV, JSON, Markdown, SVG) are sweep_report.cpp's. Every output here is a pure
// function of its inputs, so a merged set of shards equals the unsharded run byte for
// byte. Schema and rules: docs/sweep.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/engine/result.h"
#include "sim/scenario.h"
#include "sim/scenario_load.h"
#include "sim/simulation.h"

namespace failover::sim::sweep {

inline constexpr std::size_t kKeysMax = 16;
inline constexpr std::size_t kValuesPerKeyMax = 1'000;
inline constexpr std::size_t kPointsMax = 100'000;
inline constexpr std::size_t kScenariosMax = 64;
inline constexpr std::size_t kShardsMax = 10'000;
inline constexpr std::size_t kShardBytesMax = std::size_t{1} << 30;  // 1 GiB
static_assert(kKeysMax <= kOverridesMax);

// One swept key of the policy under test (a dotted path under [policy]) and its values,
// each as canonical TOML text ("5", "0.5", "true", "\"30s\""), in the order given.
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// One V of --set as canonical TOML text: a TOML integer, float, boolean or string is
// kept (5, 0.5, true, "30s"); a bare word that is not TOML is a string (30s -> "30s").
// Floats are written in their shortest round-trip form with a decimal point. Errors:
// empty, infinite or NaN floats, arrays, tables, dates, words with spaces or quotes.
Result<std::string> value_text(std::string_view word);

// LO..HI:STEP as the values LO, LO + STEP, ... up to HI, each as canonical TOML text.
// All three must be of one kind: integers (1..9:2), decimals with at most 6 places,
// stepped exactly in integers of the finest place (0.1..0.5:0.1), percentages
// ("10%..50%:10%") or durations (10s..1m:10s, written back like "1m10s"). STEP > 0,
// HI >= LO, at most kValuesPerKeyMax values.
Result<std::vector<std::string>> expand_range(std::string_view range);

// "KEY=V1,V2,..." where each comma-separated item is a value (value_text) or a range
// (expand_range). Errors name the argument: a malformed key, no '=', an empty item, a
// repeated value, more than kValuesPerKeyMax values.
Result<Axis> parse_set(std::string_view arg);

// A point: for each axis, the index of its value.
using Point = std::vector<std::uint32_t>;

// Every combination, the first axis varying slowest. Error: no axis, more than kKeysMax
// axes, a key given twice, or more than kPointsMax points.
Result<std::vector<Point>> grid(const std::vector<Axis>& axes);

// `count` distinct points, each axis' value drawn independently and uniformly (Prng
// seeded with `seed`), in the order drawn; duplicates are drawn again. A count at or
// above the grid's size gives the whole grid, in grid order. Same checks as grid().
Result<std::vector<Point>> random_points(const std::vector<Axis>& axes, std::size_t count, std::uint64_t seed);

// The shard that runs point `point` of a sweep split into `shards`: point mod shards.
std::size_t shard_of(std::size_t point, std::size_t shards);

// The point as overrides of the policy under test.
std::vector<PolicyOverride> overrides_of(const std::vector<Axis>& axes, const Point& point);

// A value as people read it: strings without their quotes.
std::string display_value(std::string_view toml_text);

// One scenario of a sweep: the file's exact text travels with every shard, so a merge
// needs nothing but the shard files.
struct ScenarioEntry {
  std::string path;
  std::string text;
  std::vector<std::uint64_t> seeds;
};

// Everything that defines a sweep; shards of one sweep carry equal definitions.
struct Definition {
  std::vector<ScenarioEntry> scenarios;
  std::vector<Axis> axes;
  std::vector<Point> points;
  std::string mode;  // "grid", or "random 40 (sweep seed 1)"
};

// 16 hex digits of a stable hash of the text (FNV-1a), to tell files apart in reports.
std::string text_hash(std::string_view text);

// The figures of one run of the policy under test on one seed at one point.
struct Record {
  std::uint32_t scenario = 0;
  std::uint32_t point = 0;
  std::uint64_t seed = 0;
  double availability_pct = 0.0;
  double p99_ms = 0.0;          // +inf: no success
  double cost_usd = 0.0;        // upper bound, as the cost_usd metric
  double cost_ratio_pct = 0.0;  // against the all-primary plan
  std::int64_t dropped = 0;
  double overflow_after_minutes = 0.0;  // +inf: the buffer never overflowed
  std::int64_t trips = 0;
  bool conserved = false;
  std::string checks;  // 'P' or 'F' per expectation of "policy", in file order

  [[nodiscard]] bool passed() const { return conserved && checks.find('F') == std::string::npos; }
};

// The expectations of the policy under test ("policy"), in file order.
std::vector<const Expectation*> policy_expectations(const Scenario& scenario);

// The record of `run`, checking each expectation of "policy" on this one seed.
Record record_of(const Scenario& scenario, std::uint32_t scenario_index, std::uint32_t point, RunResult run);

// What one shard ran (a whole sweep is shard 0 of 1). `records` hold only the
// (scenario, point) pairs whose every seed ran, sorted by scenario, point, seed order;
// `partial`: the run was interrupted and some pairs of the shard are missing.
struct Shard {
  Definition definition;
  std::size_t index = 0;
  std::size_t count = 1;
  bool partial = false;
  std::vector<Record> records;
};

// "shard-2-of-3.toml".
std::string shard_file_name(std::size_t index, std::size_t count);

// The shard as a TOML document (read back by read_shard, exactly).
std::string write_shard(const Shard& shard);
// Reads a shard file's text; `name` stands for the file in errors, which name
// "name:line:col" and the key (the one TOML reader, core/config/toml_reader.h). Checks
// every key, type, bound and index, and that each point it holds has one run per seed.
// Never throws.
Result<Shard> read_shard(std::string_view text, std::string_view name);

// Combines the shards of one sweep into one (shard 0 of 1): every shard must have the
// same definition and count N, every index 0..N-1 must be there exactly once, and each
// record must belong to its shard. `names` (parallel to `shards`) name them in errors.
Result<Shard> merge(std::vector<Shard> shards, const std::vector<std::string>& names);

// Per point of one scenario, over its seeds: how many passed every expectation, and
// the worst seed's figures (the lowest availability, the highest p99, cost and so on).
struct PointSummary {
  std::uint32_t point = 0;
  std::size_t seeds = 0;
  std::size_t passed = 0;
  double availability_pct = 0.0;
  double p99_ms = 0.0;
  double cost_usd = 0.0;
  double cost_ratio_pct = 0.0;
  std::int64_t dropped = 0;
  std::int64_t trips = 0;
  std::vector<std::size_t> check_passes;  // per expectation, seeds on which it held
  std::uint32_t changed_keys = 0;         // keys of the scenario's own config the point changes
};

// Per point of the definition (indices as d.points), how many keys of scenario
// `scenario`'s own config the point changes: how far it moves from the policy people run
// today. Each swept value is loaded alone and the resulting live config printed by the
// canonical printer (core/config/write.h), parsed back and compared leaf by leaf with the
// scenario's own; a point's count is the sum over its keys (a key only ever moves its
// own line, so summing equals comparing the whole point). A value that does not load
// alone differs from the scenario's (which loads) and counts 1. Errors: the scenario
// text does not load.
Result<std::vector<std::uint32_t>> changed_keys(const Definition& d, std::uint32_t scenario);

// The summaries of every point of `scenario` that has records, in point order;
// `changed` (from changed_keys, empty: all 0) fills changed_keys.
std::vector<PointSummary> summarize(const Shard& merged, std::uint32_t scenario,
                                    const std::vector<std::uint32_t>& changed = {});

// Indices into `points`, best first: the most seeds passed (as a share), then the
// higher worst availability, the lower worst p99, the lower worst cost; points equal in
// all of that go to the fewest changed keys (the one closest to the scenario's own
// policy: a change that makes no difference is no advice), then the lower point index
// -- a total order, so the ranking never depends on input order.
std::vector<std::size_t> ranking(const std::vector<PointSummary>& points);

// Why no point passes: the expectation of the policy under test that failed on the most
// runs (points x seeds; the first on a tie), and for each swept key how far it moves that
// expectation's figure -- the worst seed's value of its metric when the summaries carry
// it (availability, latency_p99, cost_usd, cost_ratio, dropped, breaker_trips), else the
// number of seeds on which it held -- with the other keys held equal: among the points
// that agree on every other key, the widest spread of the figure across this key's
// values. `points` are one scenario's summaries, `expectations` its
// policy_expectations(). Pure: the report and the console line say the same.
struct KeyEffect {
  std::size_t axis = 0;
  double spread = 0.0;            // the widest; 0 when no two points differ in this key alone
  std::size_t groups = 0;         // groups of >= 2 points that differ in this key alone
  std::uint32_t worse_value = 0;  // in the widest group: the value with the worse figure
  std::uint32_t better_value = 0;
  double worse = 0.0;
  double better = 0.0;
};
struct Diagnosis {
  bool none_failed = false;     // every expectation held: runs failed by losing requests
  std::size_t expectation = 0;  // otherwise: the one failing most, an index into `expectations`
  std::size_t failed_runs = 0;
  std::size_t runs = 0;
  bool by_metric = false;       // the figure is the metric's worst-seed value (else: seeds on which it held)
  std::vector<KeyEffect> keys;  // the key moving the figure most first (stable: ties keep key order)
};
Diagnosis diagnose(const Definition& d, const std::vector<PointSummary>& points,
                   const std::vector<const Expectation*>& expectations);

// True for each point no other point dominates: at least its availability, at most its
// p99 and its cost, and better in one of them (worst-seed figures).
std::vector<bool> pareto_frontier(const std::vector<PointSummary>& points);

// The sweep's output files as (file name, content), in a fixed order: points.csv,
// points.json, report.md and one pareto-<scenario>.svg per scenario.
Result<std::vector<std::pair<std::string, std::string>>> render(const Shard& merged);

// True when, in every scenario, some point passed every expectation on every seed.
bool some_point_passes_everywhere(const Shard& merged);

// One line per scenario for the console, named by its file's stem: how many points
// passed every seed and the best point with its values, or that no point finished.
// Errors: a scenario text that does not load.
Result<std::string> best_points_text(const Shard& merged);

}  // namespace failover::sim::sweep
