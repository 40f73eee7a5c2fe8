// Swarm exploration (docs/explore.md): draws whole scenarios from a base scenario, a seed
// and a draw index alone -- each draw picks its own subset of fault kinds and failing
// providers, its own faults, traffic rate, spike, token sizes, capacities and horizon
// within the base's [explore] bounds -- judges each with the oracles of oracle.h, and
// shrinks a violation to a smaller draw that still fails the same oracle. A draw is made
// by editing the base's parsed TOML and loading the result through the ordinary loader,
// so every draw passes the same validation and a finding file is exactly what ran.
// Threads, shards and output files are the caller's (cli/explore_command.cpp); the
// records they merge are defined here, and every output is a pure function of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/engine/result.h"
#include "sim/oracle.h"
#include "sim/scenario.h"

namespace failover::sim::explore {

inline constexpr std::size_t kBasesMax = 64;
inline constexpr std::uint64_t kDrawsMax = 10'000'000;
inline constexpr std::size_t kShrinkStepsMax = 10'000;
inline constexpr std::size_t kShardsMax = 10'000;
inline constexpr std::size_t kShardBytesMax = std::size_t{1} << 30;  // a shard file read back: 1 GiB, as a sweep's

// One drawn fault. `id` is its position in the original draw: it names the fault
// ("x<id>") and so its random stream, which shrinking never changes.
struct DrawFault {
  std::uint32_t id = 0;
  Index provider = kNoIndex;
  FaultKind kind = FaultKind::http_error;
  Duration start{0};
  Duration duration{0};
  std::int64_t intensity_ppm = 1'000'000;
  Duration ramp_up{0};
  Duration ramp_down{0};
  std::int32_t status = 503;             // http_error
  std::optional<Duration> retry_after;   // http_error
  Duration delay = ms(1);                // http_error, connect_error
  bool reset = false;                    // connect_error
  std::int64_t factor_permille = 1'000;  // latency
};

struct Spike {
  Duration start{0};
  Duration duration{0};
  std::int64_t peak_permille = 1'000;  // of the (scaled) rate
};

// Everything a draw changes in its base. Shrinking edits it; render() writes it.
struct Draw {
  std::uint64_t index = 0;
  std::uint64_t sim_seed = 1;
  Duration horizon{0};
  std::int64_t rate_permille = 1'000;
  std::optional<Spike> spike;
  std::int64_t tokens_permille = 1'000;
  std::vector<std::int64_t> capacity_permille;  // per base provider; 1000: as written
  std::vector<DrawFault> faults;
  std::vector<Index> dropped_providers;  // removed with their route targets (shrinking)
};

// A base scenario: its file's text, as loaded, and the policy under test.
struct Base {
  std::string path;
  std::string text;
  Scenario scenario;
  std::string policy = "policy";
};

// Loads the base; an error names file:line:col, or the policy that is not one of the
// scenario's ("--policy case-study" needs `case_study = true` in [baselines]).
Result<Base> load_base(std::string path, std::string text, std::string policy);

// Draw `index` of `seed`: a function of (base, seed, index) alone.
Draw draw(const Base& base, std::uint64_t seed, std::uint64_t index);

// What render() writes. `faults` false: the draw without its faults (healthy-day).
// `keep_expects`: the base's [[expect]] lines of the policy under test; `extra` more,
// for the policy under test. `header`: comment lines put first.
struct RenderOptions {
  bool faults = true;
  bool keep_expects = true;
  std::vector<Expectation> extra;
  std::string header;
};

// The draw as a scenario file: the base's parsed TOML with the draw applied, [explore]
// removed, only `direct` and the policy under test kept beside it.
Result<std::string> render(const Base& base, const Draw& draw, const RenderOptions& options = {});

// A loaded draw and its oracles' verdicts.
struct Evaluation {
  std::string text;
  Scenario scenario;
  Scenario fault_free;
  OracleRuns runs;
  std::vector<Verdict> verdicts;  // of the oracles in the set, in Oracle order

