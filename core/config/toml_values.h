// How TOML spells the values both loaders read -- durations ("250ms", "1h30m", "0"),
// percentages ("94%"), decimal numbers scaled to integers (USD to micro-USD) -- and
// how their errors name a value: its toml++ type and its place as "file:line:col".
// Shared by the config loader (core/config/load.cpp) and the scenario loader
// (sim/scenario_load.cpp), so that both read the same grammar. Never throws.
// Header-only: the fuzz targets compile the loaders' sources one by one.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <toml++/toml.h>

#include "core/engine/assert.h"
#include "core/engine/ratio.h"
#include "core/engine/result.h"
#include "core/engine/time.h"

namespace failover::config {

// A place in the file; line 0: unknown (a table built in memory).
struct Position {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// A number as num / 10^places, read from its shortest round-trip decimal text (what
// the file most likely said): 0.94 is exactly 94/100, not the nearest binary fraction.
// More than kDecimalPlacesMax decimals are rounded half away from zero to
// kDecimalPlacesMax, and `rounded` says so. to_decimal is empty for NaN, infinities
// and |x| >= 1e9.
inline constexpr int kDecimalPlacesMax = 6;
struct Decimal {
  std::int64_t num = 0;
  int places = 0;
  bool rounded = false;
};

namespace detail {

inline constexpr std::int64_t kPow10[] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000};
static_assert(std::size(kPow10) == kDecimalPlacesMax + 1);

inline constexpr double kDecimalAbsMax = 1e9;

}  // namespace detail

// "a.b" from "a" and "b" ("b" alone at the top level).
inline std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

// "a.b[3]".
inline std::string element(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

inline Position position(const toml::source_region& region) {
  return {region.begin.line, region.begin.column};
}

// "file:line:col", or just "file" when the line is unknown.
inline std::string where(std::string_view source, Position at) {
  if (at.line == 0) return std::string(source);
  return std::string(source) + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

inline std::string where(std::string_view source, const toml::source_region& at) {
  return where(source, position(at));
}

// "a table", "an integer", ... for "expected X but got <type_name>".
inline std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

inline std::string_view type_name(const toml::node& n) {
  return type_name(n.type());
}

// "250ms", "30s", "5m", "2h", "1h30m", "0": integer amounts with units h, m, s, ms, us
// in decreasing size, each unit at most once; no sign, no fractions.
inline Result<Duration> parse_duration(std::string_view text) {
  struct Unit {
    std::string_view name;
    std::int64_t us;
  };
  constexpr std::array<Unit, 5> kUnits{
      {{"h", 3'600'000'000}, {"m", 60'000'000}, {"s", 1'000'000}, {"ms", 1'000}, {"us", 1}}};
  const std::string hint = "is not a duration like \"250ms\", \"30s\" or \"1h30m\"";
  if (text == "0") return Duration{0};
  if (text.empty()) return Error{{}, "is empty; " + hint.substr(3)};
  if (text[0] == '-') return Error{{}, "must not be negative"};
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must come in decreasing size
  std::size_t i = 0;
  for (std::size_t part = 0; i < text.size() && part < kUnits.size(); ++part) {
    std::int64_t amount = 0;
    const std::size_t digits_at = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      // The value decides, not the digit count: "0000000000000001s" is one second.
      const std::int64_t digit = text[i] - '0';
      if (amount > (std::numeric_limits<std::int64_t>::max() - digit) / 10) return Error{{}, "is too long a duration"};
      amount = amount * 10 + digit;
    }
    const std::size_t unit_at = i;
    for (; i < text.size() && text[i] >= 'a' && text[i] <= 'z'; ++i) {
    }
    const std::string_view unit = text.substr(unit_at, i - unit_at);
    if (digits_at == unit_at || unit.empty()) return Error{{}, hint};
    std::size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit) ++u;
    if (u == kUnits.size()) {
      return Error{{}, hint + " (units h, m, s, ms, us, largest first, each once)"};
    }
    if (amount > (std::numeric_limits<std::int64_t>::max() - total) / kUnits[u].us) {
      return Error{{}, "is too long a duration"};
    }
    total += amount * kUnits[u].us;
    next_unit = u + 1;
  }
  if (i != text.size()) return Error{{}, hint};
  return Duration{total};
}

// The inverse of parse_duration for a non-negative duration is the engine's
// duration_text (core/engine/time.h), named here for the loaders that spell it
// config::duration_text.
using failover::duration_text;

// "94%" is exactly 94/100 and "99.97%" exactly 9997/10000 (at most 4 decimals, at
// most 9 integer digits, no sign). No upper cap here.
inline Result<Ratio> parse_percent(std::string_view text) {
  const std::string hint = "is not a percentage like \"94%\" or \"99.5%\"";
  if (!text.empty() && text[0] == '-') return Error{{}, "must not be negative"};
  if (text.size() < 2 || text.back() != '%') return Error{{}, hint};
  text.remove_suffix(1);
  Ratio r{0, 100};
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (i >= 9) return Error{{}, "is too large a percentage"};
    r.num = r.num * 10 + (text[i] - '0');
  }
  if (i == 0) return Error{{}, hint};
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_at = ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (i - frac_at >= 4) return Error{{}, "has more than 4 decimals"};
      r.num = r.num * 10 + (text[i] - '0');
      r.den *= 10;
    }
    if (i == frac_at) return Error{{}, hint};
  }
  if (i != text.size()) return Error{{}, hint};
  return r;
}

