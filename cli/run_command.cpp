// `failover run PATH...`: loads every scenario named (a folder stands for the *.toml
// files in it, sorted by name), runs every policy on every seed of each, prints per
// scenario its tables and verdict (sim/run_report.h), optionally checks determinism
// (sim/determinism.h), and writes the reports: one folder of per-scenario reports
// (--report-dir), one JSON document over every scenario (--json) and one JUnit XML file
// with a test suite per scenario (--junit). Wall time is read here, in cli/, never in
// sim/; apart from wall times every output is the same whatever --jobs is. Exit code: 0
// when every scenario passes (sim::ScenarioRun::passed), 1 otherwise, 2 on a usage
// error, a scenario that does not load or an output that cannot be written.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/live_run.h"
#include "cli/options.h"
#include "cli/parallel.h"
#include "cli/run_limits.h"
#include "core/config/toml_values.h"
#include "serve/fleet_wire.h"
#include "sim/determinism.h"
#include "sim/expect.h"
#include "sim/preflight.h"
#include "sim/report.h"
#include "sim/run_report.h"
#include "sim/scenario_load.h"

namespace failover::cli {
namespace {

struct RunOptions {
  std::vector<std::string> paths;
  std::vector<std::uint64_t> seeds;  // --seed, repeatable
  std::size_t seed_count = 0;        // --seeds N: seeds 1..N; 0: not given
  std::vector<std::string> policies;
  std::string report_dir;  // --report-dir (alias --out)
  std::string json_file;   // "-": stdout
  std::string junit_file;  // "-": stdout
  bool check_determinism = false;
  bool preflight = true;
  bool allow_long = false;  // --allow-long: run above sim::kEventsMax (and, --live, above what the machine carries)
  int jobs = 1;
  bool live = false;            // --live: the live world, beside the simulator's (cli/live_run.h)
  std::int64_t time_scale = 1;  // --time-scale K of a --live run
  std::string until;            // --until D of a --live run: both worlds replay the first D only; empty: all
};

// ---- selecting the scenarios, policies and seeds -------------------------------------

void replace_seeds(sim::Scenario& s, const RunOptions& o) {
  if (o.seed_count > 0) {
    s.seeds.clear();
    for (std::uint64_t seed = 1; seed <= o.seed_count; ++seed) s.seeds.push_back(seed);
  } else if (!o.seeds.empty()) {
    s.seeds.clear();
    for (const std::uint64_t seed : o.seeds) {
      if (std::find(s.seeds.begin(), s.seeds.end(), seed) == s.seeds.end()) s.seeds.push_back(seed);
    }
  }
}

// Keeps the policies asked for with --policy in every scenario; expectations about a
// policy left out are left out too. A name no scenario runs, or a scenario left with no
// policy, is an error (said on stderr; returns false).
bool select_policies(std::vector<sim::Scenario>& scenarios, const RunOptions& o) {
  if (o.policies.empty()) return true;
  bool ok = true;
  for (const std::string& name : o.policies) {
    const bool somewhere = std::any_of(scenarios.begin(), scenarios.end(),
                                       [&](const sim::Scenario& s) { return s.find_policy(name) != nullptr; });
    if (somewhere) continue;
    std::string names;
    for (const sim::NamedPolicy& p : scenarios.front().policies) names += (names.empty() ? "" : ", ") + p.name;
    std::fprintf(stderr, "error: --policy %s: %s runs no such policy (%s runs: %s)\n", name.c_str(),
                 scenarios.size() == 1 ? "the scenario" : "no scenario", scenarios.front().path.c_str(), names.c_str());
    ok = false;
  }
  if (!ok) return false;
  const auto unwanted = [&](const std::string& name) {
    return std::find(o.policies.begin(), o.policies.end(), name) == o.policies.end();
  };
  for (sim::Scenario& s : scenarios) {
    std::erase_if(s.policies, [&](const sim::NamedPolicy& p) { return unwanted(p.name); });
    std::erase_if(s.expectations, [&](const sim::Expectation& e) { return unwanted(e.policy); });
    if (s.policies.empty()) {
      std::fprintf(stderr, "error: %s: runs none of the policies given with --policy\n", s.path.c_str());
      ok = false;
    }
  }
  return ok;
}

// Loads every file (reporting every load error, not just the first file's), applies the
// seed and policy selection and refuses two scenarios of the same name (their reports
// would overwrite each other). Empty after saying why on stderr.
std::optional<std::vector<sim::Scenario>> load_scenarios(const RunOptions& o) {
  const std::optional<std::vector<std::string>> files = scenario_files(o.paths);
  if (!files) return std::nullopt;
  std::vector<sim::Scenario> scenarios;
  bool ok = true;
  for (const std::string& file : *files) {
    Result<sim::Scenario> loaded = sim::load_scenario_file(file);
    if (!loaded) {
      std::fprintf(stderr, "error: %s\n", loaded.error().message().c_str());
      ok = false;
      continue;
    }
    scenarios.push_back(std::move(*loaded));
  }
  if (!ok) return std::nullopt;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (scenarios[i].name != scenarios[j].name) continue;
      std::fprintf(stderr, "error: %s and %s are both scenario \"%s\": give one another name\n",
                   scenarios[j].path.c_str(), scenarios[i].path.c_str(), scenarios[i].name.c_str());
      ok = false;
    }
  }
  if (!ok || !select_policies(scenarios, o)) return std::nullopt;
  for (sim::Scenario& s : scenarios) replace_seeds(s, o);
  return scenarios;
}

