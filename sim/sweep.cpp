// Policy sweeps (sim/sweep.h): --set values and ranges, grid and random points, shards,
// run records, shard files and their merge, per-point summaries, ranking and the Pareto
// frontier. No floating-point arithmetic decides a value swept: ranges step in integers.
#include "sim/sweep.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <toml++/toml.h>

#include "core/config/load.h"
#include "core/config/toml_reader.h"
#include "core/config/toml_values.h"
#include "core/config/write.h"
#include "core/engine/assert.h"
#include "core/engine/prng.h"
#include "sim/expect.h"

namespace failover::sim::sweep {
namespace {

using config::element;
using config::join;

constexpr std::int64_t kPow10[] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000};
constexpr int kPlacesMax = 6;
constexpr std::size_t kWordLengthMax = 256;
constexpr std::size_t kRandomDrawsPerPoint = 64;
constexpr std::string_view kShardFormat = "failover-sweep-shard/1";

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Shortest text that reads back as exactly `v` ("inf" for +infinity).
std::string exact(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  FAILOVER_ASSERT(ec == std::errc{});
  return std::string(buf, end);
}

std::optional<double> read_exact(std::string_view s) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || std::isnan(v)) return std::nullopt;
  return v;
}

template <typename Int>
std::optional<Int> read_int(std::string_view s) {
  Int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool bare_word(std::string_view w) {
  if (w.empty() || w.size() > kWordLengthMax) return false;
  return std::all_of(w.begin(), w.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '%' || c == '+' || c == ':';
  });
}

// ---- ranges ------------------------------------------------------------------------

// A decimal number as num / 10^places: "-1.25" -> {-125, 2}. At most 12 integer digits
// and kPlacesMax decimals.
struct Fixed {
  std::int64_t num = 0;
  int places = 0;
};

std::optional<Fixed> read_fixed(std::string_view s) {
  Fixed f;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || frac.size() > static_cast<std::size_t>(kPlacesMax)) return std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  for (const char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    f.num = f.num * 10 + (c - '0');
  }
  for (const char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    f.num = f.num * 10 + (c - '0');
  }
  f.places = static_cast<int>(frac.size());
  if (negative) f.num = -f.num;
  return f;
}

std::int64_t at_places(const Fixed& f, int places) {
  return f.num * kPow10[places - f.places];
}

std::string fixed_text(std::int64_t num, int places, bool keep_point) {
  const bool negative = num < 0;
  const std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(num) : static_cast<std::uint64_t>(num);
  const auto p = static_cast<std::uint64_t>(kPow10[places]);
  std::string out = (negative ? "-" : "") + std::to_string(mag / p);
  if (places > 0) {
    std::string frac = std::to_string(mag % p);
    frac.insert(0, static_cast<std::size_t>(places) - frac.size(), '0');
    out += "." + frac;
  } else if (keep_point) {
    out += ".0";
  }
  return out;
}

// The integers lo, lo + step, ... <= hi, each written by `text`.
template <typename Text>
Result<std::vector<std::string>> stepped(std::int64_t lo, std::int64_t hi, std::int64_t step, const Text& text) {
  if (step <= 0) return Error{"", "STEP must be above zero"};
  if (hi < lo) return Error{"", "HI must not be below LO"};
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span / static_cast<std::uint64_t>(step) >= kValuesPerKeyMax) {
    return Error{"", "gives more than " + std::to_string(kValuesPerKeyMax) + " values"};
  }
  std::vector<std::string> values;
  for (std::int64_t v = lo; v <= hi && values.size() < kValuesPerKeyMax; v += step) {
    values.push_back(text(v));
    if (hi - v < step) break;
  }
  return values;
}

Result<std::vector<std::string>> fixed_range(std::string_view lo_s, std::string_view hi_s, std::string_view step_s,
                                             bool percent) {
  const std::optional<Fixed> lo = read_fixed(lo_s);
  const std::optional<Fixed> hi = read_fixed(hi_s);
  const std::optional<Fixed> step = read_fixed(step_s);
  if (!lo || !hi || !step)
    return Error{"", "LO, HI and STEP must all be integers, decimals (at most 6 places), percentages or durations"};
  const int places = std::max({lo->places, hi->places, step->places});
  const bool decimal = lo_s.find('.') != std::string_view::npos || hi_s.find('.') != std::string_view::npos ||
                       step_s.find('.') != std::string_view::npos;
  // Each value in the canonical form a single value of --set takes (0.10 -> 0.1, 10.50% ->
  // 10.5%), so a value given twice in two spellings is one value, not two.
  return stepped(at_places(*lo, places), at_places(*hi, places), at_places(*step, places), [&](std::int64_t v) {
    if (percent) {
      std::string t = fixed_text(v, places, false);
      if (t.find('.') != std::string::npos) {
        while (t.back() == '0') t.pop_back();
        if (t.back() == '.') t.pop_back();
      }
      return "\"" + t + "%\"";
    }
    const std::string t = fixed_text(v, places, decimal);
    const Result<std::string> canonical = value_text(t);
    FAILOVER_ASSERT(canonical.has_value());  // a plain integer or decimal is always TOML
    return *canonical;
  });
}

// ---- shard files -------------------------------------------------------------------

