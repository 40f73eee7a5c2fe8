// Explore records (sim/explore.h): which findings to shrink, shard files, merging, and
// the outputs (report.md, findings.json, findings/*.toml) as pure functions of a run.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "core/config/load.h"
#include "core/config/toml_reader.h"
#include "core/engine/assert.h"
#include "sim/explore.h"
#include "sim/json_writer.h"

namespace failover::sim::explore {
namespace {

std::uint32_t bit(Oracle o) {
  return 1U << static_cast<unsigned>(o);
}

std::string ppm_percent(std::int64_t ppm) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f%%", static_cast<double>(ppm) / 10'000.0);
  return buf;
}

const char* kind_name(std::uint32_t kind) {
  return to_string(static_cast<FaultKind>(kind));
}

}  // namespace

DrawRecord record_of(std::uint32_t base, const Draw& d, const Evaluation& e) {
  DrawRecord r;
  r.base = base;
  r.index = d.index;
  r.faults = static_cast<std::uint32_t>(d.faults.size());
  for (const DrawFault& f : d.faults)
    r.coverage.push_back(static_cast<std::uint32_t>(f.provider) * 8 + static_cast<std::uint32_t>(f.kind));
  std::sort(r.coverage.begin(), r.coverage.end());
  r.coverage.erase(std::unique(r.coverage.begin(), r.coverage.end()), r.coverage.end());
  for (const Verdict& v : e.verdicts) {
    if (v.judged) r.judged |= bit(v.oracle);
    if (!v.failed) continue;
    r.failed |= bit(v.oracle);
    r.detail += (r.detail.empty() ? "" : "; ") + std::string(oracle_name(v.oracle)) + ": " + v.detail;
  }
  const auto ppm = [](const RunResult& run) {
    return run.arrived == 0 ? 1'000'000 : run.succeeded * 1'000'000 / run.arrived;
  };
  r.availability_ppm = ppm(e.runs.policy);
  if (e.runs.direct) r.direct_ppm = ppm(*e.runs.direct);
  const RunResult& p = e.runs.policy;
  r.cost_permille =
      p.plan_cost_micro_usd > 0 ? (p.cost_micro_usd + p.possibly_billed_micro_usd) * 1000 / p.plan_cost_micro_usd : 0;
  return r;
}

std::uint64_t task_of(std::uint32_t base, std::uint64_t index, std::size_t bases) {
  return index * bases + base;
}

std::vector<std::pair<std::size_t, Oracle>> findings_to_shrink(const std::vector<DrawRecord>& draws, std::size_t bases,
                                                               bool keep_going) {
  std::vector<std::pair<std::size_t, Oracle>> out;
  std::set<std::pair<std::uint32_t, unsigned>> seen;
  for (std::size_t i = 0; i < draws.size(); ++i) {
    const DrawRecord& d = draws[i];
    if (d.failed == 0) continue;
    for (unsigned o = 0; o < kOracleCount; ++o) {
      if ((d.failed & (1U << o)) == 0 || !seen.insert({d.base, o}).second) continue;
      out.emplace_back(i, static_cast<Oracle>(o));
    }
    if (!keep_going) break;
  }
  (void)bases;
  return out;
}

std::string shard_file_name(std::size_t index, std::size_t count) {
  return "explore-shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".toml";
}

