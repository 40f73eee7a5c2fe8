// The TOML reader (toml_reader.h): each getter checks one value's type, spelling and
// range against the node toml++ parsed, so that every error carries the node's own
// line and column.
#include "core/config/toml_reader.h"

#include <cmath>
#include <string_view>
#include <utility>

#include "core/engine/assert.h"

namespace failover::config {
namespace {

// Keys renamed so that every bound reads `_max` (issue 14): a file written for the old
// name is refused with the new one, rather than told only that the key is unknown.
constexpr std::pair<std::string_view, std::string_view> kRenamedKeys[] = {
    {"rpm_limit", "rpm_max"},
    {"tpm_limit", "tpm_max"},
    {"budget_cap", "budget_max"},
};

// A decimal as written: {999, 1} is "99.9".
std::string decimal_text(const Decimal& d) {
  std::string digits = std::to_string(d.num < 0 ? -d.num : d.num);
  if (d.places > 0) {
    if (digits.size() <= static_cast<std::size_t>(d.places)) {
      digits.insert(0, static_cast<std::size_t>(d.places) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<std::size_t>(d.places), ".");
  }
  return (d.num < 0 ? "-" : "") + digits;
}

}  // namespace

const Error& Reader::error() const {
  FAILOVER_ASSERT(failed());
  return *error_;
}

// A node parsed from another file than source_ -- a scenario's providers and policy taken
// from a live config (docs/scenarios.md) -- names that file; a node set in memory (a
// --set override) has no position and names source_.
std::string Reader::place(const toml::source_region& at) const {
  const bool other_file = at.path != nullptr && !at.path->empty() && at.begin.line != 0;
  return where(other_file ? std::string_view(*at.path) : std::string_view(source_), at);
}

bool Reader::fail(const toml::source_region& at, const std::string& path, const std::string& problem) {
  FAILOVER_ASSERT(!problem.empty());
  if (failed()) return false;
  error_ = Error{place(at), path.empty() ? problem : path + ": " + problem};
  return false;
}

void Reader::set(Error e) {
  FAILOVER_ASSERT(!e.what.empty());
  if (!failed()) error_ = std::move(e);
}

void Reader::explain_unknown_key(std::string_view key, std::string_view note) {
  FAILOVER_ASSERT(!key.empty());
  FAILOVER_ASSERT(!note.empty());
  unknown_key_notes_.emplace_back(key, note);
}

Error Reader::locate(const Error& e) const {
  std::string path = e.where;
  for (std::size_t step = 0; step < 64 && !path.empty(); ++step) {
    const auto found = positions_.find(path);
    if (found != positions_.end()) return Error{place(found->second), e.where + ": " + e.what};
    const std::size_t cut = path.find_last_of(".[");
    path.resize(cut == std::string::npos ? 0 : cut);
  }
  return Error{source_, e.where + ": " + e.what};
}

bool Reader::only_keys(const toml::table& t, const std::string& path, std::initializer_list<std::string_view> known,
                       const std::vector<std::string>& also_allowed) {
  for (const auto& [k, v] : t) {
    if (failed()) return false;
    const std::string_view name = k.str();
    bool ok = false;
    for (const std::string_view want : known) ok = ok || want == name;
    for (const std::string& want : also_allowed) ok = ok || want == name;
    if (ok) continue;
    std::string note;
    for (const auto& [before, after] : kRenamedKeys) {
      bool known_after = false;
      for (const std::string_view want : known) known_after = known_after || want == after;
      if (before == name && known_after) note = " (renamed " + std::string(after) + ")";
    }
    for (const auto& [key, text] : unknown_key_notes_) {
      if (key == name) note = " (" + text + ")";
    }
    std::string list;
    for (const std::string_view want : known) list += (list.empty() ? "" : ", ") + std::string(want);
    return fail(k.source(), join(path, name),
                "unknown key" + note + "; " + (path.empty() ? std::string("the top level") : path) + " takes: " + list);
  }
  return !failed();
}

bool Reader::require(const toml::table& t, std::string_view key, const std::string& path) {
  if (failed()) return false;
  if (t.contains(key)) return true;
  return fail(t, join(path, key), "is required but missing");
}

const toml::node* Reader::field(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = get(t, key);
  if (n != nullptr) positions_.insert_or_assign(join(path, key), n->source());
  return n;
}

bool Reader::expected(const toml::node& n, const std::string& path, std::string_view what) {
  return fail(n, path, "expected " + std::string(what) + " but got " + std::string(type_name(n)));
}

// ---- tables ------------------------------------------------------------------------

const toml::table* Reader::table(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) return expected(*n, join(path, key), "a table"), nullptr;
  return n->as_table();
}

const toml::array* Reader::array(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? nullptr : array_of(*n, join(path, key));
}

const toml::array* Reader::tables(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  if (n == nullptr) return nullptr;
  const std::string full = join(path, key);
  if (!n->is_array()) return expected(*n, full, "an array of tables ([[" + full + "]])"), nullptr;
  return n->as_array();
}

const toml::table* Reader::table_at(const toml::array& a, std::size_t i, const std::string& path) {
  FAILOVER_ASSERT(i < a.size());
  if (failed()) return nullptr;
  const std::string full = element(path, i);
  const toml::node& n = *a.get(i);
  positions_.insert_or_assign(full, n.source());
  if (!n.is_table()) return expected(n, full, "a table"), nullptr;
  return n.as_table();
}

// ---- values by key -----------------------------------------------------------------

std::optional<std::string> Reader::text(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : text_of(*n, join(path, key));
}

std::optional<bool> Reader::boolean(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : boolean_of(*n, join(path, key));
}

std::optional<std::int64_t> Reader::integer(const toml::table& t, std::string_view key, const std::string& path,
                                            std::int64_t lo, std::int64_t hi) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : integer_of(*n, join(path, key), lo, hi);
}

