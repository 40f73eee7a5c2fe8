// `failover sweep SCENARIO... --set KEY=V1,V2,...`: runs the policy under test of each
// scenario at every point of a grid (or N random points of it) of policy values, on the
// same seeds, on every core, and writes points.csv, points.json, report.md and one
// pareto-<scenario>.svg per scenario (sim/sweep.h). With --shard I/N it runs its
// deterministic 1/N of the points and writes shard-I-of-N.toml instead; `failover merge
// DIR...` combines the shards into the same files as the unsharded run. The unsharded
// run takes that very path -- one shard-0-of-1 written to text, read back and merged in
// memory -- so both give the same bytes by construction. A progress line goes to stderr
// on a terminal only; Ctrl-C stops starting runs, keeps the points whose every seed
// finished and exits 130. Exit codes: 0 when, in every scenario, some point passed every
// expectation on every seed (or a shard was written), 1 when not, 2 on a usage error, a
// scenario or shard that does not load, or an output that cannot be written.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/files.h"
#include "cli/options.h"
#include "cli/parallel.h"
#include "cli/run_limits.h"
#include "core/config/load.h"
#include "sim/expect.h"
#include "sim/scenario_load.h"
#include "sim/sweep.h"

namespace failover::cli {
namespace {

namespace sweep = sim::sweep;
namespace fs = std::filesystem;

constexpr std::size_t kScenarioBytesMax = kFileBytesMax;  // as every config or scenario file (core/config/load.h)

struct SweepOptions {
  std::vector<std::string> paths;
  std::vector<std::string> sets;
  std::size_t random = 0;        // --random N; 0: the whole grid
  std::uint64_t sweep_seed = 1;  // --sweep-seed
  std::size_t seed_count = 0;    // --seeds N: seeds 1..N; 0: the scenario's
  int jobs = 0;                  // 0: every hardware thread
  std::string out;
  std::string shard;        // "I/N", empty: unsharded
  bool allow_long = false;  // --allow-long: run above sim::kEventsMax
};

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
};

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

// ---- the sweep's definition -----------------------------------------------------------

std::optional<std::pair<std::size_t, std::size_t>> parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::size_t i = 0, n = 0;
  const auto number = [](std::string_view s, std::size_t& v) {
    if (s.empty() || s.size() > 6 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    v = std::stoul(std::string(s));
    return true;
  };
  if (!number(std::string_view(text).substr(0, slash), i) || !number(std::string_view(text).substr(slash + 1), n))
    return std::nullopt;
  if (n == 0 || n > sweep::kShardsMax || i >= n) return std::nullopt;
  return std::make_pair(i, n);
}

// The scenarios as loaded (seeds replaced by --seeds) and their entries of the definition.
bool load_scenarios(const SweepOptions& o, std::vector<sim::Scenario>& scenarios, sweep::Definition& d) {
  const std::optional<std::vector<std::string>> files = scenario_files(o.paths);
  if (!files) return false;
  if (files->size() > sweep::kScenariosMax) {
    std::fprintf(stderr, "error: at most %zu scenarios in one sweep\n", sweep::kScenariosMax);
    return false;
  }
  bool ok = true;
  for (const std::string& file : *files) {
    std::optional<std::string> text = read_text(file, kScenarioBytesMax);
    if (!text) return false;
    Result<sim::Scenario> s = sim::load_scenario_string(*text, file);
    if (!s) {
      std::fprintf(stderr, "error: %s\n", s.error().message().c_str());
      ok = false;
      continue;
    }
    if (o.seed_count > 0) {
      s->seeds.clear();
      for (std::uint64_t seed = 1; seed <= o.seed_count; ++seed) s->seeds.push_back(seed);
    }
    for (const sim::Scenario& other : scenarios) {
      if (other.name == s->name) {
        std::fprintf(stderr, "error: %s and %s are both scenario \"%s\"\n", other.path.c_str(), file.c_str(),
                     s->name.c_str());
        ok = false;
      }
    }
    d.scenarios.push_back(sweep::ScenarioEntry{file, std::move(*text), s->seeds});
    scenarios.push_back(std::move(*s));
  }
  return ok;
}

// Parses every --set, draws the points, and tries each value alone on each scenario so
// that a bad key or value is named before anything runs.
bool define_points(const SweepOptions& o, sweep::Definition& d) {
  for (const std::string& set : o.sets) {
    Result<sweep::Axis> axis = sweep::parse_set(set);
    if (!axis) {
      std::fprintf(stderr, "error: %s\n", axis.error().message().c_str());
      return false;
    }
    d.axes.push_back(std::move(*axis));
  }
  Result<std::vector<sweep::Point>> points =
      o.random > 0 ? sweep::random_points(d.axes, o.random, o.sweep_seed) : sweep::grid(d.axes);
  if (!points) {
    std::fprintf(stderr, "error: %s\n", points.error().message().c_str());
    return false;
  }
  d.points = std::move(*points);
  d.mode = o.random > 0 ? "random " + std::to_string(o.random) + " (sweep seed " + std::to_string(o.sweep_seed) + ")"
                        : "grid";
  for (const sweep::Axis& axis : d.axes) {
    for (const std::string& value : axis.values) {
      for (const sweep::ScenarioEntry& e : d.scenarios) {
        const Result<sim::Scenario> s =
            sim::load_scenario_string(e.text, e.path, {sim::PolicyOverride{axis.key, value}});
        if (s) continue;
        std::fprintf(stderr, "error: --set %s=%s: %s\n", axis.key.c_str(), sweep::display_value(value).c_str(),
                     s.error().message().c_str());
        return false;
      }
    }
  }
  return true;
}

// ---- running -----------------------------------------------------------------------

// The progress line on stderr, on a terminal only.
class Progress {
 public:
  Progress(std::size_t points, std::size_t runs) : points_(points), runs_(runs), shown_(isatty(fileno(stderr)) == 1) {}
  void update(std::size_t points_done, std::size_t runs_done) {
    if (!shown_) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (runs_done < runs_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0.0 ? static_cast<double>(points_done) / seconds : 0.0;
    const double eta =
        runs_done > 0 ? seconds * static_cast<double>(runs_ - runs_done) / static_cast<double>(runs_done) : 0.0;
    std::fprintf(stderr, "\rpoints %zu/%zu, seeds %zu/%zu, %.1f points/s, ETA %.0fs   ", points_done, points_,
                 runs_done, runs_, rate, eta);
    std::fflush(stderr);
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  std::size_t points_;
  std::size_t runs_;
  bool shown_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

// What this process runs: its points (indices into the definition's), each point's
// policy under test per scenario, and the tasks: point-major, then scenario, then seed.
struct Plan {
  std::vector<std::uint32_t> points;
  std::vector<std::vector<Config>> configs;  // [local point][scenario]
  std::vector<std::size_t> first_task;       // per scenario, offset of its seeds within a point
  std::size_t tasks_per_point = 0;
};

// Loads every point's policy under test (in parallel); a combination the validation
// rejects (say open_base above open_max) is named here, before anything runs.
bool plan_points(const sweep::Definition& d, std::size_t shard, std::size_t shards, int jobs, Plan& plan) {
  for (std::uint32_t p = 0; p < d.points.size(); ++p) {
    if (sweep::shard_of(p, shards) == shard) plan.points.push_back(p);
  }
  for (const sweep::ScenarioEntry& e : d.scenarios) {
    plan.first_task.push_back(plan.tasks_per_point);
    plan.tasks_per_point += e.seeds.size();
  }
  const std::size_t n = d.scenarios.size();
  plan.configs.assign(plan.points.size(), std::vector<Config>(n));
  std::vector<std::string> errors(plan.points.size() * n);
  parallel_for(jobs, errors.size(), [&](std::size_t t) {
    const std::uint32_t p = plan.points[t / n];
    const sweep::ScenarioEntry& e = d.scenarios[t % n];
    Result<sim::Scenario> s = sim::load_scenario_string(e.text, e.path, sweep::overrides_of(d.axes, d.points[p]));
    if (!s) {
      std::string values;
      for (const sim::PolicyOverride& v : sweep::overrides_of(d.axes, d.points[p]))
        values += (values.empty() ? "" : ", ") + v.key + "=" + sweep::display_value(v.value);
      errors[t] = "error: point " + std::to_string(p) + " (" + values + "): " + s.error().message() + "\n";
      return;
    }
    plan.configs[t / n][t % n] = std::move(s->policies.front().config);
  });
  const auto bad = std::find_if(errors.begin(), errors.end(), [](const std::string& m) { return !m.empty(); });
  if (bad != errors.end()) std::fputs(bad->c_str(), stderr);
  return bad == errors.end();
}

// Whether every run of the plan (each point's policy on each scenario's seeds) fits
// sim::kEventsMax; says why on stderr when not.
bool within_limits(const std::vector<sim::Scenario>& scenarios, const sweep::Definition& d, const Plan& plan,
                   bool allow_long) {
  sim::RunEstimate total;
  for (std::size_t j = 0; j < plan.points.size(); ++j) {
    for (std::size_t s = 0; s < scenarios.size(); ++s) {
      const sim::RunEstimate one = sim::estimate_run(scenarios[s], sim::NamedPolicy{"policy", plan.configs[j][s], ""});
      const auto seeds = static_cast<double>(d.scenarios[s].seeds.size());
      total.arrivals += one.arrivals * seeds;
      total.events += one.events * seeds;
    }
  }
  return within_run_limits("this sweep", total, plan.points.size() * plan.tasks_per_point, allow_long);
}

// Runs the plan; the records of every (point, scenario) whose seeds all finished.
sweep::Shard run_plan(const std::vector<sim::Scenario>& scenarios, const sweep::Definition& d, const Plan& plan,
                      int jobs) {
  const std::size_t total = plan.points.size() * plan.tasks_per_point;
  std::vector<std::optional<sweep::Record>> records(total);
  std::vector<std::atomic<std::size_t>> left(plan.points.size());
  for (std::atomic<std::size_t>& l : left) l.store(plan.tasks_per_point);
  std::atomic<std::size_t> runs_done{0}, points_done{0};
  Progress progress(plan.points.size(), total);
  const auto task = [&](std::size_t t) {
    const std::size_t j = t / plan.tasks_per_point;
    const std::size_t within = t % plan.tasks_per_point;
    std::size_t s = 0;
    while (s + 1 < plan.first_task.size() && plan.first_task[s + 1] <= within) ++s;
    const sim::Scenario& sc = scenarios[s];
    const sim::NamedPolicy policy{"policy", plan.configs[j][s], ""};
    sim::RunResult run = sim::run_simulation(sc.run_spec(policy, d.scenarios[s].seeds[within - plan.first_task[s]]));
    records[t] = sweep::record_of(sc, static_cast<std::uint32_t>(s), plan.points[j], std::move(run));
  };
  const auto done = [&](std::size_t t, double) {
    const std::size_t runs = ++runs_done;
    const std::size_t points = left[t / plan.tasks_per_point].fetch_sub(1) == 1 ? ++points_done : points_done.load();
    progress.update(points, runs);
  };
  parallel_for(jobs, total, task, &g_stop, done);
  progress.finish();
  sweep::Shard shard;
  for (std::size_t j = 0; j < plan.points.size(); ++j) {
    for (std::size_t s = 0; s < d.scenarios.size(); ++s) {
      const std::size_t from = j * plan.tasks_per_point + plan.first_task[s];
      const std::size_t to = from + d.scenarios[s].seeds.size();
      const bool complete = std::all_of(records.begin() + static_cast<std::ptrdiff_t>(from),
                                        records.begin() + static_cast<std::ptrdiff_t>(to),
                                        [](const std::optional<sweep::Record>& r) { return r.has_value(); });
      shard.partial = shard.partial || !complete;
      for (std::size_t t = from; complete && t < to; ++t) shard.records.push_back(std::move(*records[t]));
    }
  }
  return shard;
}

// ---- writing -----------------------------------------------------------------------

// Renders the merged sweep into `dir`; the exit code.
int write_outputs(const sweep::Shard& merged, const std::string& dir) {
  const Result<std::vector<std::pair<std::string, std::string>>> files = sweep::render(merged);
  if (!files) {
    std::fprintf(stderr, "error: %s\n", files.error().message().c_str());
    return 2;
  }
  const Result<std::string> best = sweep::best_points_text(merged);
  if (!best) {
    std::fprintf(stderr, "error: %s\n", best.error().message().c_str());
    return 2;
  }
  if (!write_files(dir, *files)) return 2;
  std::fputs(best->c_str(), stdout);
  for (const auto& [name, text] : *files) {
    if (name.starts_with("best-"))
      std::printf("best point as a live config: %s\n", (fs::path(dir) / name).string().c_str());
  }
  std::printf("report written to %s\n", (fs::path(dir) / "report.md").string().c_str());
  return sweep::some_point_passes_everywhere(merged) ? 0 : 1;
}

// Whether `dir` exists (or can be made) and takes a file: checked before any run, so
// that a bad --out costs a second rather than a whole sweep.
bool check_out_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "error: --out %s: cannot create the folder: %s\n", dir.c_str(), ec.message().c_str());
    return false;
  }
  const fs::path probe = fs::path(dir) / (".failover-write-check-" + std::to_string(getpid()));
  bool writable = false;
  {
    std::ofstream out(probe, std::ios::binary | std::ios::trunc);
    writable = static_cast<bool>(out << "");
    out.close();
    writable = writable && !out.fail();
  }
  fs::remove(probe, ec);
  if (!writable) std::fprintf(stderr, "error: --out %s: cannot write in the folder\n", dir.c_str());
  return writable;
}

int run_sweep(const SweepOptions& o) {
  std::optional<std::pair<std::size_t, std::size_t>> shard{std::make_pair(std::size_t{0}, std::size_t{1})};
  if (!o.shard.empty()) shard = parse_shard(o.shard);
  if (!shard) {
    std::fprintf(stderr, "error: --shard %s: expected I/N with 0 <= I < N <= %zu (I counts from 0)\n", o.shard.c_str(),
                 sweep::kShardsMax);
    return 2;
  }
  std::vector<sim::Scenario> scenarios;
  sweep::Definition d;
  if (!load_scenarios(o, scenarios, d) || !define_points(o, d)) return 2;
  const int jobs = o.jobs > 0 ? o.jobs : hardware_jobs();
  Plan plan;
  if (!plan_points(d, shard->first, shard->second, jobs, plan)) return 2;
  if (!within_limits(scenarios, d, plan, o.allow_long)) return 2;
  if (!check_out_dir(o.out)) return 2;  // after the cheap checks, before any run
  std::fprintf(stderr, "sweep: %zu points (%s), this run %zu, x %zu runs each = %zu runs on %d threads\n",
               d.points.size(), d.mode.c_str(), plan.points.size(), plan.tasks_per_point,
               plan.points.size() * plan.tasks_per_point, jobs);
  g_stop.store(false);
  const auto previous = std::signal(SIGINT, on_interrupt);
  sweep::Shard result = run_plan(scenarios, d, plan, jobs);
  std::signal(SIGINT, previous == SIG_ERR ? SIG_DFL : previous);
  const bool interrupted = g_stop.load();
  if (interrupted) std::fprintf(stderr, "interrupted: writing the %zu finished runs\n", result.records.size());
  result.definition = std::move(d);
  result.index = shard->first;
  result.count = shard->second;
  const std::string text = sweep::write_shard(result);
  int code = 0;
  if (!o.shard.empty()) {
    if (!write_files(o.out, {{sweep::shard_file_name(result.index, result.count), text}})) return 2;
    std::printf("shard written to %s\n",
                (fs::path(o.out) / sweep::shard_file_name(result.index, result.count)).string().c_str());
  } else {
    // The same path as `failover merge`: the shard's text, read back and merged.
    Result<sweep::Shard> read = sweep::read_shard(text, "(this run)");
    Result<sweep::Shard> merged = read ? sweep::merge({std::move(*read)}, {"(this run)"}) : read.error();
    if (!merged) {
      std::fprintf(stderr, "error: cannot read this run's results back: %s\n", merged.error().message().c_str());
      return 2;
    }
    code = write_outputs(*merged, o.out);
  }
  return interrupted ? 130 : code;
}

// ---- merge -------------------------------------------------------------------------

// The shard files named: each file as given, each folder's shard-*-of-*.toml sorted.
std::optional<std::vector<std::string>> shard_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!fs::is_directory(input, ec)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.starts_with("shard-") && name.ends_with(".toml")) found.push_back(it->path().string());
    }
    if (ec || found.empty()) {
      std::fprintf(stderr, "error: %s: %s\n", input.c_str(),
                   ec ? ec.message().c_str() : "holds no shard-I-of-N.toml file");
      return std::nullopt;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

int run_merge(const MergeOptions& o) {
  const std::optional<std::vector<std::string>> files = shard_files(o.inputs);
  if (!files) return 2;
  std::vector<sweep::Shard> shards;
  for (const std::string& file : *files) {
    const std::optional<std::string> text = read_text(file, sweep::kShardBytesMax);
    if (!text) return 2;
    Result<sweep::Shard> shard = sweep::read_shard(*text, file);
    if (!shard) {
      std::fprintf(stderr, "error: %s\n", shard.error().message().c_str());
      return 2;
    }
    shards.push_back(std::move(*shard));
  }
  Result<sweep::Shard> merged = sweep::merge(std::move(shards), *files);
  if (!merged) {
    std::fprintf(stderr, "error: %s\n", merged.error().message().c_str());
    return 2;
  }
  std::error_code ec;
  const std::string out = !o.out.empty()                           ? o.out
                          : fs::is_directory(o.inputs.front(), ec) ? o.inputs.front()
                                                                   : fs::path(o.inputs.front()).parent_path().string();
  return write_outputs(*merged, out.empty() ? "." : out);
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Sweep policy parameters over seeds: ranking, Pareto frontier, best policy (docs/sweep.md)");
  cmd->add_option("SCENARIO", o->paths, "scenario file, or folder of *.toml scenarios")->required();
  cmd->add_option("--set", o->sets,
                  "KEY=V1,V2,... or KEY=LO..HI:STEP; KEY is a dotted path under [policy] or "
                  "providers.NAME.concurrency_max (repeatable)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--random", o->random, "run N distinct random points of the grid instead of all of it")
      ->check(CLI::Range(std::size_t{1}, sweep::kPointsMax));
  cmd->add_option("--sweep-seed", o->sweep_seed, "seed of the random points (default 1)")->check(seed_text());
  cmd->add_option("--seeds", o->seed_count, "run seeds 1..N instead of each scenario's")
      ->check(CLI::Range(std::size_t{1}, sim::kSeedsMax));
  cmd->add_option("--jobs", o->jobs, "runs at once (default: every hardware thread; results do not depend on it)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--out", o->out, "folder for points.csv, points.json, report.md, pareto-*.svg (or the shard file)")
      ->required();
  cmd->add_option("--shard", o->shard,
                  "run shard I of N (0 <= I < N): the points p with p mod N == I; write shard-I-of-N.toml");
  add_allow_long_flag(*cmd, o->allow_long);
  cmd->callback([o] { set_exit_code(run_sweep(*o)); });
}

void add_merge_command(CLI::App& app) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* cmd = app.add_subcommand("merge", "Combine the shards of a sweep into its report (docs/sweep.md)");
  cmd->add_option("DIR", o->inputs, "folder of shard-I-of-N.toml files, or a shard file (repeatable)")->required();
  cmd->add_option("--out", o->out, "folder for the outputs (default: the first DIR)");
  cmd->callback([o] { set_exit_code(run_merge(*o)); });
}

}  // namespace failover::cli