// Whether every run this command would make (each policy on each seed, three times over
// with --check-determinism) fits sim::kEventsMax; says why on stderr when not.
bool within_limits(const std::vector<sim::Scenario>& scenarios, const RunOptions& o) {
  const double repeats = o.check_determinism ? 3.0 : 1.0;  // determinism_problems runs everything twice more
  for (const sim::Scenario& s : scenarios) {
    sim::RunEstimate total;
    std::size_t runs = 0;
    for (const sim::NamedPolicy& p : s.policies) {
      const sim::RunEstimate one = sim::estimate_run(s, p);
      const double n = static_cast<double>(s.seeds.size()) * repeats;
      total.arrivals += one.arrivals * n;
      total.events += one.events * n;
      runs += s.seeds.size() * static_cast<std::size_t>(repeats);
    }
    if (!within_run_limits(s.path + ":", total, runs, o.allow_long)) return false;
  }
  return true;
}

// ---- the command -----------------------------------------------------------------

// An output file opened before anything runs (so that a bad path fails at once), or
// stdout for "-". The folder it goes in is created, as --report-dir's is: a CI job
// writes `--junit out/results.xml` into a fresh checkout.
class OutputFile {
 public:
  bool open(const std::string& path, const char* flag) {
    path_ = path;
    if (path.empty() || path == "-") return true;
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!folder.empty()) std::filesystem::create_directories(folder, ec);
    if (ec) {
      std::fprintf(stderr, "error: %s %s: cannot create the folder %s: %s\n", flag, path.c_str(),
                   folder.string().c_str(), ec.message().c_str());
      return false;
    }
    file_.open(path, std::ios::binary | std::ios::trunc);
    if (!file_) std::fprintf(stderr, "error: %s %s: cannot open the file for writing\n", flag, path.c_str());
    return static_cast<bool>(file_);
  }
  [[nodiscard]] bool wanted() const { return !path_.empty(); }
  bool write(const std::string& text) {
    if (path_.empty()) return true;
    if (path_ == "-")
      return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
    file_.write(text.data(), static_cast<std::streamsize>(text.size()));
    file_.close();
    if (!file_) std::fprintf(stderr, "error: %s: cannot write the file\n", path_.c_str());
    return static_cast<bool>(file_);
  }

 private:
  std::string path_;
  std::ofstream file_;
};

// Runs one scenario, prints its tables, checks determinism when asked and writes its
// report folder; `written` turns false when the folder cannot be written.
sim::ScenarioRun run_one(std::FILE* out, const sim::Scenario& s, const RunOptions& o, bool& written) {
  std::fputs(sim::scenario_heading(s).c_str(), out);
  std::fflush(out);
  sim::ScenarioRun run;
  run.result = sim::run_scenario(s, timed_parallel_for(o.jobs, run.wall_seconds));
  if (o.preflight) run.result.warnings = sim::preflight_warnings(s, run.result, sim::preflight_run(s));
  std::fputs(sim::scenario_tables(run).c_str(), out);
  for (const std::string& w : run.result.warnings) std::fprintf(out, "preflight: %s\n", w.c_str());
  std::fflush(out);
  if (o.check_determinism) {
    std::vector<double> unused;
    const std::vector<std::string> problems = sim::determinism_problems(run.result, timed_parallel_for(o.jobs, unused));
    for (const std::string& m : problems) std::fputs(m.c_str(), stderr);
    if (problems.empty()) std::fprintf(out, "\ndeterminism: every run repeated twice with the same digest\n");
    run.deterministic = problems.empty();
  }
  if (!o.report_dir.empty()) {
    const Status status = sim::write_reports(run.result, o.report_dir);
    if (!status) {
      std::fprintf(stderr, "error: %s\n", status.error().message().c_str());
      written = false;
    } else {
      std::fprintf(out, "report written to %s\n", o.report_dir.c_str());
    }
  }
  std::fputs(sim::verdict_text(run).c_str(), out);
  std::fflush(out);
  return run;
}