std::string int_array(const std::vector<std::uint64_t>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string definition_text(const Definition& d) {
  std::string o = "mode = " + toml_string(d.mode) + "\nkeys = [";
  for (std::size_t i = 0; i < d.axes.size(); ++i) o += (i ? ", " : "") + toml_string(d.axes[i].key);
  o += "]\nvalues = [";
  for (std::size_t i = 0; i < d.axes.size(); ++i) {
    o += std::string(i ? ", " : "") + "[";
    for (std::size_t j = 0; j < d.axes[i].values.size(); ++j) o += (j ? ", " : "") + toml_string(d.axes[i].values[j]);
    o += "]";
  }
  o += "]\npoints = [";
  for (std::size_t p = 0; p < d.points.size(); ++p) {
    o += std::string(p ? "," : "") + (p % 8 == 0 ? "\n  " : " ") + "[";
    for (std::size_t k = 0; k < d.points[p].size(); ++k) o += (k ? ", " : "") + std::to_string(d.points[p][k]);
    o += "]";
  }
  o += "\n]\n";
  for (const ScenarioEntry& s : d.scenarios) {
    o += "\n[[scenarios]]\npath = " + toml_string(s.path) + "\nhash = " + toml_string(text_hash(s.text)) +
         "\nseeds = " + int_array(s.seeds) + "\ntext = " + toml_string(s.text) + "\n";
  }
  return o;
}

std::string record_text(const Record& r) {
  return std::to_string(r.scenario) + " " + std::to_string(r.point) + " " + std::to_string(r.seed) + " " +
         exact(r.availability_pct) + " " + exact(r.p99_ms) + " " + exact(r.cost_usd) + " " + exact(r.cost_ratio_pct) +
         " " + std::to_string(r.dropped) + " " + exact(r.overflow_after_minutes) + " " + std::to_string(r.trips) + " " +
         (r.conserved ? "1" : "0") + " " + (r.checks.empty() ? "-" : r.checks);
}

// Why a record's values cannot have come from a run, or "" when they could: a shard
// file is input, and merge must not rank a point on availability 250% or a cost of 1e308.
std::string record_range_error(const Record& r) {
  const double cost_usd_max =
      static_cast<double>(std::numeric_limits<std::int64_t>::max()) / 1e6;  // micro-USD in an int64
  const auto at_least_zero = [](double v, bool inf_ok) { return v >= 0.0 && (inf_ok || std::isfinite(v)); };
  if (!std::isfinite(r.availability_pct) || r.availability_pct < 0.0 || r.availability_pct > 100.0) {
    return "availability_pct " + exact(r.availability_pct) + " is not between 0 and 100";
  }
  if (!at_least_zero(r.p99_ms, true)) return "p99_ms " + exact(r.p99_ms) + " is negative";
  if (!at_least_zero(r.cost_usd, false) || r.cost_usd > cost_usd_max) {
    return "cost_usd " + exact(r.cost_usd) + " is not between 0 and " + exact(cost_usd_max);
  }
  if (!at_least_zero(r.cost_ratio_pct, true)) return "cost_ratio_pct " + exact(r.cost_ratio_pct) + " is negative";
  if (!at_least_zero(r.overflow_after_minutes, true))
    return "overflow_after_minutes " + exact(r.overflow_after_minutes) + " is negative";
  if (r.dropped < 0) return "dropped " + std::to_string(r.dropped) + " is negative";
  if (r.trips < 0) return "trips " + std::to_string(r.trips) + " is negative";
  return {};
}

std::optional<Record> read_record(std::string_view s) {
  std::vector<std::string_view> f;
  for (std::size_t at = 0; at <= s.size() && f.size() < 13;) {
    const std::size_t space = std::min(s.find(' ', at), s.size());
    f.push_back(s.substr(at, space - at));
    at = space + 1;
  }
  if (f.size() != 12) return std::nullopt;
  Record r;
  const auto scenario = read_int<std::uint32_t>(f[0]);
  const auto point = read_int<std::uint32_t>(f[1]);
  const auto seed = read_int<std::uint64_t>(f[2]);
  const auto a = read_exact(f[3]), p99 = read_exact(f[4]), cost = read_exact(f[5]), ratio = read_exact(f[6]),
             over = read_exact(f[8]);
  const auto dropped = read_int<std::int64_t>(f[7]);
  const auto trips = read_int<std::int64_t>(f[9]);
  if (!scenario || !point || !seed || !a || !p99 || !cost || !ratio || !over || !dropped || !trips) return std::nullopt;
  if (f[10] != "0" && f[10] != "1") return std::nullopt;
  const bool checks_ok =
      f[11] == "-" || std::all_of(f[11].begin(), f[11].end(), [](char c) { return c == 'P' || c == 'F'; });
  if (!checks_ok || f[11].size() > kExpectationsMax) return std::nullopt;
  r.scenario = *scenario;
  r.point = *point;
  r.seed = *seed;
  r.availability_pct = *a;
  r.p99_ms = *p99;
  r.cost_usd = *cost;
  r.cost_ratio_pct = *ratio;
  r.dropped = *dropped;
  r.overflow_after_minutes = *over;
  r.trips = *trips;
  r.conserved = f[10] == "1";
  r.checks = f[11] == "-" ? std::string() : std::string(f[11]);
  return r;
}

// The place of the record's seed in its scenario's seed list; the list's size when the
// scenario does not run that seed.
std::size_t seed_place(const Shard& s, const Record& r) {
  FAILOVER_ASSERT(r.scenario < s.definition.scenarios.size());
  const std::vector<std::uint64_t>& seeds = s.definition.scenarios[r.scenario].seeds;
  return static_cast<std::size_t>(std::find(seeds.begin(), seeds.end(), r.seed) - seeds.begin());
}

// Indices of s.records by scenario, point, seed place and index: a total order, so that
// equal records keep their file order.
std::vector<std::size_t> record_order(const Shard& s) {
  std::vector<std::size_t> order(s.records.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto key = [&](std::size_t i) {
    const Record& r = s.records[i];
    return std::tuple(r.scenario, r.point, seed_place(s, r), i);
  };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return order;
}

// The first record (an index into s.records) that breaks "one record per seed of each
// (scenario, point) pair that has records", and why. Every record's seed must be one
// its scenario runs.
std::optional<std::pair<std::size_t, std::string>> first_incomplete(const Shard& s,
                                                                    const std::vector<std::size_t>& order) {
  FAILOVER_ASSERT(order.size() == s.records.size());
  const auto pair_text = [](const Record& r) {
    return "point " + std::to_string(r.point) + " of scenario " + std::to_string(r.scenario);
  };
  for (std::size_t k = 1; k < order.size(); ++k) {
    const Record& a = s.records[order[k - 1]];
    const Record& b = s.records[order[k]];
    if (a.scenario == b.scenario && a.point == b.point && a.seed == b.seed) {
      return std::pair(order[k], "repeats the run of seed " + std::to_string(b.seed) + " at " + pair_text(b));
    }
  }
  for (std::size_t k = 0; k < order.size();) {
    const Record& first = s.records[order[k]];
    std::size_t end = k;
    while (end < order.size() && s.records[order[end]].scenario == first.scenario &&
           s.records[order[end]].point == first.point)
      ++end;
    const std::size_t seeds = s.definition.scenarios[first.scenario].seeds.size();
    if (end - k != seeds) {
      return std::pair(order[k], pair_text(first) + " has runs of " + std::to_string(end - k) + " of its " +
                                     std::to_string(seeds) + " seeds (a shard holds every seed of a point or none)");
    }
    k = end;
  }
  return std::nullopt;
}

// s.records in `order`.
void reorder(Shard& s, const std::vector<std::size_t>& order) {
  FAILOVER_ASSERT(order.size() == s.records.size());
  std::vector<Record> sorted;
  sorted.reserve(order.size());
  for (const std::size_t i : order) sorted.push_back(std::move(s.records[i]));
  s.records = std::move(sorted);
}

// Sorts the records of merged shards by scenario, point and seed place, and checks that
// each (scenario, point) pair has exactly one record per seed; errors name `name`.
Status order_records(Shard& s, std::string_view name) {
  for (const Record& r : s.records) {
    if (seed_place(s, r) == s.definition.scenarios[r.scenario].seeds.size()) {
      return Error{std::string(name), "a record of seed " + std::to_string(r.seed) + " that its scenario does not run"};
    }
  }
  const std::vector<std::size_t> order = record_order(s);
  if (const auto bad = first_incomplete(s, order)) return Error{std::string(name), bad->second};
  reorder(s, order);
  return Ok{};
}

// Reads a parsed shard file with the one TOML reader (core/config/toml_reader.h): every
// error names the file, line:col and key -- a record's, its place in `records`.
class ShardReader {
 public:
  explicit ShardReader(std::string name) : r_(std::move(name)) {}
  Result<Shard> read(const toml::table& root);

 private:
  void read_header(const toml::table& root, Shard& s);
  void read_axes(const toml::table& root, Definition& d);
  void read_points(const toml::table& root, Definition& d);
  void read_scenarios(const toml::table& root, Definition& d);
  void read_scenario(const toml::table& t, const std::string& path, ScenarioEntry& e);
  void read_records(const toml::array& records, Shard& s);
  void read_record_at(const toml::node& n, const std::string& path, Shard& s);

  config::Reader r_;
};

Result<Shard> ShardReader::read(const toml::table& root) {
  Shard s;
  read_header(root, s);
  read_axes(root, s.definition);
  read_points(root, s.definition);
  read_scenarios(root, s.definition);
  if (const toml::array* records = r_.array(root, "records", "")) read_records(*records, s);
  if (r_.failed()) return r_.error();
  FAILOVER_ASSERT(s.index < s.count);
  return s;
}

// The format first, so that another file given to merge is named as such.
void ShardReader::read_header(const toml::table& root, Shard& s) {
  const std::optional<std::string> format = r_.text(root, "format", "");
  if (!r_.failed() && format != kShardFormat) {
    const toml::node& at = format ? *root.get("format") : static_cast<const toml::node&>(root);
    r_.fail(at, "format", "must be \"" + std::string(kShardFormat) + "\": this is not a shard file of failover sweep");
    return;
  }
  if (!r_.only_keys(
          root, "",
          {"format", "shard", "shards", "partial", "records", "mode", "keys", "values", "points", "scenarios"}))
    return;
  for (const std::string_view key :
       {"shard", "shards", "partial", "records", "mode", "keys", "values", "points", "scenarios"}) {
    r_.require(root, key, "");
  }
  s.count =
      static_cast<std::size_t>(r_.integer(root, "shards", "", 1, static_cast<std::int64_t>(kShardsMax)).value_or(1));
  s.index =
      static_cast<std::size_t>(r_.integer(root, "shard", "", 0, static_cast<std::int64_t>(s.count) - 1).value_or(0));
  s.partial = r_.boolean(root, "partial", "").value_or(false);
  s.definition.mode = r_.text(root, "mode", "").value_or("");
}

void ShardReader::read_axes(const toml::table& root, Definition& d) {
  const toml::array* keys = r_.array(root, "keys", "");
  const toml::array* values = r_.array(root, "values", "");
  if (keys == nullptr || values == nullptr) return;
  if (keys->empty() || keys->size() > kKeysMax)
    r_.fail(*keys, "keys", "must list 1 to " + std::to_string(kKeysMax) + " keys");
  if (values->size() != keys->size())
    r_.fail(*values, "values", "must hold one array per key (" + std::to_string(keys->size()) + ")");
  for (std::size_t i = 0; i < keys->size() && !r_.failed(); ++i) {
    Axis& axis = d.axes.emplace_back();
    axis.key = r_.text_of(*keys->get(i), element("keys", i)).value_or("");
    const std::string path = element("values", i);
    const toml::array* list = r_.array_of(*values->get(i), path);
    if (list == nullptr) return;
    if (list->empty() || list->size() > kValuesPerKeyMax) {
      r_.fail(*list, path, "must list 1 to " + std::to_string(kValuesPerKeyMax) + " values");
    }
    for (std::size_t j = 0; j < list->size() && !r_.failed(); ++j) {
      axis.values.push_back(r_.text_of(*list->get(j), element(path, j)).value_or(""));
    }
  }
}

void ShardReader::read_points(const toml::table& root, Definition& d) {
  const toml::array* points = r_.array(root, "points", "");
  if (points == nullptr) return;
  if (points->empty() || points->size() > kPointsMax) {
    r_.fail(*points, "points", "must list 1 to " + std::to_string(kPointsMax) + " points");
  }
  for (std::size_t p = 0; p < points->size() && !r_.failed(); ++p) {
    const std::string path = element("points", p);
    const toml::array* point = r_.array_of(*points->get(p), path);
    if (point == nullptr) return;
    if (point->size() != d.axes.size()) {
      r_.fail(*point, path, "must hold one value index per key (" + std::to_string(d.axes.size()) + ")");
      return;
    }
    Point& out = d.points.emplace_back();
    for (std::size_t k = 0; k < point->size() && !r_.failed(); ++k) {
      const auto last = static_cast<std::int64_t>(d.axes[k].values.size()) - 1;
      out.push_back(static_cast<std::uint32_t>(r_.integer_of(*point->get(k), element(path, k), 0, last).value_or(0)));
    }
  }
}

void ShardReader::read_scenarios(const toml::table& root, Definition& d) {
  const toml::array* scenarios = r_.tables(root, "scenarios", "");
  if (scenarios == nullptr) return;
  if (scenarios->empty() || scenarios->size() > kScenariosMax) {
    r_.fail(*scenarios, "scenarios", "must list 1 to " + std::to_string(kScenariosMax) + " scenarios");
  }
  for (std::size_t i = 0; i < scenarios->size() && !r_.failed(); ++i) {
    if (const toml::table* t = r_.table_at(*scenarios, i, "scenarios")) {
      read_scenario(*t, element("scenarios", i), d.scenarios.emplace_back());
    }
  }
}

void ShardReader::read_scenario(const toml::table& t, const std::string& path, ScenarioEntry& e) {
  if (!r_.only_keys(t, path, {"path", "hash", "seeds", "text"})) return;
  for (const std::string_view key : {"path", "hash", "seeds", "text"}) r_.require(t, key, path);
  e.path = r_.text(t, "path", path).value_or("");
  e.text = r_.text(t, "text", path).value_or("");
  const std::optional<std::string> hash = r_.text(t, "hash", path);
  if (hash && *hash != text_hash(e.text)) {
    r_.fail(*t.get("hash"), join(path, "hash"),
            "does not match the text, whose hash is " + text_hash(e.text) + ": the text was changed");
  }
  const std::string seeds_path = join(path, "seeds");
  const toml::array* seeds = r_.array(t, "seeds", path);
  if (seeds == nullptr) return;
  if (seeds->empty() || seeds->size() > kSeedsMax)
    r_.fail(*seeds, seeds_path, "must list 1 to " + std::to_string(kSeedsMax) + " seeds");
  for (std::size_t j = 0; j < seeds->size() && !r_.failed(); ++j) {
    const std::optional<std::int64_t> seed =
        r_.integer_of(*seeds->get(j), element(seeds_path, j), 0, std::numeric_limits<std::int64_t>::max());
    e.seeds.push_back(static_cast<std::uint64_t>(seed.value_or(0)));
  }
}

// Each record is checked where it stands; then all of them for one run per seed of
// each point they hold, and sorted.
void ShardReader::read_records(const toml::array& records, Shard& s) {
  for (std::size_t i = 0; i < records.size() && !r_.failed(); ++i)
    read_record_at(*records.get(i), element("records", i), s);
  if (r_.failed()) return;
  const std::vector<std::size_t> order = record_order(s);
  if (const auto bad = first_incomplete(s, order)) {
    r_.fail(*records.get(bad->first), element("records", bad->first), bad->second);
    return;
  }
  reorder(s, order);
}

void ShardReader::read_record_at(const toml::node& n, const std::string& path, Shard& s) {
  const std::optional<std::string> text = r_.text_of(n, path);
  if (!text) return;
  std::optional<Record> r = read_record(*text);
  const std::size_t scenarios = s.definition.scenarios.size();
  const std::size_t points = s.definition.points.size();
  if (!r) {
    r_.fail(
        n, path,
        "is not a run record: 12 fields, scenario point seed availability_pct p99_ms cost_usd cost_ratio_pct dropped "
        "overflow_after_minutes trips conserved checks");
  } else if (r->scenario >= scenarios) {
    r_.fail(n, path,
            "names scenario " + std::to_string(r->scenario) + ", but the shard has " + std::to_string(scenarios));
  } else if (r->point >= points) {
    r_.fail(n, path, "names point " + std::to_string(r->point) + ", but the shard has " + std::to_string(points));
  } else if (const std::string why_not = record_range_error(*r); !why_not.empty()) {
    r_.fail(n, path, why_not);
  } else if (seed_place(s, *r) == s.definition.scenarios[r->scenario].seeds.size()) {
    r_.fail(n, path,
            "is a run of seed " + std::to_string(r->seed) + ", which scenario " + std::to_string(r->scenario) +
                " does not run");
  }
  if (!r_.failed()) s.records.push_back(std::move(*r));
}

}  // namespace

// ---- values, keys and points ---------------------------------------------------------

namespace {

// value_text without the bound on the length of what it writes.
Result<std::string> canonical_value(std::string_view word) {
  if (word.empty()) return Error{"", "is an empty value"};
  if (word.size() > kWordLengthMax) return Error{"", "is too long a value"};
  Result<toml::table> parsed = parse_toml("v = " + std::string(word), "value");
  const toml::node* v = parsed && parsed->size() == 1 ? parsed->get("v") : nullptr;
  if (v == nullptr) {
    if (bare_word(word)) return toml_string(word);
    return Error{"", "\"" + std::string(word) + "\" is neither a TOML value nor a bare word"};
  }
  if (const auto* i = v->as_integer()) return std::to_string(i->get());
  if (const auto* b = v->as_boolean()) return std::string(b->get() ? "true" : "false");
  if (const auto* s = v->as_string()) return toml_string(s->get());
  if (const auto* f = v->as_floating_point()) {
    if (!std::isfinite(f->get())) return Error{"", "\"" + std::string(word) + "\" is not a finite number"};
    std::string t = exact(f->get());
    if (t.find_first_of(".e") == std::string::npos) t += ".0";
    return t;
  }
  if (bare_word(word)) return toml_string(word);
  return Error{"", "\"" + std::string(word) + "\" must be a number, a boolean or a string"};
}

}  // namespace

Result<std::string> value_text(std::string_view word) {
  Result<std::string> canonical = canonical_value(word);
  // The written form is bounded too (escapes can make it longer than the word), so a
  // value always reads back as itself.
  if (canonical && canonical->size() > kWordLengthMax) return Error{"", "is too long a value"};
  return canonical;
}

Result<std::vector<std::string>> expand_range(std::string_view range) {
  const std::size_t dots = range.find("..");
  const std::size_t colon = range.rfind(':');
  if (dots == std::string_view::npos || colon == std::string_view::npos || colon < dots + 2) {
    return Error{"", "is not a range LO..HI:STEP"};
  }
  const std::string_view lo = range.substr(0, dots);
  const std::string_view hi = range.substr(dots + 2, colon - dots - 2);
  const std::string_view step = range.substr(colon + 1);
  if (lo.empty() || hi.empty() || step.empty()) return Error{"", "is not a range LO..HI:STEP"};
  const auto is_percent = [](std::string_view s) { return s.size() > 1 && s.back() == '%'; };
  if (is_percent(lo) && is_percent(hi) && is_percent(step)) {
    return fixed_range(lo.substr(0, lo.size() - 1), hi.substr(0, hi.size() - 1), step.substr(0, step.size() - 1), true);
  }
  if (read_fixed(lo) && read_fixed(hi) && read_fixed(step)) return fixed_range(lo, hi, step, false);
  const Result<Duration> dlo = config::parse_duration(lo);
  const Result<Duration> dhi = config::parse_duration(hi);
  const Result<Duration> dstep = config::parse_duration(step);
  if (dlo && dhi && dstep) {
    return stepped(to_us(*dlo), to_us(*dhi), to_us(*dstep),
                   [](std::int64_t us) { return "\"" + config::duration_text(Duration{us}) + "\""; });
  }
  return Error{"", "LO, HI and STEP must all be integers, decimals (at most 6 places), percentages or durations"};
}

Result<Axis> parse_set(std::string_view arg) {
  const std::size_t eq = arg.find('=');
  const std::string where = "--set " + std::string(arg);
  if (eq == std::string_view::npos) return Error{where, "expected KEY=V1,V2,... or KEY=LO..HI:STEP"};
  Axis axis;
  axis.key = std::string(arg.substr(0, eq));
  const auto key_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  };
  const bool key_ok = !axis.key.empty() && axis.key.size() <= kWordLengthMax && axis.key.front() != '.' &&
                      axis.key.back() != '.' && axis.key.find("..") == std::string::npos &&
                      std::all_of(axis.key.begin(), axis.key.end(), key_char);
  if (!key_ok)
    return Error{where, "\"" + axis.key +
                            "\" is not a dotted key under [policy] like breaker.open_base, nor a provider limit like "
                            "providers.openai.concurrency_max"};
  std::string_view rest = arg.substr(eq + 1);
  if (rest.empty()) return Error{where, "lists no value"};
  for (std::size_t at = 0; at <= rest.size();) {
    const std::size_t comma = std::min(rest.find(',', at), rest.size());
    const std::string_view item = rest.substr(at, comma - at);
    at = comma + 1;
    if (item.empty()) return Error{where, "has an empty value"};
    const bool range = item.find("..") != std::string_view::npos && item.front() != '"';
    std::vector<std::string> values;
    if (range) {
      Result<std::vector<std::string>> r = expand_range(item);
      if (!r) return Error{where, std::string(item) + ": " + r.error().what};
      values = std::move(*r);
    } else {
      Result<std::string> v = value_text(item);
      if (!v) return Error{where, v.error().what};
      values.push_back(std::move(*v));
    }
    for (std::string& v : values) {
      if (std::find(axis.values.begin(), axis.values.end(), v) != axis.values.end())
        return Error{where, "repeats the value " + v};
      if (axis.values.size() >= kValuesPerKeyMax)
        return Error{where, "lists more than " + std::to_string(kValuesPerKeyMax) + " values"};
      axis.values.push_back(std::move(v));
    }
    if (comma == rest.size()) break;
  }
  return axis;
}