// See Decimal.
inline std::optional<Decimal> to_decimal(double x) {
  if (!std::isfinite(x) || std::fabs(x) >= detail::kDecimalAbsMax) return std::nullopt;
  std::array<char, 512> buf{};  // fixed notation of the smallest double needs ~330 chars
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), x, std::chars_format::fixed);
  FAILOVER_ASSERT(ec == std::errc{});
  const std::string_view text(buf.data(), static_cast<std::size_t>(end - buf.data()));
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  std::int64_t whole = 0;
  for (; i < text.size() && text[i] != '.'; ++i) whole = whole * 10 + (text[i] - '0');
  const std::string_view frac = i < text.size() ? text.substr(i + 1) : std::string_view{};
  FAILOVER_ASSERT(whole < static_cast<std::int64_t>(detail::kDecimalAbsMax));
  Decimal d;
  d.places = static_cast<int>(std::min<std::size_t>(frac.size(), kDecimalPlacesMax));
  d.rounded = frac.size() > kDecimalPlacesMax;
  d.num = whole * detail::kPow10[d.places];
  for (int p = 0; p < d.places; ++p) {
    d.num += (frac[static_cast<std::size_t>(p)] - '0') * detail::kPow10[d.places - 1 - p];
  }
  if (d.rounded && frac[kDecimalPlacesMax] >= '5') d.num += 1;
  if (negative) d.num = -d.num;
  return d;
}

// num / 10^places as a Ratio.
inline Ratio to_ratio(const Decimal& d) {
  FAILOVER_ASSERT(d.places >= 0 && d.places <= kDecimalPlacesMax);
  return Ratio{d.num, detail::kPow10[d.places]};
}

// x * 10^places rounded half away from zero, from the decimal text of x (places in
// [0, kDecimalPlacesMax]): USD to micro-USD is scaled(usd, 6). Empty as to_decimal.
inline std::optional<std::int64_t> scaled(double x, int places) {
  FAILOVER_ASSERT(places >= 0 && places <= kDecimalPlacesMax);
  const std::optional<Decimal> d = to_decimal(x);
  if (!d) return std::nullopt;
  if (d->places <= places) return d->num * detail::kPow10[places - d->places];
  const std::int64_t div = detail::kPow10[d->places - places];
  const std::int64_t half = d->num >= 0 ? div / 2 : -(div / 2);
  return (d->num + half) / div;
}

}  // namespace failover::config