std::optional<double> Reader::number(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : number_of(*n, join(path, key));
}

std::optional<Duration> Reader::duration(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : duration_of(*n, join(path, key));
}

std::optional<Ratio> Reader::ratio(const toml::table& t, std::string_view key, const std::string& path,
                                   RatioRule rule) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : ratio_of(*n, join(path, key), rule);
}

std::optional<std::int64_t> Reader::scaled(const toml::table& t, std::string_view key, const std::string& path,
                                           int places) {
  const toml::node* n = field(t, key, path);
  return n == nullptr ? std::nullopt : scaled_of(*n, join(path, key), places);
}

// ---- values of a node --------------------------------------------------------------

const toml::array* Reader::array_of(const toml::node& n, const std::string& path) {
  if (failed()) return nullptr;
  if (!n.is_array()) return expected(n, path, "an array"), nullptr;
  return n.as_array();
}

std::optional<std::string> Reader::text_of(const toml::node& n, const std::string& path) {
  if (failed()) return std::nullopt;
  if (const auto* s = n.as_string()) return s->get();
  expected(n, path, "a string");
  return std::nullopt;
}

std::optional<bool> Reader::boolean_of(const toml::node& n, const std::string& path) {
  if (failed()) return std::nullopt;
  if (const auto* b = n.as_boolean()) return b->get();
  expected(n, path, "true or false");
  return std::nullopt;
}