std::string write_shard(const Run& run) {
  toml::table root;
  toml::array bases;
  for (const BaseEntry& b : run.bases) {
    toml::array providers;
    for (const std::string& p : b.providers) providers.push_back(p);
    bases.push_back(toml::table{{"path", b.path}, {"hash", b.hash}, {"providers", std::move(providers)}});
  }
  toml::array oracles;
  for (std::size_t o = 0; o < kOracleCount; ++o) {
    if (run.oracles[o]) oracles.push_back(std::string(oracle_name(static_cast<Oracle>(o))));
  }
  root.insert("explore", toml::table{{"bases", std::move(bases)},
                                     {"policy", run.policy},
                                     {"seed", static_cast<std::int64_t>(run.seed)},
                                     {"budget", static_cast<std::int64_t>(run.budget)},
                                     {"oracles", std::move(oracles)},
                                     {"keep_going", run.keep_going},
                                     {"shrink_steps", static_cast<std::int64_t>(run.shrink_steps)},
                                     {"index", static_cast<std::int64_t>(run.index)},
                                     {"count", static_cast<std::int64_t>(run.count)},
                                     {"partial", run.partial}});
  toml::array draws;
  for (const DrawRecord& d : run.draws) {
    toml::array coverage;
    for (const std::uint32_t c : d.coverage) coverage.push_back(static_cast<std::int64_t>(c));
    draws.push_back(toml::table{{"base", static_cast<std::int64_t>(d.base)},
                                {"index", static_cast<std::int64_t>(d.index)},
                                {"faults", static_cast<std::int64_t>(d.faults)},
                                {"coverage", std::move(coverage)},
                                {"judged", static_cast<std::int64_t>(d.judged)},
                                {"failed", static_cast<std::int64_t>(d.failed)},
                                {"availability_ppm", d.availability_ppm},
                                {"direct_ppm", d.direct_ppm},
                                {"cost_permille", d.cost_permille},
                                {"detail", d.detail}});
  }
  root.insert("draws", std::move(draws));
  toml::array findings;
  for (const FindingRecord& f : run.findings) {
    findings.push_back(toml::table{{"base", static_cast<std::int64_t>(f.base)},
                                   {"index", static_cast<std::int64_t>(f.index)},
                                   {"oracle", std::string(oracle_name(f.oracle))},
                                   {"detail", f.detail},
                                   {"original_size", f.original_size},
                                   {"shrunk_size", f.shrunk_size},
                                   {"steps", static_cast<std::int64_t>(f.steps)},
                                   {"text", f.text}});
  }
  root.insert("findings", std::move(findings));
  std::ostringstream out;
  out << toml::toml_formatter(root, toml::format_flags::none);
  return out.str() + "\n";
}

namespace {

constexpr std::int64_t kMax = std::int64_t{1} << 62;

// Reads a shard with the one TOML reader (core/config/toml_reader.h): every key the
// writer above writes is required, no other is accepted, and each error names the
// file, line:col and key path -- a draw's or a finding's by its place in the file.
class ExploreShardReader {
 public:
  explicit ExploreShardReader(std::string name) : r_(std::move(name)) {}
  Result<Run> read(const toml::table& root);

 private:
  void read_definition(const toml::table& e, Run& run);
  void read_base(const toml::table& b, const std::string& path, Run& run);
  void read_draw(const toml::table& t, const std::string& path, Run& run);
  void read_finding(const toml::table& t, const std::string& path, Run& run);
  // Fails unless `t` holds exactly `keys`.
  bool exactly(const toml::table& t, const std::string& path, std::initializer_list<std::string_view> keys);
  std::int64_t integer(const toml::table& t, std::string_view key, const std::string& path, std::int64_t lo,
                       std::int64_t hi) {
    return r_.integer(t, key, path, lo, hi).value_or(lo);
  }
  std::vector<std::string> texts(const toml::table& t, std::string_view key, const std::string& path);