namespace {

// The number of grid points, or an error past kPointsMax (or on a bad axis list).
Result<std::size_t> grid_size(const std::vector<Axis>& axes) {
  if (axes.empty()) return Error{"--set", "no key to sweep: give at least one --set KEY=V1,V2,..."};
  if (axes.size() > kKeysMax) return Error{"--set", "at most " + std::to_string(kKeysMax) + " keys"};
  std::size_t n = 1;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    FAILOVER_ASSERT(!axes[i].values.empty());
    for (std::size_t j = 0; j < i; ++j) {
      if (axes[j].key == axes[i].key)
        return Error{"--set " + axes[i].key, "is given twice: list every value in one --set"};
    }
    n *= axes[i].values.size();
    if (n > kPointsMax)
      return Error{"--set",
                   "the grid has more than " + std::to_string(kPointsMax) + " points: narrow it or use --random N"};
  }
  return n;
}

}  // namespace

Result<std::vector<Point>> grid(const std::vector<Axis>& axes) {
  const Result<std::size_t> n = grid_size(axes);
  if (!n) return n.error();
  std::vector<Point> points;
  points.reserve(*n);
  Point p(axes.size(), 0);
  for (std::size_t i = 0; i < *n; ++i) {
    points.push_back(p);
    for (std::size_t k = axes.size(); k-- > 0;) {  // the last axis varies fastest
      if (++p[k] < axes[k].values.size()) break;
      p[k] = 0;
    }
  }
  FAILOVER_ASSERT(points.size() == *n);
  return points;
}