  [[nodiscard]] const Verdict* verdict(Oracle oracle) const;
};

// Renders, loads and runs the draw for the oracles in `set`. `fault_free` reuses a run
// of the draw without faults made earlier (it depends only on the draw's other parts).
Result<Evaluation> evaluate(const Base& base, const Draw& draw, const OracleSet& set,
                            const std::optional<RunResult>& fault_free = std::nullopt,
                            const ParallelFor& parallel_for = {});

// How big a draw is, for reports: faults, their summed duration, the horizon, the rate.
struct Size {
  std::size_t faults = 0;
  Duration fault_time{0};
  Duration horizon{0};
  std::int64_t rate_rpm = 0;
  std::size_t providers = 0;
};
Size size_of(const Base& base, const Draw& draw);
std::string size_text(const Size& size);

// Shrinks `original`, which fails `oracle`: tries smaller draws in a fixed order --
// drop a fault, shorten the horizon, shorten, move earlier and weaken a fault, drop a
// spike, lower the rate, undo token and capacity changes, drop an unused provider --
// keeping the first that still fails the same oracle, until none does or `steps_max`
// evaluations ran. Deterministic.
struct Shrunk {
  Draw draw;
  Verdict verdict;
  std::size_t steps = 0;     // evaluations
  std::size_t accepted = 0;  // of which kept
};
Shrunk shrink(const Base& base, const Draw& original, const Verdict& failed, std::size_t steps_max);

// The finding file: a header naming base, seed, index, oracle and both sizes, then the
// shrunk draw with the failure as [[expect]] lines where a metric fits.
Result<std::string> finding_text(const Base& base, std::uint64_t seed, const Draw& original, const Shrunk& shrunk);

// ---- records, shards and merging ---------------------------------------------------

// What one draw showed, for the report.
struct DrawRecord {
  std::uint32_t base = 0;
  std::uint64_t index = 0;
  std::uint32_t faults = 0;
  std::vector<std::uint32_t> coverage;  // provider * 8 + kind, sorted, each once
  std::uint32_t judged = 0;             // bit per Oracle
  std::uint32_t failed = 0;
  std::int64_t availability_ppm = 0;
  std::int64_t direct_ppm = -1;    // -1: direct not run
  std::int64_t cost_permille = 0;  // of the all-primary plan
  std::string detail;              // the failing verdicts, one line
};

// The record of draw `d` of base `base` from its evaluation.
DrawRecord record_of(std::uint32_t base, const Draw& d, const Evaluation& evaluation);

struct FindingRecord {
  std::uint32_t base = 0;
  std::uint64_t index = 0;
  Oracle oracle = Oracle::invariants;
  std::string detail;  // the shrunk draw's verdict
  std::string original_size;
  std::string shrunk_size;
  std::uint64_t steps = 0;
  std::string text;  // the finding file
};

struct BaseEntry {
  std::string path;
  std::string hash;  // of the file's text
  std::vector<std::string> providers;
};

// One exploration's definition and what a shard of it found (a whole run is shard 0 of 1).
struct Run {
  std::vector<BaseEntry> bases;
  std::string policy = "policy";
  std::uint64_t seed = 1;
  std::uint64_t budget = 0;  // draws per base; 0: until --time ran out
  OracleSet oracles = kAllOracles;
  bool keep_going = false;
  std::uint64_t shrink_steps = 0;
  std::size_t index = 0;
  std::size_t count = 1;
  bool partial = false;                 // stopped by time or Ctrl-C
  std::vector<DrawRecord> draws;        // sorted by task (index * bases + base)
  std::vector<FindingRecord> findings;  // sorted by task, then oracle
};

// Task t of an exploration over `bases` files: base t mod bases, draw t / bases. Shard
// of task t: t mod count.
std::uint64_t task_of(std::uint32_t base, std::uint64_t index, std::size_t bases);

// Which findings to shrink among `draws` (sorted by task): without keep_going, every
// failed oracle of the first failing draw; with it, the first failing draw of each
// (base, oracle). As (draw position, oracle).
std::vector<std::pair<std::size_t, Oracle>> findings_to_shrink(const std::vector<DrawRecord>& draws, std::size_t bases,
                                                               bool keep_going);

std::string shard_file_name(std::size_t index, std::size_t count);
std::string write_shard(const Run& run);
Result<Run> read_shard(std::string_view text, std::string_view name);

// Combines shards into what one machine would have found: same definition, every index
// once; without keep_going, draws after the first failing task are dropped; findings
// are re-selected as findings_to_shrink would.
Result<Run> merge(std::vector<Run> shards, const std::vector<std::string>& names);

// The outputs as (relative path, content): report.md, findings.json and
// findings/NNN-<oracle>.toml.
std::vector<std::pair<std::string, std::string>> render_outputs(const Run& merged);
// Where render_outputs puts the n-th finding (from 0): "findings/NNN-<oracle>.toml".
std::string finding_file(std::size_t n, const FindingRecord& finding);
// The draws on which some oracle failed; the exploration fails when there is one.
std::size_t failing_draws(const Run& run);

}  // namespace failover::sim::explore
