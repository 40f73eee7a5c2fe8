// `failover explore BASE.toml...`: swarm chaos search (sim/explore.h, docs/explore.md).
// Draws scenarios from each base, seed and draw index, judges them with the oracles on
// --jobs threads, shrinks what fails, and writes report.md, findings.json and
// findings/NNN-<oracle>.toml. With --shard I/N it runs its share of the draws and writes
// explore-shard-I-of-N.toml; `failover explore --merge DIR...` gives the files one
// machine would have written. The unsharded run takes that very path (shard 0 of 1,
// written to text, read back and merged), so both give the same bytes. The clock is read
// for --time and the progress line only. Exit codes: 0 no oracle failed, 1 one did, 2
// bad input, 130 interrupted.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "cli/files.h"
#include "cli/options.h"
#include "cli/parallel.h"
#include "cli/run_limits.h"
#include "core/config/load.h"
#include "core/config/toml_values.h"
#include "sim/explore.h"
#include "sim/sweep.h"

namespace failover::cli {
namespace {

namespace ex = sim::explore;
namespace fs = std::filesystem;

struct ExploreOptions {
  std::vector<std::string> paths;
  std::uint64_t budget = 0;
  std::string time;
  std::uint64_t seed = 1;
  std::uint64_t from = 0;
  int jobs = 0;
  std::string shard;
  std::string out = "explore-out";
  std::vector<std::string> oracles;
  std::vector<std::string> no_oracles;
  bool keep_going = false;
  std::string policy = "policy";
  std::uint64_t shrink_steps = 100;
  std::vector<std::string> merge;
  bool allow_long = false;  // --allow-long: run above sim::kEventsMax
};

std::atomic<bool> g_stop{false};
extern "C" void on_explore_interrupt(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
}

std::optional<sim::OracleSet> oracle_set(const ExploreOptions& o) {
  sim::OracleSet set = o.oracles.empty() ? sim::kAllOracles : sim::OracleSet{};
  for (const auto* list : {&o.oracles, &o.no_oracles}) {
    for (const std::string& name : *list) {
      const std::optional<sim::Oracle> oracle = sim::oracle_from(name);
      if (!oracle) {
        std::fprintf(
            stderr,
            "error: --oracle %s: unknown oracle (invariants, expect, do-no-harm, recovers, healthy-day, cost)\n",
            name.c_str());
        return std::nullopt;
      }
      set[static_cast<std::size_t>(*oracle)] = list == &o.oracles;
    }
  }
  return set;
}

class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), shown_(isatty(fileno(stderr)) == 1) {}
  void update(std::size_t done, std::size_t failing) {
    if (!shown_) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0.0 ? 60.0 * static_cast<double>(done) / seconds : 0.0;
    const double eta =
        done > 0 ? seconds * static_cast<double>(total_ - std::min(done, total_)) / static_cast<double>(done) : 0.0;
    std::fprintf(stderr, "\rdraws %zu/%zu, failing %zu, %.0f draws/min, ETA %.0fs   ", done, total_, failing, rate,
                 eta);
    std::fflush(stderr);
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  std::size_t total_;
  bool shown_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

// Whether the draws this shard may make fit sim::kEventsMax, each draw counted at the
// largest its base allows (sim::estimate_draw_max); with --time and no --budget, one
// draw of each base must fit. Says why on stderr when not.
bool within_limits(const std::vector<ex::Base>& bases, std::uint64_t budget, std::size_t shards, bool allow_long) {
  sim::RunEstimate total;
  const double draws = budget > 0 ? static_cast<double>(budget) / static_cast<double>(shards) : 1.0;
  for (const ex::Base& b : bases) {
    const sim::RunEstimate one = sim::estimate_draw_max(b.scenario);
    total.arrivals += one.arrivals * draws;
    total.events += one.events * draws;
  }
  const auto runs = static_cast<std::size_t>(draws * static_cast<double>(bases.size()));
  return within_run_limits(budget > 0 ? "this exploration" : "one draw of each base", total,
                           std::max<std::size_t>(runs, 1), allow_long);
}

// Runs this shard's draws in task order; the records of the finished prefix.
std::vector<ex::DrawRecord> run_draws(const std::vector<ex::Base>& bases, const ExploreOptions& o,
                                      const sim::OracleSet& set, std::size_t shard, std::size_t shards,
                                      std::optional<double> seconds, int jobs, bool& partial, bool& bad) {
  std::vector<std::uint64_t> tasks;
  const std::uint64_t budget = o.budget > 0 ? o.budget : ex::kDrawsMax;
  for (std::uint64_t t = o.from * bases.size(); t < (o.from + budget) * bases.size(); ++t) {
    if (t % shards == shard) tasks.push_back(t);
    if (o.budget == 0 && tasks.size() >= 1'000'000) break;
  }
  std::vector<std::optional<ex::DrawRecord>> records(tasks.size());
  std::vector<std::string> errors(tasks.size());
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> done{0}, failing{0};
  const auto start = std::chrono::steady_clock::now();
  Progress progress(tasks.size());
  parallel_for(
      jobs, tasks.size(),
      [&](std::size_t i) {
        if (g_stop.load()) return stop.store(true);
        if (seconds && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > *seconds)
          return stop.store(true);
        const auto b = static_cast<std::uint32_t>(tasks[i] % bases.size());
        const ex::Draw d = ex::draw(bases[b], o.seed, tasks[i] / bases.size());
        const Result<ex::Evaluation> e = ex::evaluate(bases[b], d, set);
        if (!e) {
          errors[i] = e.error().message();
          return stop.store(true);
        }
        records[i] = ex::record_of(b, d, *e);
        if (records[i]->failed != 0) {
          ++failing;
          if (!o.keep_going) stop.store(true);
        }
        progress.update(++done, failing.load());
      },
      &stop);
  progress.finish();
  std::vector<ex::DrawRecord> out;
  for (std::size_t i = 0; i < records.size() && records[i]; ++i) out.push_back(std::move(*records[i]));
  const auto error = std::find_if(errors.begin(), errors.end(), [](const std::string& m) { return !m.empty(); });
  if (error != errors.end()) {
    std::fprintf(stderr, "error: %s\n", error->c_str());
    bad = true;
  }
  const bool stopped_early =
      std::any_of(out.begin(), out.end(), [](const ex::DrawRecord& r) { return r.failed != 0; }) && !o.keep_going;
  partial = out.size() < tasks.size() && !stopped_early;
  return out;
}

std::vector<ex::FindingRecord> shrink_all(const std::vector<ex::Base>& bases, const ExploreOptions& o,
                                          const sim::OracleSet& set, const std::vector<ex::DrawRecord>& draws,
                                          int jobs) {
  const auto wanted = ex::findings_to_shrink(draws, bases.size(), o.keep_going);
  std::vector<ex::FindingRecord> out(wanted.size());
  if (!wanted.empty()) std::fprintf(stderr, "shrinking %zu finding(s)...\n", wanted.size());
  parallel_for(jobs, wanted.size(), [&](std::size_t i) {
    const ex::DrawRecord& r = draws[wanted[i].first];
    const ex::Base& base = bases[r.base];
    const ex::Draw d = ex::draw(base, o.seed, r.index);
    const Result<ex::Evaluation> e = ex::evaluate(base, d, set);
    const sim::Verdict* v = e ? e->verdict(wanted[i].second) : nullptr;
    if (v == nullptr || !v->failed) return;  // cannot happen: draws are deterministic
    const ex::Shrunk s = ex::shrink(base, d, *v, o.shrink_steps);
    const Result<std::string> text = ex::finding_text(base, o.seed, d, s);
    out[i] = ex::FindingRecord{r.base,
                               r.index,
                               wanted[i].second,
                               s.verdict.detail,
                               ex::size_text(ex::size_of(base, d)),
                               ex::size_text(ex::size_of(base, s.draw)),
                               s.steps,
                               text ? *text : "# " + text.error().message() + "\n"};
  });
  return out;
}

int write_outputs(const ex::Run& merged, const std::string& dir) {
  std::error_code ec;
  fs::remove_all(fs::path(dir) / "findings", ec);
  if (!write_files(dir, ex::render_outputs(merged))) return 2;
  const std::size_t failing = ex::failing_draws(merged);
  std::printf("explore: %zu draws, %zu failing, %zu finding(s); report: %s\n", merged.draws.size(), failing,
              merged.findings.size(), (fs::path(dir) / "report.md").string().c_str());
  for (std::size_t i = 0; i < merged.findings.size(); ++i) {
    const ex::FindingRecord& f = merged.findings[i];
    std::printf("finding %s: %s\n", (fs::path(dir) / ex::finding_file(i, f)).string().c_str(), f.detail.c_str());
  }
  return failing > 0 ? 1 : 0;
}

int run_merge(const ExploreOptions& o) {
  std::vector<ex::Run> shards;
  std::vector<std::string> names;
  for (const std::string& input : o.merge) {
    std::vector<std::string> files;
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      for (fs::directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with("explore-shard-") && name.ends_with(".toml")) files.push_back(it->path().string());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(input);
    }
    for (const std::string& file : files) {
      const std::optional<std::string> text = read_text(file, ex::kShardBytesMax);
      if (!text) return 2;
      Result<ex::Run> shard = ex::read_shard(*text, file);
      if (!shard) {
        std::fprintf(stderr, "error: %s\n", shard.error().message().c_str());
        return 2;
      }
      shards.push_back(std::move(*shard));
      names.push_back(file);
    }
  }
  Result<ex::Run> merged = ex::merge(std::move(shards), names);
  if (!merged) {
    std::fprintf(stderr, "error: %s\n", merged.error().message().c_str());
    return 2;
  }
  return write_outputs(*merged, o.out);
}

int run_explore(const ExploreOptions& o) {
  if (!o.merge.empty()) return run_merge(o);
  if (o.paths.empty()) {
    std::fprintf(stderr, "error: give at least one BASE scenario (or --merge DIR...)\n");
    return 2;
  }
  const std::optional<std::pair<std::size_t, std::size_t>> shard =
      o.shard.empty() ? std::make_pair(std::size_t{0}, std::size_t{1})
                      : [&]() -> std::optional<std::pair<std::size_t, std::size_t>> {
    std::size_t i = 0, n = 0;
    char extra = 0;
    if (std::sscanf(o.shard.c_str(), "%zu/%zu%c", &i, &n, &extra) != 2 || n == 0 || n > ex::kShardsMax || i >= n)
      return std::nullopt;
    return std::make_pair(i, n);
  }();
  if (!shard) {
    std::fprintf(stderr, "error: --shard %s: expected I/N with 0 <= I < N <= %zu\n", o.shard.c_str(), ex::kShardsMax);
    return 2;
  }
  std::optional<double> seconds;
  if (!o.time.empty()) {
    const Result<Duration> d = config::parse_duration(o.time);
    if (!d || *d <= Duration{0}) {
      std::fprintf(stderr, "error: --time %s: expected a duration such as 60s or 2h\n", o.time.c_str());
      return 2;
    }
    seconds = static_cast<double>(to_us(*d)) / 1e6;
  }
  const std::optional<sim::OracleSet> set = oracle_set(o);
  const std::optional<std::vector<std::string>> files = scenario_files(o.paths);
  if (!set || !files) return 2;
  std::vector<ex::Base> bases;
  ex::Run run;
  for (const std::string& file : *files) {
    const std::optional<std::string> text = read_text(file, kFileBytesMax);
    if (!text) return 2;
    Result<ex::Base> base = ex::load_base(file, *text, o.policy);
    if (!base) {
      std::fprintf(stderr, "error: %s\n", base.error().message().c_str());
      return 2;
    }
    std::vector<std::string> providers;
    for (const sim::ProviderSpec& p : base->scenario.providers) providers.push_back(p.name);
    run.bases.push_back(ex::BaseEntry{file, sim::sweep::text_hash(*text), std::move(providers)});
    bases.push_back(std::move(*base));
  }
  ExploreOptions opts = o;
  if (opts.budget == 0 && !seconds) opts.budget = 100;
  if (!within_limits(bases, opts.budget, shard->second, o.allow_long)) return 2;
  const int jobs = o.jobs > 0 ? o.jobs : hardware_jobs();
  std::fprintf(stderr, "explore: seed %llu, %zu base(s), policy %s, %s, %d thread(s)\n",
               static_cast<unsigned long long>(o.seed), bases.size(), o.policy.c_str(),
               opts.budget > 0
                   ? (std::to_string(opts.budget) + " draws per base from index " + std::to_string(o.from)).c_str()
                   : ("for " + o.time).c_str(),
               jobs);
  g_stop.store(false);
  const auto previous = std::signal(SIGINT, on_explore_interrupt);
  bool bad = false;
  run.draws = run_draws(bases, opts, *set, shard->first, shard->second, seconds, jobs, run.partial, bad);
  if (bad) return 2;
  run.findings = shrink_all(bases, opts, *set, run.draws, jobs);
  std::signal(SIGINT, previous == SIG_ERR ? SIG_DFL : previous);
  run.policy = o.policy;
  run.seed = o.seed;
  run.budget = opts.budget;
  run.oracles = *set;
  run.keep_going = o.keep_going;
  run.shrink_steps = o.shrink_steps;
  run.index = shard->first;
  run.count = shard->second;
  const std::string text = ex::write_shard(run);
  if (!o.shard.empty()) {
    if (!write_files(o.out, {{ex::shard_file_name(run.index, run.count), text}})) return 2;
    std::printf("shard written to %s\n",
                (fs::path(o.out) / ex::shard_file_name(run.index, run.count)).string().c_str());
    return g_stop.load() ? 130 : 0;
  }
  Result<ex::Run> read = ex::read_shard(text, "(this run)");
  Result<ex::Run> merged = read ? ex::merge({std::move(*read)}, {"(this run)"}) : read.error();
  if (!merged) {
    std::fprintf(stderr, "error: cannot read this run's results back: %s\n", merged.error().message().c_str());
    return 2;
  }
  const int code = write_outputs(*merged, o.out);
  return g_stop.load() ? 130 : code;
}

}  // namespace