Result<std::vector<Point>> random_points(const std::vector<Axis>& axes, std::size_t count, std::uint64_t seed) {
  const Result<std::size_t> n = grid_size(axes);
  if (!n) return n.error();
  if (count == 0) return Error{"--random", "must be at least 1"};
  if (count >= *n) return grid(axes);
  Prng prng(seed);
  std::set<Point> seen;
  std::vector<Point> points;
  for (std::size_t draw = 0; points.size() < count && draw < count * kRandomDrawsPerPoint; ++draw) {
    Point p;
    for (const Axis& a : axes) p.push_back(static_cast<std::uint32_t>(prng.below(a.values.size())));
    if (seen.insert(p).second) points.push_back(std::move(p));
  }
  FAILOVER_ASSERT(points.size() <= count);
  return points;
}

std::size_t shard_of(std::size_t point, std::size_t shards) {
  FAILOVER_ASSERT(shards > 0);
  return point % shards;
}

std::vector<PolicyOverride> overrides_of(const std::vector<Axis>& axes, const Point& point) {
  FAILOVER_ASSERT(point.size() == axes.size());
  std::vector<PolicyOverride> out;
  for (std::size_t k = 0; k < axes.size(); ++k) {
    FAILOVER_ASSERT(point[k] < axes[k].values.size());
    out.push_back(PolicyOverride{axes[k].key, axes[k].values[point[k]]});
  }
  return out;
}

