// The one TOML reader: typed access to a parsed toml++ tree for every schema we read --
// the policy config (core/config/load.cpp), a scenario's own tables
// (sim/scenario_load.cpp) and sweep shard files (sim/sweep.cpp). It decides how a
// wrong value reads: Error::where is "file:line:col" of the offending key or value,
// Error::what is "key.path: problem", worded alike for an unknown key, a missing key, a
// wrong type and an out-of-range value, and only the first error is kept. Which keys a
// table takes and what a value means are left to each schema. It only reads the tree
// and throws nothing of its own; the loaders' entry points catch what allocation may.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "core/config/toml_values.h"
#include "core/engine/ratio.h"
#include "core/engine/result.h"
#include "core/engine/time.h"

namespace failover::config {

// The names a string value may take and what each stands for: {"fifo", Discipline::fifo}.
template <typename E, std::size_t N>
using Names = std::array<std::pair<std::string_view, E>, N>;

// "\"fifo\", \"adaptive_lifo\"".
template <typename E, std::size_t N>
std::string list_names(const Names<E, N>& names) {
  std::string out;
  for (const auto& [name, value] : names) out += (out.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  return out;
}

// What a ratio may be beyond its spelling ("94%", 0.94, 1). The config schema leaves
// the range to validate() and rounds a number to a millionth (docs/config.md); a
// scenario takes a share, an intensity or a bound exactly as written (docs/scenarios.md).
struct RatioRule {
  bool non_negative = true;  // below 0 is an error here
  bool at_most_one = true;   // above 1 (100%) is an error here
  bool exact = true;         // a number with more than 6 decimals is an error, not rounded
};

class Reader {
 public:
  // `source` names the file in every error.
  explicit Reader(std::string source) : source_(std::move(source)) {}

  // ---- errors --------------------------------------------------------------------

  [[nodiscard]] bool failed() const { return error_.has_value(); }
  [[nodiscard]] const Error& error() const;
  [[nodiscard]] const std::string& source() const { return source_; }

  // Keeps the first error only; returns false so that a caller may `return r.fail(...)`.
  bool fail(const toml::source_region& at, const std::string& path, const std::string& problem);
  bool fail(const toml::node& at, const std::string& path, const std::string& problem) {
    return fail(at.source(), path, problem);
  }
  // "expected <what> but got <the node's type>".
  bool expected(const toml::node& n, const std::string& path, std::string_view what);
  // Keeps `e` unless an error is kept already: an error from a nested load.
  void set(Error e);

  // Adds "(note)" to the error about an unknown key named `key`: the config schema
  // says where a `sim` table belongs.
  void explain_unknown_key(std::string_view key, std::string_view note);

  // An error a later check (validate()) made with a key path in Error::where, pointed at
  // the nearest key path this reader has read: "file:line:col" and "path: problem".
  [[nodiscard]] Error locate(const Error& e) const;

  // ---- tables --------------------------------------------------------------------

  // Fails on the first key of `t` that is neither in `known` nor in `also_allowed`,
  // listing `known`.
  bool only_keys(const toml::table& t, const std::string& path, std::initializer_list<std::string_view> known,
                 const std::vector<std::string>& also_allowed = {});
  // Fails at `t` when it lacks `key`.
  bool require(const toml::table& t, std::string_view key, const std::string& path);
  // The node at `key`, for a schema that reads it by hand; null when absent or failed.
  [[nodiscard]] const toml::node* get(const toml::table& t, std::string_view key) const {
    return failed() ? nullptr : t.get(key);
  }

  // Getters by key return null (or empty) when the key is absent, with no error, and
  // when its value is wrong, with the error kept. After an error they read nothing.
  const toml::table* table(const toml::table& t, std::string_view key, const std::string& path);
  const toml::array* array(const toml::table& t, std::string_view key, const std::string& path);
  // An array of tables ([[key]]); each element is read with table_at.
  const toml::array* tables(const toml::table& t, std::string_view key, const std::string& path);
  // Element `i` of `a` (which must exist) as a table; `path` names the array.
  const toml::table* table_at(const toml::array& a, std::size_t i, const std::string& path);

  // ---- values by key -------------------------------------------------------------

  std::optional<std::string> text(const toml::table& t, std::string_view key, const std::string& path);
  std::optional<bool> boolean(const toml::table& t, std::string_view key, const std::string& path);
  std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, const std::string& path,
                                      std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t hi = std::numeric_limits<std::int64_t>::max());
  std::optional<double> number(const toml::table& t, std::string_view key, const std::string& path);
  std::optional<Duration> duration(const toml::table& t, std::string_view key, const std::string& path);
  std::optional<Ratio> ratio(const toml::table& t, std::string_view key, const std::string& path, RatioRule rule);
  // A number times 10^places, rounded: USD to micro-USD is places = 6 (toml_values.h scaled()).
  std::optional<std::int64_t> scaled(const toml::table& t, std::string_view key, const std::string& path, int places);
  template <typename E, std::size_t N>
  std::optional<E> choice(const toml::table& t, std::string_view key, const std::string& path,
                          const Names<E, N>& names) {
    const toml::node* n = field(t, key, path);
    return n == nullptr ? std::nullopt : choice_of(*n, join(path, key), names);
  }

  // ---- values of a node (an array element, or a key read by hand); `path` names it --

  const toml::array* array_of(const toml::node& n, const std::string& path);
  std::optional<std::string> text_of(const toml::node& n, const std::string& path);
  std::optional<bool> boolean_of(const toml::node& n, const std::string& path);
  std::optional<std::int64_t> integer_of(const toml::node& n, const std::string& path,
                                         std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                                         std::int64_t hi = std::numeric_limits<std::int64_t>::max());
  // A finite integer or floating-point number.
  std::optional<double> number_of(const toml::node& n, const std::string& path);
  // A duration string (toml_values.h parse_duration).
  std::optional<Duration> duration_of(const toml::node& n, const std::string& path);
  // A percentage string (toml_values.h parse_percent) or a number, within `rule`.
  std::optional<Ratio> ratio_of(const toml::node& n, const std::string& path, RatioRule rule);
  std::optional<std::int64_t> scaled_of(const toml::node& n, const std::string& path, int places);
  template <typename E, std::size_t N>
  std::optional<E> choice_of(const toml::node& n, const std::string& path, const Names<E, N>& names) {
    const auto* s = n.as_string();
    if (s == nullptr) {
      expected(n, path, "one of " + list_names(names));
      return std::nullopt;
    }
    for (const auto& [name, value] : names) {
      if (name == s->get()) return value;
    }
    fail(n, path, "\"" + s->get() + "\" is not one of " + list_names(names));
    return std::nullopt;
  }

  // ---- into a field: set when the key is present and valid, left as is otherwise ---

  void read(const toml::table& t, std::string_view key, const std::string& path, std::string& out);
  void read(const toml::table& t, std::string_view key, const std::string& path, bool& out);
  void read(const toml::table& t, std::string_view key, const std::string& path, std::int64_t& out);
  void read(const toml::table& t, std::string_view key, const std::string& path, std::int32_t& out);
  void read(const toml::table& t, std::string_view key, const std::string& path, Duration& out);
  void read(const toml::table& t, std::string_view key, const std::string& path, Ratio& out, RatioRule rule);
  void read_scaled(const toml::table& t, std::string_view key, const std::string& path, int places, std::int64_t& out);
  template <typename E, std::size_t N>
  void read_choice(const toml::table& t, std::string_view key, const std::string& path, const Names<E, N>& names,
                   E& out) {
    if (const std::optional<E> v = choice(t, key, path, names)) out = *v;
  }

 private:
  // The node at `key`, its position remembered under "path.key" for locate(); null
  // when absent or after an error.
  const toml::node* field(const toml::table& t, std::string_view key, const std::string& path);

  std::string source_;
  std::optional<Error> error_;
  // "file:line:col" of a node: the file it was parsed from, source_ when it has none.
  [[nodiscard]] std::string place(const toml::source_region& at) const;

  std::map<std::string, toml::source_region> positions_;  // where each key path read sits, for locate()
  std::vector<std::pair<std::string, std::string>> unknown_key_notes_;
};

}  // namespace failover::config