// ---- --live: the live world beside the simulator's --------------------------------

// What a --live run runs of a scenario: its first seed (or the first given), and the
// policies given with --policy, else the policy under test only (each policy is a run
// of duration / K in real time); expectations about the others are left out.
sim::Scenario live_subject(const sim::Scenario& s, const RunOptions& o, Duration until) {
  sim::Scenario out = s;
  out.seeds.resize(1);
  if (until < out.duration) {
    out.duration = until;
    out.traffic.end = std::min(out.traffic.end, kTimeZero + until);
  }
  if (o.policies.empty()) {
    out.policies.resize(1);
    std::erase_if(out.expectations, [&](const sim::Expectation& e) { return e.policy != out.policies.front().name; });
  }
  return out;
}

// Whether every scenario's live run fits the machine (cli/live_run.h); says why on
// stderr when not. With --allow-long it warns and goes on.
bool live_within_limits(const std::vector<sim::Scenario>& scenarios, const RunOptions& o) {
  bool ok = true;
  for (const sim::Scenario& s : scenarios) {
    const LiveEstimate e = estimate_live(s, o.time_scale);
    const std::optional<std::string> why = live_refusal(e, o.time_scale);
    if (!why) continue;
    if (o.allow_long) {
      std::fprintf(stderr, "warning: %s: %s; running it as --allow-long asks\n", s.path.c_str(), why->c_str());
      continue;
    }
    std::fprintf(stderr, "error: %s: refusing --live: %s (--allow-long runs it anyway)\n", s.path.c_str(),
                 why->c_str());
    ok = false;
  }
  return ok;
}

// The checks of the expectations about the policies that ran.
void check_live(sim::ScenarioResult& r) {
  const sim::Scenario& s = *r.scenario;
  for (const sim::Expectation& e : s.expectations) {
    const auto it = std::find_if(r.policies.begin(), r.policies.end(),
                                 [&](const sim::PolicyResult& p) { return p.name == e.policy; });
    if (it != r.policies.end()) r.checks.push_back(sim::check_expectation(e, s, *it));
  }
}

// Runs the scenario's policies in both worlds, prints the live world's tables and each
// policy's two worlds side by side, and writes the live world's report folder (`ok`
// turns false when it cannot be written). Empty, after saying why, when a live run
// cannot start (the fleet, the CA or the driver): nothing is reported half.
std::optional<sim::ScenarioRun> run_live_one(std::FILE* out, const sim::Scenario& s, const RunOptions& o, bool& ok) {
  std::fputs(sim::scenario_heading(s).c_str(), out);
  const LiveEstimate e = estimate_live(s, o.time_scale);
  std::fprintf(out, "world: live, time scale %lld: %.0f s of real time per policy, up to %.0f arrivals per second\n",
               static_cast<long long>(o.time_scale), e.real_seconds, e.peak_per_second);
  std::fflush(out);
  const sim::ScenarioResult simulated = sim::run_scenario(s);
  sim::ScenarioRun run;
  run.live = true;
  run.result.scenario = &s;
  for (std::size_t i = 0; i < s.policies.size(); ++i) {
    const sim::NamedPolicy& p = s.policies[i];
    Result<LiveRun> live = run_live(s, p, s.seeds.front(), o.time_scale);
    if (!live) {
      std::fprintf(stderr, "error: %s: policy %s: %s\n", s.path.c_str(), p.name.c_str(),
                   live.error().message().c_str());
      return std::nullopt;
    }
    run.result.conserved = run.result.conserved && live->run.conserved;
    run.result.policies.push_back({p.name, p.description, {live->run}});
    run.wall_seconds.push_back(live->notes.wall_seconds);
    run.simulated.push_back(simulated.policies[i].runs.front());
    run.live_notes.push_back(live->notes);
  }
  check_live(run.result);
  std::fputs(sim::scenario_tables(run).c_str(), out);
  for (std::size_t i = 0; i < s.policies.size(); ++i) {
    std::fputs(sim::two_worlds_table(s, s.policies[i].name, run.simulated[i], run.result.policies[i].runs.front(),
                                     run.live_notes[i])
                   .c_str(),
               out);
  }
  if (!o.report_dir.empty()) {
    const Status status = sim::write_reports(run.result, o.report_dir);
    if (!status) {
      std::fprintf(stderr, "error: %s\n", status.error().message().c_str());
      ok = false;
    } else {
      std::fprintf(out, "report (live world) written to %s\n", o.report_dir.c_str());
    }
  }
  std::fputs(sim::verdict_text(run).c_str(), out);
  std::fflush(out);
  return run;
}