std::string display_value(std::string_view toml_text) {
  if (toml_text.size() < 2 || toml_text.front() != '"') return std::string(toml_text);
  Result<toml::table> parsed = parse_toml("v = " + std::string(toml_text), "value");
  const auto* s = parsed ? parsed->get_as<std::string>("v") : nullptr;
  return s ? s->get() : std::string(toml_text);
}

std::string text_hash(std::string_view text) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(stable_hash(text)));
  return buf;
}

// ---- records -----------------------------------------------------------------------

std::vector<const Expectation*> policy_expectations(const Scenario& scenario) {
  std::vector<const Expectation*> out;
  for (const Expectation& e : scenario.expectations) {
    if (e.policy == "policy") out.push_back(&e);
  }
  return out;
}

Record record_of(const Scenario& scenario, std::uint32_t scenario_index, std::uint32_t point, RunResult run) {
  Record r;
  r.scenario = scenario_index;
  r.point = point;
  r.seed = run.seed;
  const auto m = [&](Metric metric) { return metric_value(metric, scenario, run, nullptr); };
  r.availability_pct = m(Metric::availability);
  r.p99_ms = m(Metric::latency_p99);
  r.cost_usd = m(Metric::cost_usd);
  r.cost_ratio_pct = m(Metric::cost_ratio);
  r.dropped = run.dropped;
  r.overflow_after_minutes = m(Metric::overflow_at);
  r.trips = static_cast<std::int64_t>(m(Metric::breaker_trips));
  r.conserved = run.conserved;
  PolicyResult one;
  one.name = "policy";
  one.runs.push_back(std::move(run));
  for (const Expectation* e : policy_expectations(scenario))
    r.checks += check_expectation(*e, scenario, one).passed ? 'P' : 'F';
  return r;
}