std::optional<std::int64_t> Reader::integer_of(const toml::node& n, const std::string& path, std::int64_t lo,
                                               std::int64_t hi) {
  FAILOVER_ASSERT(lo <= hi);
  if (failed()) return std::nullopt;
  const auto* v = n.as_integer();
  if (v == nullptr) return expected(n, path, "an integer"), std::nullopt;
  if (v->get() < lo || v->get() > hi) {
    fail(
        n, path,
        "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " but is " + std::to_string(v->get()));
    return std::nullopt;
  }
  return v->get();
}

std::optional<double> Reader::number_of(const toml::node& n, const std::string& path) {
  if (failed()) return std::nullopt;
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  const auto* f = n.as_floating_point();
  if (f == nullptr) return expected(n, path, "a number"), std::nullopt;
  if (!std::isfinite(f->get())) return fail(n, path, "must be a finite number"), std::nullopt;
  return f->get();
}

std::optional<Duration> Reader::duration_of(const toml::node& n, const std::string& path) {
  if (failed()) return std::nullopt;
  const auto* s = n.as_string();
  if (s == nullptr) return expected(n, path, "a duration string such as \"30s\" or \"1h30m\""), std::nullopt;
  const Result<Duration> d = parse_duration(s->get());
  if (!d) return fail(n, path, "\"" + s->get() + "\" " + d.error().what), std::nullopt;
  return *d;
}

std::optional<Ratio> Reader::ratio_of(const toml::node& n, const std::string& path, RatioRule rule) {
  if (failed()) return std::nullopt;
  const auto out_of_range = [&](bool below_zero, bool above_one) {
    if (!(rule.non_negative && below_zero) && !(rule.at_most_one && above_one)) return false;
    return fail(n, path, rule.at_most_one ? "must be between 0% and 100%" : "must not be negative"), true;
  };
  // One rule for every ratio (issue 17): a percentage string, or a bare number that is
  // a share in [0, 1]. A bare 110 could mean 110% or 11,000%: it is refused, not guessed.
  const auto bare_above_one = [&](const Decimal& d) {
    const Decimal hundredfold =
        d.places >= 2 ? Decimal{d.num, d.places - 2, false} : Decimal{d.num * (d.places == 1 ? 10 : 100), 0, false};
    const std::string spelled = "\"" + decimal_text(d) + "%\" or \"" + decimal_text(hundredfold) + "%\"";
    return fail(n, path,
                "is above 1: a bare number is a share in [0, 1] (0.5 is 50%); write a percentage as a string, " +
                    spelled),
           std::nullopt;
  };
  Ratio r;
  if (const auto* s = n.as_string()) {
    const Result<Ratio> p = parse_percent(s->get());
    if (!p) return fail(n, path, "\"" + s->get() + "\" " + p.error().what), std::nullopt;
    r = *p;
  } else if (const auto* i = n.as_integer()) {
    if (i->get() >= std::int64_t{1'000'000'000}) return fail(n, path, "is out of range (at most 1e9)"), std::nullopt;
    if (i->get() > 1) return bare_above_one(Decimal{i->get(), 0, false});
    r = Ratio{i->get(), 1};
  } else if (const auto* f = n.as_floating_point()) {
    const double x = f->get();
    if (!std::isfinite(x)) return fail(n, path, "must be a finite number"), std::nullopt;
    const std::optional<Decimal> d = to_decimal(x);
    if (!d) return fail(n, path, "is out of range (at most 1e9)"), std::nullopt;
    if (x > 1.0) return bare_above_one(*d);
    if (out_of_range((x < 0.0), false)) return std::nullopt;
    if (d->rounded && rule.exact) return fail(n, path, "has more than 6 decimals"), std::nullopt;
    // A share too small for a millionth would silently read as 0 and turn its rule off.
    if (x != 0.0 && d->num == 0) return fail(n, path, "rounds to 0 at a millionth; write 0 to mean none"), std::nullopt;
    r = to_ratio(*d);
  } else {
    expected(n, path, "a percentage string such as \"94%\" or a number in [0, 1]");
    return std::nullopt;
  }
  if (out_of_range((r.num < 0), (r.num > r.den))) return std::nullopt;
  return r;
}

std::optional<std::int64_t> Reader::scaled_of(const toml::node& n, const std::string& path, int places) {
  if (failed()) return std::nullopt;
  std::optional<std::int64_t> value;
  if (const auto* i = n.as_integer()) {
    value = config::scaled(static_cast<double>(i->get()), places);
  } else if (const auto* f = n.as_floating_point()) {
    value = config::scaled(f->get(), places);
  } else {
    return expected(n, path, "a number"), std::nullopt;
  }
  if (!value) return fail(n, path, "is out of range (at most 1e9)"), std::nullopt;
  return value;
}

// ---- into a field ------------------------------------------------------------------

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, std::string& out) {
  if (std::optional<std::string> v = text(t, key, path)) out = std::move(*v);
}

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, bool& out) {
  if (const std::optional<bool> v = boolean(t, key, path)) out = *v;
}

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, std::int64_t& out) {
  if (const std::optional<std::int64_t> v = integer(t, key, path)) out = *v;
}

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, std::int32_t& out) {
  constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
  if (const std::optional<std::int64_t> v = integer(t, key, path, lo, hi)) out = static_cast<std::int32_t>(*v);
}

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, Duration& out) {
  if (const std::optional<Duration> v = duration(t, key, path)) out = *v;
}

void Reader::read(const toml::table& t, std::string_view key, const std::string& path, Ratio& out, RatioRule rule) {
  if (const std::optional<Ratio> v = ratio(t, key, path, rule)) out = *v;
}

void Reader::read_scaled(const toml::table& t, std::string_view key, const std::string& path, int places,
                         std::int64_t& out) {
  if (const std::optional<std::int64_t> v = scaled(t, key, path, places)) out = *v;
}

}  // namespace failover::config