int run(const RunOptions& o) {
  if (o.seeds.size() > sim::kSeedsMax) {
    std::fprintf(stderr, "error: --seed: at most %zu seeds\n", sim::kSeedsMax);
    return 2;
  }
  if (o.json_file == "-" && o.junit_file == "-") {
    std::fprintf(stderr, "error: --json - and --junit - would both write to stdout: give one of them a file\n");
    return 2;
  }
  if (o.live && o.check_determinism) {
    std::fprintf(stderr, "error: --check-determinism does not apply to --live: a live run's order is the machine's\n");
    return 2;
  }
  std::optional<std::vector<sim::Scenario>> scenarios = load_scenarios(o);
  if (!scenarios) return 2;
  if (o.live) {
    Duration until = kTimeNever - kTimeZero;
    if (!o.until.empty()) {
      const Result<Duration> parsed = config::parse_duration(o.until);
      if (!parsed || *parsed <= Duration{0}) {
        std::fprintf(stderr, "error: --until %s: %s\n", o.until.c_str(),
                     parsed ? "must be longer than 0" : parsed.error().what.c_str());
        return 2;
      }
      until = *parsed;
    }
    for (sim::Scenario& s : *scenarios) {
      if (s.traffic.start >= kTimeZero + until) {
        std::fprintf(stderr, "error: --until %s: %s has no arrival before then\n", o.until.c_str(), s.path.c_str());
        return 2;
      }
      s = live_subject(s, o, until);
    }
    if (!live_within_limits(*scenarios, o)) return 2;
  }
  if (!within_limits(*scenarios, o)) return 2;
  OutputFile json;
  OutputFile junit;
  if (!json.open(o.json_file, "--json") || !junit.open(o.junit_file, "--junit")) return 2;
  // The tables go to stdout unless a document does.
  std::FILE* out = o.json_file == "-" || o.junit_file == "-" ? stderr : stdout;
  bool written = true;
  sim::RunDocuments documents;
  for (const sim::Scenario& s : *scenarios) {
    if (&s != &scenarios->front()) std::fprintf(out, "\n");
    if (!o.live) {
      documents.add(run_one(out, s, o, written));
      continue;
    }
    const std::optional<sim::ScenarioRun> live = run_live_one(out, s, o, written);
    if (!live) return 2;
    documents.add(*live);
  }
  std::fputs(documents.tally().c_str(), out);
  if (json.wanted()) written = json.write(documents.json()) && written;
  if (junit.wanted()) written = junit.write(documents.junit()) && written;
  std::fflush(out);
  if (!written) return 2;
  return documents.passed() ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd =
      app.add_subcommand("run", "Replay outage scenarios: the policy under test and its baselines, side by side");
  cmd->add_option("PATH", o->paths,
                  "scenario file, or folder of *.toml scenarios run in name order (schema: docs/scenarios.md)")
      ->required();
  CLI::Option* seed = cmd->add_option("--seed", o->seeds, "run this seed instead of the scenario's (repeatable)")
                          ->check(seed_text())
                          ->allow_extra_args(false);
  cmd->add_option("--seeds", o->seed_count, "run seeds 1..N instead of the scenario's")
      ->check(CLI::Range(std::size_t{1}, sim::kSeedsMax))
      ->excludes(seed);
  cmd->add_option("--policy", o->policies, "run only this policy (repeatable; its expectations only)")
      ->allow_extra_args(false);
  cmd->add_option("--report-dir,--out", o->report_dir,
                  "write each scenario's report (Markdown, SVG charts, JSON, JUnit XML) into DIR");
  cmd->add_option("--json", o->json_file, "write every scenario's results as one JSON document to FILE (- for stdout)");
  cmd->add_option("--junit", o->junit_file,
                  "write one JUnit XML file, a test suite per scenario, to FILE (- for stdout)");
  cmd->add_option("--jobs", o->jobs, "runs at once on this many threads (results do not depend on it)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--check-determinism", o->check_determinism, "run everything twice more with a trace and compare");
  cmd->add_flag("!--no-preflight", o->preflight,
                "skip the preflight: the healthy-day replay of the policy and the check that every fault saw a call");
  add_allow_long_flag(*cmd, o->allow_long);
  CLI::Option* live = cmd->add_flag("--live", o->live,
                                    "also run the scenario through the real transport against its fleet served on "
                                    "loopback TLS, and print both worlds side by side (docs/two-worlds.md)");
  cmd->add_option("--time-scale", o->time_scale, "K: a --live run's scenario time runs K times faster than real time")
      ->check(CLI::Range(std::int64_t{1}, serve::kTimeScaleMax))
      ->needs(live);
  cmd->add_option("--until", o->until,
                  "with --live: both worlds replay only the scenario's first D (e.g. 2h), its arrivals and faults "
                  "within it")
      ->needs(live);
  cmd->callback([o] { set_exit_code(run(*o)); });
}

}  // namespace failover::cli