// ---- shard files -------------------------------------------------------------------

std::string shard_file_name(std::size_t index, std::size_t count) {
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".toml";
}

std::string write_shard(const Shard& shard) {
  FAILOVER_ASSERT(shard.index < shard.count);
  std::string o = "# A shard of a policy sweep (failover sweep --shard); combine with failover merge. docs/sweep.md\n";
  o += "format = " + toml_string(kShardFormat) + "\nshard = " + std::to_string(shard.index) +
       "\nshards = " + std::to_string(shard.count) + "\npartial = " + (shard.partial ? "true" : "false") + "\n";
  o += "# Per run: scenario point seed availability_pct p99_ms cost_usd cost_ratio_pct dropped overflow_after_minutes "
       "trips "
       "conserved checks\n";
  o += "records = [";
  for (std::size_t i = 0; i < shard.records.size(); ++i)
    o += std::string(i ? "," : "") + "\n  " + toml_string(record_text(shard.records[i]));
  o += "\n]\n";
  return o + definition_text(shard.definition);
}

Result<Shard> read_shard(std::string_view text, std::string_view name) {
  try {
    if (text.size() > kShardBytesMax) return Error{std::string(name), "is larger than 1 GiB"};
    Result<toml::table> root = parse_toml(text, name);
    if (!root) return root.error();
    return ShardReader(std::string(name)).read(*root);
  } catch (const std::exception& e) {
    return Error{std::string(name), std::string("could not read: ") + e.what()};
  } catch (...) {
    return Error{std::string(name), "could not read: unknown exception"};
  }
}

Result<Shard> merge(std::vector<Shard> shards, const std::vector<std::string>& names) {
  FAILOVER_ASSERT(names.size() == shards.size());
  if (shards.empty()) return Error{"merge", "no shard file found"};
  const std::string definition = definition_text(shards.front().definition);
  const std::size_t count = shards.front().count;
  std::vector<std::size_t> owner(count, shards.size());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (shards[i].count != count)
      return Error{names[i], "is a shard of " + std::to_string(shards[i].count) + ", " + names[0] + " of " +
                                 std::to_string(count)};
    if (definition_text(shards[i].definition) != definition)
      return Error{names[i],
                   "belongs to another sweep than " + names[0] + " (scenarios, keys, values, points or seeds differ)"};
    const std::size_t at = shards[i].index;
    if (owner[at] != shards.size())
      return Error{names[i], "is shard " + std::to_string(at) + " of " + std::to_string(count) + " again (as " +
                                 names[owner[at]] + ")"};
    owner[at] = i;
  }
  for (std::size_t at = 0; at < count; ++at) {
    if (owner[at] == shards.size())
      return Error{"merge", "shard " + std::to_string(at) + " of " + std::to_string(count) + " (" +
                                shard_file_name(at, count) + ") is missing"};
  }
  Shard out;
  out.definition = std::move(shards.front().definition);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (Record& r : shards[i].records) {
      if (shard_of(r.point, count) != shards[i].index)
        return Error{names[i], "holds point " + std::to_string(r.point) + ", which belongs to another shard"};
      out.records.push_back(std::move(r));
    }
    out.partial = out.partial || shards[i].partial;
  }
  const Status ordered = order_records(out, "merge");
  if (!ordered) return ordered.error();
  return out;
}

// ---- summaries, ranking, frontier ------------------------------------------------------