  config::Reader r_;
};

bool ExploreShardReader::exactly(const toml::table& t, const std::string& path,
                                 std::initializer_list<std::string_view> keys) {
  if (!r_.only_keys(t, path, keys)) return false;
  for (const std::string_view key : keys) r_.require(t, key, path);
  return !r_.failed();
}

std::vector<std::string> ExploreShardReader::texts(const toml::table& t, std::string_view key,
                                                   const std::string& path) {
  std::vector<std::string> out;
  const toml::array* a = r_.array(t, key, path);
  const std::string at = config::join(path, key);
  for (std::size_t i = 0; a != nullptr && i < a->size() && !r_.failed(); ++i) {
    if (std::optional<std::string> v = r_.text_of(*a->get(i), at + "[" + std::to_string(i) + "]")) {
      out.push_back(std::move(*v));
    }
  }
  return out;
}

Result<Run> ExploreShardReader::read(const toml::table& root) {
  Run run;
  const toml::table* e = root.get_as<toml::table>("explore");
  if (e == nullptr) {
    r_.fail(root, "explore", "is required but missing: this is not a shard file of failover explore");
    return r_.error();
  }
  if (!exactly(root, "", {"explore", "draws", "findings"})) return r_.error();
  read_definition(*e, run);
  const toml::array* draws = r_.tables(root, "draws", "");
  for (std::size_t i = 0; draws != nullptr && i < draws->size() && !r_.failed(); ++i) {
    if (const toml::table* t = r_.table_at(*draws, i, "draws")) read_draw(*t, "draws[" + std::to_string(i) + "]", run);
  }
  const toml::array* findings = r_.tables(root, "findings", "");
  for (std::size_t i = 0; findings != nullptr && i < findings->size() && !r_.failed(); ++i) {
    if (const toml::table* t = r_.table_at(*findings, i, "findings")) {
      read_finding(*t, "findings[" + std::to_string(i) + "]", run);
    }
  }
  if (r_.failed()) return r_.error();
  FAILOVER_ASSERT(run.index < run.count);
  return run;
}

void ExploreShardReader::read_definition(const toml::table& e, Run& run) {
  if (!exactly(e, "explore",
               {"bases", "policy", "seed", "budget", "oracles", "keep_going", "shrink_steps", "index", "count",
                "partial"})) {
    return;
  }
  const toml::array* bases = r_.tables(e, "bases", "explore");
  for (std::size_t i = 0; bases != nullptr && i < bases->size() && !r_.failed(); ++i) {
    if (const toml::table* b = r_.table_at(*bases, i, "explore.bases")) {
      read_base(*b, "explore.bases[" + std::to_string(i) + "]", run);
    }
  }
  run.policy = r_.text(e, "policy", "explore").value_or("");
  run.seed = static_cast<std::uint64_t>(integer(e, "seed", "explore", 0, kMax));
  run.budget = static_cast<std::uint64_t>(integer(e, "budget", "explore", 0, static_cast<std::int64_t>(kDrawsMax)));
  run.oracles = {};
  const std::vector<std::string> oracles = texts(e, "oracles", "explore");
  for (std::size_t i = 0; i < oracles.size() && !r_.failed(); ++i) {
    if (const std::optional<Oracle> o = oracle_from(oracles[i])) {
      run.oracles[static_cast<std::size_t>(*o)] = true;
    } else {
      r_.fail(*e.get_as<toml::array>("oracles")->get(i), "explore.oracles[" + std::to_string(i) + "]",
              "unknown oracle \"" + oracles[i] + "\"");
    }
  }
  run.keep_going = r_.boolean(e, "keep_going", "explore").value_or(false);
  run.shrink_steps =
      static_cast<std::uint64_t>(integer(e, "shrink_steps", "explore", 0, static_cast<std::int64_t>(kShrinkStepsMax)));
  run.count = static_cast<std::size_t>(integer(e, "count", "explore", 1, static_cast<std::int64_t>(kShardsMax)));
  run.index = static_cast<std::size_t>(integer(e, "index", "explore", 0, static_cast<std::int64_t>(run.count) - 1));
  run.partial = r_.boolean(e, "partial", "explore").value_or(false);
}

void ExploreShardReader::read_base(const toml::table& b, const std::string& path, Run& run) {
  if (!exactly(b, path, {"path", "hash", "providers"})) return;
  BaseEntry entry{r_.text(b, "path", path).value_or(""), r_.text(b, "hash", path).value_or(""), {}};
  entry.providers = texts(b, "providers", path);
  run.bases.push_back(std::move(entry));
}

void ExploreShardReader::read_draw(const toml::table& t, const std::string& path, Run& run) {
  if (!exactly(t, path,
               {"base", "index", "faults", "coverage", "judged", "failed", "availability_ppm", "direct_ppm",
                "cost_permille", "detail"})) {
    return;
  }
  const auto bases = static_cast<std::int64_t>(std::max<std::size_t>(1, run.bases.size()));
  DrawRecord d;
  d.base = static_cast<std::uint32_t>(integer(t, "base", path, 0, bases - 1));
  d.index = static_cast<std::uint64_t>(integer(t, "index", path, 0, kMax));
  d.faults = static_cast<std::uint32_t>(integer(t, "faults", path, 0, 1'000));
  const toml::array* coverage = r_.array(t, "coverage", path);
  for (std::size_t i = 0; coverage != nullptr && i < coverage->size() && !r_.failed(); ++i) {
    const std::string at = path + ".coverage[" + std::to_string(i) + "]";
    if (const std::optional<std::int64_t> c = r_.integer_of(*coverage->get(i), at, 0, 1 << 20)) {
      d.coverage.push_back(static_cast<std::uint32_t>(*c));
    }
  }
  d.judged = static_cast<std::uint32_t>(integer(t, "judged", path, 0, 63));
  d.failed = static_cast<std::uint32_t>(integer(t, "failed", path, 0, 63));
  d.availability_ppm = integer(t, "availability_ppm", path, 0, 1'000'000);
  d.direct_ppm = integer(t, "direct_ppm", path, -1, 1'000'000);
  d.cost_permille = integer(t, "cost_permille", path, 0, kMax);
  d.detail = r_.text(t, "detail", path).value_or("");
  run.draws.push_back(std::move(d));
}

void ExploreShardReader::read_finding(const toml::table& t, const std::string& path, Run& run) {
  if (!exactly(t, path, {"base", "index", "oracle", "detail", "original_size", "shrunk_size", "steps", "text"})) {
    return;
  }
  const auto bases = static_cast<std::int64_t>(std::max<std::size_t>(1, run.bases.size()));
  FindingRecord f;
  f.base = static_cast<std::uint32_t>(integer(t, "base", path, 0, bases - 1));
  f.index = static_cast<std::uint64_t>(integer(t, "index", path, 0, kMax));
  const std::string oracle = r_.text(t, "oracle", path).value_or("");
  if (!r_.failed() && !oracle_from(oracle))
    r_.fail(*t.get("oracle"), path + ".oracle", "unknown oracle \"" + oracle + "\"");
  f.oracle = oracle_from(oracle).value_or(Oracle::invariants);
  f.detail = r_.text(t, "detail", path).value_or("");
  f.original_size = r_.text(t, "original_size", path).value_or("");
  f.shrunk_size = r_.text(t, "shrunk_size", path).value_or("");
  f.steps = static_cast<std::uint64_t>(integer(t, "steps", path, 0, kMax));
  f.text = r_.text(t, "text", path).value_or("");
  run.findings.push_back(std::move(f));
}

}  // namespace

Result<Run> read_shard(std::string_view text, std::string_view name) {
  try {
    Result<toml::table> root = parse_toml(text, name);
    if (!root) return root.error();
    return ExploreShardReader(std::string(name)).read(*root);
  } catch (const std::exception& e) {
    return Error{std::string(name), std::string("could not read: ") + e.what()};
  }
}

Result<Run> merge(std::vector<Run> shards, const std::vector<std::string>& names) {
  if (shards.empty()) return Error{"", "no shard to merge"};
  Run out = shards.front();
  out.draws.clear();
  out.findings.clear();
  out.partial = false;
  std::vector<bool> seen(out.count, false);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const Run& s = shards[i];
    const bool same =
        s.count == out.count && s.policy == out.policy && s.seed == out.seed && s.budget == out.budget &&
        s.oracles == out.oracles && s.keep_going == out.keep_going && s.shrink_steps == out.shrink_steps &&
        s.bases.size() == out.bases.size() &&
        std::equal(s.bases.begin(), s.bases.end(), out.bases.begin(),
                   [](const BaseEntry& a, const BaseEntry& b) { return a.path == b.path && a.hash == b.hash; });
    if (!same)
      return Error{names[i],
                   "belongs to another exploration (bases, policy, seed, budget, oracles or shard count differ)"};
    if (seen[s.index])
      return Error{names[i], "repeats shard " + std::to_string(s.index) + " of " + std::to_string(s.count)};
    seen[s.index] = true;
    out.partial = out.partial || s.partial;
    out.draws.insert(out.draws.end(), s.draws.begin(), s.draws.end());
    out.findings.insert(out.findings.end(), s.findings.begin(), s.findings.end());
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i])
      return Error{names.front(), "shard " + std::to_string(i) + " of " + std::to_string(out.count) + " is missing"};
  }
  const std::size_t bases = out.bases.size();
  const auto task = [bases](const DrawRecord& d) { return task_of(d.base, d.index, bases); };
  std::sort(out.draws.begin(), out.draws.end(),
            [&](const DrawRecord& a, const DrawRecord& b) { return task(a) < task(b); });
  if (!out.keep_going) {
    const auto first =
        std::find_if(out.draws.begin(), out.draws.end(), [](const DrawRecord& d) { return d.failed != 0; });
    if (first != out.draws.end()) out.draws.erase(first + 1, out.draws.end());
  }
  std::vector<FindingRecord> kept;
  for (const auto& [position, found] : findings_to_shrink(out.draws, bases, out.keep_going)) {
    const DrawRecord& d = out.draws[position];
    const auto& oracle = found;  // a lambda may not capture a structured binding before clang 16
    const auto f = std::find_if(out.findings.begin(), out.findings.end(), [&](const FindingRecord& r) {
      return r.base == d.base && r.index == d.index && r.oracle == oracle;
    });
    if (f != out.findings.end()) kept.push_back(*f);
  }
  out.findings = std::move(kept);
  out.index = 0;
  out.count = 1;
  return out;
}

