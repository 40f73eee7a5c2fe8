#include "core/protocol/retry_after.h"

#include <array>
#include <cstddef>
#include <limits>

#include "core/engine/assert.h"

namespace failover::protocol {
namespace {

using i64 = std::int64_t;
constexpr i64 kI64Max = std::numeric_limits<i64>::max();

// No back-pressure header is this long; a longer value is garbage, and the bound keeps
// every loop below short whatever a server sends.
constexpr std::size_t kValueLengthMax = 128;
constexpr i64 kSecondsPerDay = 86'400;
constexpr i64 kMsPerDay = kSecondsPerDay * 1'000;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kDayNamesLong = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                           "Friday", "Saturday", "Sunday"};

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr i64 digit_value(char c) {
  return static_cast<i64>(c - '0');
}
constexpr char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

// Strips optional whitespace (RFC 9110 OWS: spaces and tabs) from both ends.
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// acc = acc * factor + add for non-negative operands; false (acc unchanged) on overflow.
bool mul_add(i64& acc, i64 factor, i64 add) {
  FAILOVER_ASSERT(acc >= 0);
  FAILOVER_ASSERT(factor > 0);
  FAILOVER_ASSERT(add >= 0);
  if (acc > (kI64Max - add) / factor) return false;
  acc = acc * factor + add;
  return true;
}

// floor(0.<digits> * unit), exactly: long division from the last digit to the first,
// so no intermediate exceeds 10 * unit however many digits there are.
i64 fraction_of(std::string_view digits, i64 unit) {
  FAILOVER_ASSERT(unit > 0);
  FAILOVER_ASSERT(unit <= kI64Max / 10);
  i64 acc = 0;
  for (std::size_t i = digits.size(); i > 0; --i) {
    acc = (digit_value(digits[i - 1]) * unit + acc) / 10;
  }
  return acc;
}

// A forward-only reader over one header value; every read checks the bounds.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  [[nodiscard]] bool at_end() const { return pos_ == s_.size(); }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : s_[pos_]; }
  [[nodiscard]] std::string_view rest() const { return s_.substr(pos_); }