namespace {

// The live config of `text` with `overrides` applied, as the canonical printer writes it
// (core/config/write.h), parsed back into a tree to compare leaf by leaf.
Result<toml::table> printed_config(const ScenarioEntry& e, const std::vector<PolicyOverride>& overrides) {
  Result<Scenario> loaded = load_scenario_string(e.text, e.path, overrides);
  if (!loaded) return loaded.error();
  FAILOVER_ASSERT(!loaded->policies.empty());
  Result<std::string> printed = config::config_toml(loaded->policies.front().config);
  if (!printed) return printed.error();
  return parse_toml(*printed, e.path + " (as printed)");
}

std::uint32_t leaves(const toml::node& n) {
  std::uint32_t count = 0;
  if (const toml::table* t = n.as_table()) {
    for (const auto& [key, child] : *t) count += leaves(child);
    return count;
  }
  if (const toml::array* a = n.as_array()) {
    for (const toml::node& child : *a) count += leaves(child);
    return count;
  }
  return 1;
}

bool same_leaf(const toml::node& a, const toml::node& b) {
  if (a.type() != b.type()) return false;
  if (const auto* x = a.as_string()) return x->get() == b.as_string()->get();
  if (const auto* x = a.as_integer()) return x->get() == b.as_integer()->get();
  if (const auto* x = a.as_floating_point()) return x->get() == b.as_floating_point()->get();
  if (const auto* x = a.as_boolean()) return x->get() == b.as_boolean()->get();
  return false;  // the printer writes no dates or times
}

// How many leaves (keys, array items) differ between the two trees; a leaf on one side
// only counts once.
std::uint32_t differing(const toml::node* a, const toml::node* b) {
  if (a == nullptr || b == nullptr) return a != nullptr ? leaves(*a) : b != nullptr ? leaves(*b) : 0U;
  if (a->is_table() && b->is_table()) {
    const toml::table& ta = *a->as_table();
    const toml::table& tb = *b->as_table();
    std::uint32_t count = 0;
    for (const auto& [key, child] : ta) count += differing(&child, tb.get(key.str()));
    for (const auto& [key, child] : tb) count += ta.contains(key.str()) ? 0U : leaves(child);
    return count;
  }
  if (a->is_array() && b->is_array()) {
    const toml::array& xa = *a->as_array();
    const toml::array& xb = *b->as_array();
    std::uint32_t count = 0;
    for (std::size_t i = 0; i < std::max(xa.size(), xb.size()); ++i)
      count += differing(i < xa.size() ? xa.get(i) : nullptr, i < xb.size() ? xb.get(i) : nullptr);
    return count;
  }
  if (a->is_table() || a->is_array() || b->is_table() || b->is_array()) return std::max(leaves(*a), leaves(*b));
  return same_leaf(*a, *b) ? 0U : 1U;
}

}  // namespace

Result<std::vector<std::uint32_t>> changed_keys(const Definition& d, std::uint32_t scenario) {
  FAILOVER_ASSERT(scenario < d.scenarios.size());
  const ScenarioEntry& e = d.scenarios[scenario];
  try {
    const Result<toml::table> own = printed_config(e, {});
    if (!own) return own.error();
    std::vector<std::vector<std::uint32_t>> by_value(d.axes.size());  // [axis][value]
    for (std::size_t k = 0; k < d.axes.size(); ++k) {
      for (const std::string& value : d.axes[k].values) {
        const Result<toml::table> one = printed_config(e, {PolicyOverride{d.axes[k].key, value}});
        by_value[k].push_back(one ? differing(&*own, &*one) : 1U);
      }
    }
    std::vector<std::uint32_t> out;
    out.reserve(d.points.size());
    for (const Point& p : d.points) {
      FAILOVER_ASSERT(p.size() == d.axes.size());
      std::uint32_t n = 0;
      for (std::size_t k = 0; k < p.size(); ++k) n += by_value[k][p[k]];
      out.push_back(n);
    }
    return out;
  } catch (const std::exception& ex) {
    return Error{e.path, std::string("could not compare the points with the scenario's policy: ") + ex.what()};
  }
}

std::vector<PointSummary> summarize(const Shard& merged, std::uint32_t scenario,
                                    const std::vector<std::uint32_t>& changed) {
  FAILOVER_ASSERT(changed.empty() || changed.size() == merged.definition.points.size());
  std::vector<PointSummary> out;
  for (const Record& r : merged.records) {
    if (r.scenario != scenario) continue;
    if (out.empty() || out.back().point != r.point) {
      PointSummary& s = out.emplace_back();
      s.point = r.point;
      s.changed_keys = changed.empty() ? 0U : changed[r.point];
      s.availability_pct = r.availability_pct;
      s.p99_ms = r.p99_ms;
      s.cost_usd = r.cost_usd;
      s.cost_ratio_pct = r.cost_ratio_pct;
      s.check_passes.assign(r.checks.size(), 0);
    }
    PointSummary& s = out.back();
    ++s.seeds;
    s.passed += r.passed() ? 1U : 0U;
    s.availability_pct = std::min(s.availability_pct, r.availability_pct);
    s.p99_ms = std::max(s.p99_ms, r.p99_ms);
    s.cost_usd = std::max(s.cost_usd, r.cost_usd);
    s.cost_ratio_pct = std::max(s.cost_ratio_pct, r.cost_ratio_pct);
    s.dropped = std::max(s.dropped, r.dropped);
    s.trips = std::max(s.trips, r.trips);
    for (std::size_t e = 0; e < s.check_passes.size() && e < r.checks.size(); ++e)
      s.check_passes[e] += r.checks[e] == 'P' ? 1U : 0U;
  }
  return out;
}

std::vector<std::size_t> ranking(const std::vector<PointSummary>& points) {
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
    const PointSummary& a = points[i];
    const PointSummary& b = points[j];
    const std::size_t left = a.passed * std::max<std::size_t>(b.seeds, 1);  // a.passed / a.seeds vs b.passed / b.seeds
    const std::size_t right = b.passed * std::max<std::size_t>(a.seeds, 1);
    if (left != right) return left > right;
    if (a.availability_pct != b.availability_pct) return a.availability_pct > b.availability_pct;
    if (a.p99_ms != b.p99_ms) return a.p99_ms < b.p99_ms;
    if (a.cost_usd != b.cost_usd) return a.cost_usd < b.cost_usd;
    if (a.changed_keys != b.changed_keys) return a.changed_keys < b.changed_keys;
    return a.point < b.point;
  });
  return order;
}