// ---- outputs ----------------------------------------------------------------------

std::string finding_file(std::size_t n, const FindingRecord& f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%03zu", n + 1);
  return "findings/" + std::string(buf) + "-" + std::string(oracle_name(f.oracle)) + ".toml";
}

std::size_t failing_draws(const Run& run) {
  return static_cast<std::size_t>(
      std::count_if(run.draws.begin(), run.draws.end(), [](const DrawRecord& d) { return d.failed != 0; }));
}

namespace {

std::string findings_json(const Run& run) {
  JsonWriter j;
  j.open("", '{');
  j.text("policy", run.policy);
  j.integer("seed", static_cast<std::int64_t>(run.seed));
  j.integer("draws", static_cast<std::int64_t>(run.draws.size()));
  j.boolean("partial", run.partial);
  j.open("bases", '[');
  for (const BaseEntry& b : run.bases) j.text("", b.path);
  j.close(']');
  j.open("violations", '{');
  for (std::size_t o = 0; o < kOracleCount; ++o) {
    if (!run.oracles[o]) continue;
    const auto n = std::count_if(run.draws.begin(), run.draws.end(),
                                 [&](const DrawRecord& d) { return (d.failed >> o & 1U) != 0; });
    j.integer(oracle_name(static_cast<Oracle>(o)), n);
  }
  j.close('}');
  j.open("findings", '[');
  for (std::size_t i = 0; i < run.findings.size(); ++i) {
    const FindingRecord& f = run.findings[i];
    j.open("", '{');
    j.text("file", finding_file(i, f));
    j.text("base", run.bases[f.base].path);
    j.text("oracle", oracle_name(f.oracle));
    j.integer("index", static_cast<std::int64_t>(f.index));
    j.text("detail", f.detail);
    j.text("original", f.original_size);
    j.text("shrunk", f.shrunk_size);
    j.integer("shrink_steps", static_cast<std::int64_t>(f.steps));
    j.close('}');
  }
  j.close(']');
  j.open("failing_draws", '[');
  for (const DrawRecord& d : run.draws) {
    if (d.failed == 0) continue;
    j.open("", '{');
    j.text("base", run.bases[d.base].path);
    j.integer("index", static_cast<std::int64_t>(d.index));
    j.open("oracles", '[');
    for (std::size_t o = 0; o < kOracleCount; ++o) {
      if ((d.failed >> o & 1U) != 0) j.text("", oracle_name(static_cast<Oracle>(o)));
    }
    j.close(']');
    j.text("detail", d.detail);
    j.close('}');
  }
  j.close(']');
  j.close('}');
  return j.finish();
}

void coverage_table(std::string& md, const Run& run, std::uint32_t base) {
  const BaseEntry& b = run.bases[base];
  std::map<std::uint32_t, std::size_t> count;
  std::size_t draws = 0;
  for (const DrawRecord& d : run.draws) {
    if (d.base != base) continue;
    ++draws;
    for (const std::uint32_t c : d.coverage) ++count[c];
  }
  md += "\n### Coverage: `" + b.path + "` (" + std::to_string(draws) +
        " draws)\n\nDraws with at least one fault of each kind on each provider.\n\n| kind |";
  for (const std::string& p : b.providers) md += " " + p + " |";
  md += "\n|---|";
  for (std::size_t p = 0; p < b.providers.size(); ++p) md += "--:|";
  md += "\n";
  for (std::uint32_t k = 0; k < 7; ++k) {
    md += std::string("| ") + kind_name(k) + " |";
    for (std::uint32_t p = 0; p < b.providers.size(); ++p) {
      const auto it = count.find(p * 8 + k);
      md += " " + (it == count.end() ? std::string("·") : std::to_string(it->second)) + " |";
    }
    md += "\n";
  }
}

std::string report_md(const Run& run) {
  std::string md = "# failover explore\n\n";
  md += "Policy under test: `" + run.policy + "`; seed " + std::to_string(run.seed) + "; " +
        std::to_string(run.draws.size()) + " draws" +
        (run.keep_going ? " (--keep-going)" : " (stops at the first violation)") +
        (run.partial ? "; **partial** (stopped by time or Ctrl-C)" : "") + ".\n\n";
  md += "| oracle | on | draws judged | violations |\n|---|---|--:|--:|\n";
  for (std::size_t o = 0; o < kOracleCount; ++o) {
    const auto judged = std::count_if(run.draws.begin(), run.draws.end(),
                                      [&](const DrawRecord& d) { return (d.judged >> o & 1U) != 0; });
    const auto failed = std::count_if(run.draws.begin(), run.draws.end(),
                                      [&](const DrawRecord& d) { return (d.failed >> o & 1U) != 0; });
    md += "| " + std::string(oracle_name(static_cast<Oracle>(o))) + " | " + (run.oracles[o] ? "yes" : "no") + " | " +
          std::to_string(judged) + " | " + std::to_string(failed) + " |\n";
  }
  md += "\n## Minimal repros\n\n";
  if (run.findings.empty()) md += "None: no oracle failed.\n";
  for (std::size_t i = 0; i < run.findings.size(); ++i) {
    const FindingRecord& f = run.findings[i];
    md += "- **" + finding_file(i, f) + "** (" + std::string(oracle_name(f.oracle)) + ", `" + run.bases[f.base].path +
          "` draw " + std::to_string(f.index) + "): " + f.detail + "\n  - original: " + f.original_size +
          "\n  - shrunk: " + f.shrunk_size + " (" + std::to_string(f.steps) + " steps)\n";
  }
  md += "\n## Failing draws (" + std::to_string(failing_draws(run)) + ")\n\n";
  std::size_t listed = 0;
  for (const DrawRecord& d : run.draws) {
    if (d.failed == 0 || listed++ >= 50) continue;
    md += "- `" + run.bases[d.base].path + "` draw " + std::to_string(d.index) + ": availability " +
          ppm_percent(d.availability_ppm) + (d.direct_ppm >= 0 ? " (direct " + ppm_percent(d.direct_ppm) + ")" : "") +
          "; " + d.detail + "\n";
  }
  if (listed > 50) md += "- ... and " + std::to_string(listed - 50) + " more (findings.json lists them all)\n";
  md += "\n## What was explored\n";
  for (std::uint32_t b = 0; b < run.bases.size(); ++b) coverage_table(md, run, b);
  return md;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> render_outputs(const Run& merged) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("report.md", report_md(merged));
  out.emplace_back("findings.json", findings_json(merged));
  for (std::size_t i = 0; i < merged.findings.size(); ++i)
    out.emplace_back(finding_file(i, merged.findings[i]), merged.findings[i].text);
  return out;
}

}  // namespace failover::sim::explore
