// Back-pressure parsing: turns the headers a provider sends with a 429 or 503
// (Retry-After, retry-after-ms, OpenAI's x-ratelimit-reset-*, Anthropic's
// anthropic-ratelimit-*-reset) into one delay from the time of the response. It
// decides only how long the provider asked us to wait; whether to wait, fail over or
// give up is the retry policy's call (RetryPolicy::retry_after_max), and the engine
// sees only the delay (Outcome::retry_after). Pure functions: the wall-clock time is a
// parameter, and no <ctime> call reads the TZ environment.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/engine/time.h"
#include "core/protocol/codec.h"

namespace failover::protocol {

// The largest delay among every back-pressure header present (names compared
// case-insensitively, whatever case the driver kept): Retry-After as delta-seconds or HTTP-date, retry-after-ms,
// x-ratelimit-reset-requests / -tokens (Go durations), and
// anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset (RFC 3339).
// Absolute times are taken relative to wall_now_unix_ms; one in the past gives 0.
// A header whose value does not parse, or overflows, contributes nothing. nullopt
// when no header contributed. Precondition: wall_now_unix_ms >= 0.
std::optional<Duration> retry_after_from_headers(std::span<const Header> headers,
                                                 std::int64_t wall_now_unix_ms) noexcept;

// RFC 9110 delay-seconds: one or more digits, surrounding spaces allowed ("120").
std::optional<Duration> parse_delta_seconds(std::string_view text) noexcept;

// retry-after-ms: non-negative milliseconds, possibly fractional ("1500.5");
// digits beyond the microsecond are dropped.
std::optional<Duration> parse_milliseconds(std::string_view text) noexcept;

// RFC 9110 §5.6.7 HTTP-date in any of its three forms, as unix seconds:
// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
// and asctime "Sun Nov  6 08:49:37 1994". The RFC 850 form has a two-digit year, which
// the RFC resolves against the present: a year more than 50 years after the year of
// wall_now_unix_ms is taken from the previous century. The day name is checked to be
// a day name but not checked against the date, so a server's wrong weekday does not
// discard its back-pressure.
std::optional<std::int64_t> parse_http_date(std::string_view text, std::int64_t wall_now_unix_ms) noexcept;

// RFC 3339 date-time as unix milliseconds: "2026-05-08T11:25:00Z", with optional
// fractional seconds (digits beyond the millisecond are dropped) and a "Z" or
// "+hh:mm" / "-hh:mm" offset; 't', 'z' and a space separator are accepted too.
std::optional<std::int64_t> parse_rfc3339(std::string_view text) noexcept;

// A Go time.Duration string ("1s", "6m0s", "20ms", "1h2m3.5s", "1.5us"): a sequence
// of decimal numbers, each with a unit among ns, us, µs, ms, s, m, h, and an optional
// leading sign. Exact to the nanosecond as Go is, then truncated to the microsecond.
// Like Go, the total must fit an int64 of nanoseconds (about 292 years).
std::optional<Duration> parse_go_duration(std::string_view text) noexcept;

// ---- proleptic Gregorian calendar, integer arithmetic only ----------------------
// Howard Hinnant's algorithms (http://howardhinnant.github.io/date_algorithms.html):
// exact for every year an int64 day count can hold, with no table and no time zone.

struct CivilDate {
  std::int64_t year = 1970;
  std::int64_t month = 1;  // 1..12
  std::int64_t day = 1;    // 1..31
  friend constexpr bool operator==(const CivilDate&, const CivilDate&) = default;
};

constexpr bool is_leap_year(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// Precondition: 1 <= m <= 12.
constexpr std::int64_t days_in_month(std::int64_t y, std::int64_t m) noexcept {
  constexpr std::int64_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && is_leap_year(y)) return 29;
  return kDays[m - 1];
}

// Days since 1970-01-01 of y-m-d. Precondition: 1 <= m <= 12, 1 <= d <= 31.
constexpr std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;                                    // [0, 399]
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146'097 + doe - 719'468;
}

// The date of a day count since 1970-01-01; the inverse of days_from_civil.
constexpr CivilDate civil_from_days(std::int64_t z) noexcept {
  z += 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const std::int64_t doe = z - era * 146'097;                                         // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                   // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                                        // [0, 11]
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;                                // [1, 31]
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;                                   // [1, 12]
  return CivilDate{yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11'017);
static_assert(civil_from_days(-1) == CivilDate{1969, 12, 31});

}  // namespace failover::protocol