  bool eat(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) {
    if (!rest().starts_with(w)) return false;
    pos_ += w.size();
    return true;
  }
  // Exactly n digits as a number.
  std::optional<i64> digits(std::size_t n) {
    if (s_.size() - pos_ < n) return std::nullopt;
    i64 v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_digit(s_[pos_ + i])) return std::nullopt;
      v = v * 10 + digit_value(s_[pos_ + i]);
    }
    pos_ += n;
    return v;
  }
  // The longest run of digits here (possibly empty).
  std::string_view digit_run() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // 1-based index of the first name found here, or nullopt.
  template <std::size_t N>
  std::optional<i64> one_of(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i) {
      if (eat_word(names[i])) return static_cast<i64>(i) + 1;
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// "hh:mm:ss" as seconds of the day; 60 seconds admits a leap second.
std::optional<i64> time_of_day(Cursor& c) {
  const auto h = c.digits(2);
  if (!h || !c.eat(':')) return std::nullopt;
  const auto m = c.digits(2);
  if (!m || !c.eat(':')) return std::nullopt;
  const auto s = c.digits(2);
  if (!s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
  return *h * 3'600 + *m * 60 + *s;
}

// Unix seconds of a calendar date plus seconds of the day; nullopt for a day that
// month does not have (31 April, 29 February of a common year).
std::optional<i64> unix_seconds(i64 year, i64 month, i64 day, i64 second_of_day) {
  FAILOVER_ASSERT(month >= 1 && month <= 12);
  FAILOVER_ASSERT(year >= 0 && year <= 9'999);
  if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
  return days_from_civil(year, month, day) * kSecondsPerDay + second_of_day;
}

constexpr i64 floor_div(i64 a, i64 b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<i64> parse_imf_fixdate(std::string_view s) {
  Cursor c(s);
  if (!c.one_of(kDayNames) || !c.eat(',') || !c.eat(' ')) return std::nullopt;
  const auto day = c.digits(2);
  if (!day || !c.eat(' ')) return std::nullopt;
  const auto month = c.one_of(kMonths);
  if (!month || !c.eat(' ')) return std::nullopt;
  const auto year = c.digits(4);
  if (!year || !c.eat(' ')) return std::nullopt;
  const auto tod = time_of_day(c);
  if (!tod || !c.eat(' ') || !c.eat_word("GMT") || !c.at_end()) return std::nullopt;
  return unix_seconds(*year, *month, *day, *tod);
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". The two-digit year is resolved as RFC 9110
// §5.6.7 requires: more than 50 years after the present year means the previous century.
std::optional<i64> parse_rfc850_date(std::string_view s, i64 wall_now_unix_ms) {
  Cursor c(s);
  if (!c.one_of(kDayNamesLong) || !c.eat(',') || !c.eat(' ')) return std::nullopt;
  const auto day = c.digits(2);
  if (!day || !c.eat('-')) return std::nullopt;
  const auto month = c.one_of(kMonths);
  if (!month || !c.eat('-')) return std::nullopt;
  const auto yy = c.digits(2);
  if (!yy || !c.eat(' ')) return std::nullopt;
  const auto tod = time_of_day(c);
  if (!tod || !c.eat(' ') || !c.eat_word("GMT") || !c.at_end()) return std::nullopt;
  const i64 now_year = civil_from_days(floor_div(wall_now_unix_ms, kMsPerDay)).year;
  if (now_year < 100 || now_year > 9'899) return std::nullopt;  // no such wall clock
  i64 year = now_year / 100 * 100 + *yy;
  if (year > now_year + 50) year -= 100;
  return unix_seconds(year, *month, *day, *tod);
}

// asctime: "Sun Nov  6 08:49:37 1994" (a one-digit day is padded with a space).
std::optional<i64> parse_asctime_date(std::string_view s) {
  Cursor c(s);
  if (!c.one_of(kDayNames) || !c.eat(' ')) return std::nullopt;
  const auto month = c.one_of(kMonths);
  if (!month || !c.eat(' ')) return std::nullopt;
  const auto day = c.eat(' ') ? c.digits(1) : c.digits(2);
  if (!day || !c.eat(' ')) return std::nullopt;
  const auto tod = time_of_day(c);
  if (!tod || !c.eat(' ')) return std::nullopt;
  const auto year = c.digits(4);
  if (!year || !c.at_end()) return std::nullopt;
  return unix_seconds(*year, *month, *day, *tod);
}

// "Z", or "+hh:mm" / "-hh:mm", as seconds east of UTC.
std::optional<i64> utc_offset(Cursor& c) {
  if (c.eat('Z') || c.eat('z')) return 0;
  const bool east = c.eat('+');
  if (!east && !c.eat('-')) return std::nullopt;
  const auto h = c.digits(2);
  if (!h || !c.eat(':')) return std::nullopt;
  const auto m = c.digits(2);
  if (!m || *h > 23 || *m > 59) return std::nullopt;
  const i64 seconds = *h * 3'600 + *m * 60;
  return east ? seconds : -seconds;
}

enum class HeaderKind : std::uint8_t {
  retry_after,
  retry_after_ms,
  openai_reset,
  anthropic_reset,
  other,
};

HeaderKind header_kind(std::string_view name) {
  if (iequals(name, "retry-after")) return HeaderKind::retry_after;
  if (iequals(name, "retry-after-ms")) return HeaderKind::retry_after_ms;
  if (iequals(name, "x-ratelimit-reset-requests") || iequals(name, "x-ratelimit-reset-tokens")) {
    return HeaderKind::openai_reset;
  }
  if (iequals(name, "anthropic-ratelimit-requests-reset") || iequals(name, "anthropic-ratelimit-tokens-reset") ||
      iequals(name, "anthropic-ratelimit-input-tokens-reset") ||
      iequals(name, "anthropic-ratelimit-output-tokens-reset")) {
    return HeaderKind::anthropic_reset;
  }
  return HeaderKind::other;
}

// From now until an absolute unix time in ms; zero when that time has passed.
// Both are bounded (now >= 0, at <= year 9999), so the result fits.
Duration until(i64 at_unix_ms, i64 wall_now_unix_ms) {
  FAILOVER_ASSERT(wall_now_unix_ms >= 0);
  if (at_unix_ms <= wall_now_unix_ms) return Duration{0};
  return ms(at_unix_ms - wall_now_unix_ms);
}

std::optional<Duration> header_delay(HeaderKind kind, std::string_view value, i64 wall_now_unix_ms) {
  switch (kind) {
    case HeaderKind::retry_after: {
      if (auto delta = parse_delta_seconds(value)) return delta;
      const auto at_s = parse_http_date(value, wall_now_unix_ms);
      if (!at_s) return std::nullopt;
      return until(*at_s * 1'000, wall_now_unix_ms);
    }
    case HeaderKind::retry_after_ms:
      return parse_milliseconds(value);
    case HeaderKind::openai_reset: {
      const auto d = parse_go_duration(value);
      if (!d) return std::nullopt;
      return *d < Duration{0} ? Duration{0} : *d;
    }
    case HeaderKind::anthropic_reset: {
      const auto at_ms = parse_rfc3339(value);
      if (!at_ms) return std::nullopt;
      return until(*at_ms, wall_now_unix_ms);
    }
    case HeaderKind::other:
      return std::nullopt;
  }
  return std::nullopt;
}

// One "<number><unit>" element of a Go duration, in nanoseconds, consumed from c.
std::optional<i64> go_duration_element(Cursor& c) {
  const std::string_view whole = c.digit_run();
  std::string_view frac;
  const bool has_point = c.eat('.');
  if (has_point) frac = c.digit_run();
  if (whole.empty() && frac.empty()) return std::nullopt;  // "." or a unit alone
  i64 unit = 0;
  if (c.eat_word("ns"))
    unit = 1;
  else if (c.eat_word("us") || c.eat_word("\u00b5s") || c.eat_word("\u03bcs"))
    unit = 1'000;
  else if (c.eat_word("ms"))
    unit = 1'000'000;
  else if (c.eat_word("s"))
    unit = 1'000'000'000;
  else if (c.eat_word("m"))
    unit = 60'000'000'000;
  else if (c.eat_word("h"))
    unit = 3'600'000'000'000;
  else
    return std::nullopt;
  i64 v = 0;
  for (const char ch : whole) {
    if (!mul_add(v, 10, digit_value(ch))) return std::nullopt;
  }
  if (!mul_add(v, unit, 0)) return std::nullopt;
  const i64 f = fraction_of(frac, unit);
  if (v > kI64Max - f) return std::nullopt;
  return v + f;
}

}  // namespace

std::optional<Duration> parse_delta_seconds(std::string_view text) noexcept {
  const std::string_view s = trim(text);
  if (s.empty() || s.size() > kValueLengthMax) return std::nullopt;
  i64 seconds = 0;
  for (const char ch : s) {
    if (!is_digit(ch) || !mul_add(seconds, 10, digit_value(ch))) return std::nullopt;
  }
  if (seconds > kI64Max / 1'000'000) return std::nullopt;
  return sec(seconds);
}

std::optional<Duration> parse_milliseconds(std::string_view text) noexcept {
  const std::string_view s = trim(text);
  if (s.size() > kValueLengthMax) return std::nullopt;
  Cursor c(s);
  const std::string_view whole = c.digit_run();
  std::string_view frac;
  if (c.eat('.')) {
    frac = c.digit_run();
    if (frac.empty()) return std::nullopt;
  }
  if (whole.empty() || !c.at_end()) return std::nullopt;
  i64 micros = 0;
  for (const char ch : whole) {
    if (!mul_add(micros, 10, digit_value(ch))) return std::nullopt;
  }
  if (!mul_add(micros, 1'000, fraction_of(frac, 1'000))) return std::nullopt;
  return us(micros);
}

std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t wall_now_unix_ms) noexcept {
  const std::string_view s = trim(text);
  if (s.size() > kValueLengthMax) return std::nullopt;
  if (auto t = parse_imf_fixdate(s)) return t;
  if (auto t = parse_rfc850_date(s, wall_now_unix_ms)) return t;
  return parse_asctime_date(s);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) noexcept {
  const std::string_view s = trim(text);
  if (s.size() > kValueLengthMax) return std::nullopt;
  Cursor c(s);
  const auto year = c.digits(4);
  if (!year || !c.eat('-')) return std::nullopt;
  const auto month = c.digits(2);
  if (!month || *month < 1 || *month > 12 || !c.eat('-')) return std::nullopt;
  const auto day = c.digits(2);
  if (!day || !(c.eat('T') || c.eat('t') || c.eat(' '))) return std::nullopt;
  const auto tod = time_of_day(c);
  if (!tod) return std::nullopt;
  std::string_view frac;
  if (c.eat('.')) {
    frac = c.digit_run();
    if (frac.empty()) return std::nullopt;
  }
  const auto offset = utc_offset(c);
  if (!offset || !c.at_end()) return std::nullopt;
  const auto local = unix_seconds(*year, *month, *day, *tod);
  if (!local) return std::nullopt;
  return (*local - *offset) * 1'000 + fraction_of(frac, 1'000);
}

std::optional<Duration> parse_go_duration(std::string_view text) noexcept {
  const std::string_view s = trim(text);
  if (s.empty() || s.size() > kValueLengthMax) return std::nullopt;
  Cursor c(s);
  const bool negative = c.eat('-');
  if (!negative) c.eat('+');
  if (c.rest() == "0") return Duration{0};  // Go's one unitless value
  if (c.at_end()) return std::nullopt;
  i64 total_ns = 0;
  // Each element consumes at least two characters, so the loop ends within the bound.
  for (std::size_t i = 0; i < kValueLengthMax && !c.at_end(); ++i) {
    const auto ns = go_duration_element(c);
    if (!ns || total_ns > kI64Max - *ns) return std::nullopt;
    total_ns += *ns;
  }
  if (!c.at_end()) return std::nullopt;
  const Duration d = us(total_ns / 1'000);
  return negative ? -d : d;
}

std::optional<Duration> retry_after_from_headers(std::span<const Header> headers,
                                                 std::int64_t wall_now_unix_ms) noexcept {
  FAILOVER_ASSERT(wall_now_unix_ms >= 0);
  std::optional<Duration> largest;
  for (const Header& h : headers) {
    const HeaderKind kind = header_kind(h.name);
    if (kind == HeaderKind::other) continue;
    const auto delay = header_delay(kind, h.value, wall_now_unix_ms);
    if (!delay) continue;
    FAILOVER_ASSERT(*delay >= Duration{0});
    if (!largest || *delay > *largest) largest = delay;
  }
  return largest;
}

}  // namespace failover::protocol