void add_explore_command(CLI::App& app) {
  auto o = std::make_shared<ExploreOptions>();
  CLI::App* cmd = app.add_subcommand(
      "explore", "Swarm chaos search over outages, shrinking each violation to a minimal scenario (docs/explore.md)");
  cmd->add_option("BASE", o->paths, "base scenario file, or folder of *.toml scenarios");
  cmd->add_option("--budget", o->budget, "draws per base (default 100, or unbounded with --time)")
      ->check(CLI::Range(std::uint64_t{1}, ex::kDrawsMax));
  cmd->add_option(
      "--time", o->time,
      "stop starting draws after this long (e.g. 60s, 8h); the draws run do not depend on it, only how many");
  cmd->add_option("--seed", o->seed, "exploration seed (default 1)")->check(seed_text());
  cmd->add_option("--from", o->from, "first draw index (default 0): --from I --budget 1 replays draw I")
      ->check(CLI::Range(std::uint64_t{0}, ex::kDrawsMax));
  cmd->add_option("--jobs", o->jobs, "draws at once (default: every hardware thread; results do not depend on it)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--shard", o->shard,
                  "run shard I of N (tasks t with t mod N == I) and write explore-shard-I-of-N.toml");
  cmd->add_option("--out", o->out, "output folder (default explore-out)");
  cmd->add_option("--oracle", o->oracles,
                  "only this oracle (repeatable): invariants, expect, do-no-harm, recovers, healthy-day, cost");
  cmd->add_option("--no-oracle", o->no_oracles, "switch this oracle off (repeatable)");
  cmd->add_flag("--keep-going", o->keep_going,
                "draw the whole budget; shrink the first violation of each oracle per base");
  cmd->add_option("--policy", o->policy,
                  "which of the scenario's policies is under test (default policy; e.g. case-study)");
  cmd->add_option("--shrink-steps", o->shrink_steps, "evaluations per shrink (default 100)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{ex::kShrinkStepsMax}));
  cmd->add_option("--merge", o->merge, "merge explore-shard-*.toml files (or folders of them) into --out");
  add_allow_long_flag(*cmd, o->allow_long);
  cmd->callback([o] { set_exit_code(run_explore(*o)); });
}

}  // namespace failover::cli