namespace {

// The worst seed's value of `metric` as a summary keeps it; empty for the metrics it
// does not keep.
std::optional<double> summary_metric(Metric metric, const PointSummary& p) {
  switch (metric) {
    case Metric::availability:
      return p.availability_pct;
    case Metric::latency_p99:
      return p.p99_ms;
    case Metric::cost_usd:
      return p.cost_usd;
    case Metric::cost_ratio:
      return p.cost_ratio_pct;
    case Metric::dropped:
      return static_cast<double>(p.dropped);
    case Metric::breaker_trips:
      return static_cast<double>(p.trips);
    default:
      return std::nullopt;
  }
}

// How far `figure` is from meeting `e`, to tell the better of two values apart: lower is
// better. A count of seeds passed is better higher.
double shortfall(const Expectation& e, bool by_metric, double figure) {
  if (!by_metric) return -figure;
  switch (e.bound) {
    case Bound::at_least:
      return -figure;
    case Bound::at_most:
      return figure;
    case Bound::between:
      return std::max({e.lo - figure, figure - e.hi, 0.0});
    case Bound::none_:
      return -figure;
  }
  return figure;
}

// The spread of `figure` over the points `group` (indices into points, >= 2 of them,
// differing in key k alone), and the key's values at its worse and better end.
KeyEffect spread_of(const std::vector<std::size_t>& group, const std::vector<double>& figure,
                    const std::vector<double>& badness, const Definition& d, const std::vector<PointSummary>& points,
                    std::size_t k) {
  std::size_t worst = group.front(), best = group.front();
  double lo = figure[group.front()], hi = lo;
  for (const std::size_t i : group) {
    lo = std::min(lo, figure[i]);
    hi = std::max(hi, figure[i]);
    if (badness[i] > badness[worst]) worst = i;
    if (badness[i] < badness[best]) best = i;
  }
  KeyEffect effect;
  effect.axis = k;
  effect.spread = hi == lo ? 0.0 : hi - lo;  // inf - inf would be NaN
  effect.worse_value = d.points[points[worst].point][k];
  effect.better_value = d.points[points[best].point][k];
  effect.worse = figure[worst];
  effect.better = figure[best];
  return effect;
}

}  // namespace

Diagnosis diagnose(const Definition& d, const std::vector<PointSummary>& points,
                   const std::vector<const Expectation*>& expectations) {
  Diagnosis out;
  std::vector<std::size_t> failed(expectations.size(), 0);
  for (const PointSummary& p : points) {
    out.runs += p.seeds;
    for (std::size_t e = 0; e < failed.size() && e < p.check_passes.size(); ++e)
      failed[e] += p.seeds - p.check_passes[e];
  }
  const auto most = std::max_element(failed.begin(), failed.end());  // the first on a tie
  if (most == failed.end() || *most == 0) {
    out.none_failed = true;
    return out;
  }
  out.expectation = static_cast<std::size_t>(most - failed.begin());
  out.failed_runs = *most;
  const Expectation& e = *expectations[out.expectation];
  out.by_metric = summary_metric(e.metric, PointSummary{}).has_value();
  std::vector<double> figure, badness;
  for (const PointSummary& p : points) {
    figure.push_back(out.by_metric ? *summary_metric(e.metric, p)
                                   : static_cast<double>(p.check_passes[out.expectation]));
    badness.push_back(shortfall(e, out.by_metric, figure.back()));
  }
  for (std::size_t k = 0; k < d.axes.size(); ++k) {
    // The points grouped by their values of every other key (key k's value masked).
    std::map<Point, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < points.size(); ++i) {
      Point others = d.points[points[i].point];
      others[k] = 0;
      groups[others].push_back(i);
    }
    KeyEffect widest;
    widest.axis = k;
    for (const auto& [others, group] : groups) {
      if (group.size() < 2) continue;
      const KeyEffect one = spread_of(group, figure, badness, d, points, k);
      if (widest.groups == 0 || one.spread > widest.spread) {
        const std::size_t counted = widest.groups;
        widest = one;
        widest.groups = counted;
      }
      ++widest.groups;
    }
    out.keys.push_back(widest);
  }
  std::stable_sort(out.keys.begin(), out.keys.end(),
                   [](const KeyEffect& a, const KeyEffect& b) { return a.spread > b.spread; });
  return out;
}

std::vector<bool> pareto_frontier(const std::vector<PointSummary>& points) {
  // In the order of availability (down), p99 (up), cost (up), whatever dominates a point
  // comes before it; and whatever dominates it is itself dominated by, or is, a point
  // already on the frontier. So each point needs comparing with the frontier only.
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
    const PointSummary& a = points[i];
    const PointSummary& b = points[j];
    if (a.availability_pct != b.availability_pct) return a.availability_pct > b.availability_pct;
    if (a.p99_ms != b.p99_ms) return a.p99_ms < b.p99_ms;
    if (a.cost_usd != b.cost_usd) return a.cost_usd < b.cost_usd;
    return i < j;
  });
  const auto dominates = [](const PointSummary& a, const PointSummary& b) {
    const bool no_worse = a.availability_pct >= b.availability_pct && a.p99_ms <= b.p99_ms && a.cost_usd <= b.cost_usd;
    const bool better = a.availability_pct > b.availability_pct || a.p99_ms < b.p99_ms || a.cost_usd < b.cost_usd;
    return no_worse && better;
  };
  std::vector<bool> on(points.size(), false);
  std::vector<std::size_t> frontier;
  for (const std::size_t i : order) {
    const bool dominated =
        std::any_of(frontier.begin(), frontier.end(), [&](std::size_t f) { return dominates(points[f], points[i]); });
    if (dominated) continue;
    on[i] = true;
    frontier.push_back(i);
  }
  return on;
}

bool some_point_passes_everywhere(const Shard& merged) {
  for (std::uint32_t s = 0; s < merged.definition.scenarios.size(); ++s) {
    const std::vector<PointSummary> points = summarize(merged, s);
    const bool any = std::any_of(points.begin(), points.end(),
                                 [](const PointSummary& p) { return p.seeds > 0 && p.passed == p.seeds; });
    if (!any) return false;
  }
  return true;
}

}  // namespace failover::sim::sweep
