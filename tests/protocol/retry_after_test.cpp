#include "core/protocol/retry_after.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace failover::protocol {
namespace {

// 1994-11-06T08:49:00Z: 37 seconds before the RFC 9110 example date.
constexpr std::int64_t kNov1994Ms = 784'111'740'000;
constexpr std::int64_t kExampleDateS = 784'111'777;  // Sun, 06 Nov 1994 08:49:37 GMT
// 2026-05-08T11:24:00Z: one minute before the case study's reset time.
constexpr std::int64_t kMay2026Ms = 1'778'239'440'000;
constexpr std::int64_t kMay2026ResetMs = 1'778'239'500'000;  // 2026-05-08T11:25:00Z

std::optional<Duration> one(std::string_view name, std::string_view value, std::int64_t now_ms) {
  const std::array<Header, 1> headers{{{std::string(name), std::string(value)}}};
  return retry_after_from_headers(headers, now_ms);
}

TEST(RetryAfter, HonoursDeltaSecondsOf120) {
  EXPECT_EQ(one("Retry-After", "120", kNov1994Ms), sec(120));
}

TEST(RetryAfter, HonoursDeltaSecondsOfZero) {
  EXPECT_EQ(one("Retry-After", "0", kNov1994Ms), Duration{0});
}

TEST(RetryAfter, DeltaSecondsAllowsSurroundingSpacesButNothingElse) {
  EXPECT_EQ(parse_delta_seconds(" \t120 "), sec(120));
  EXPECT_EQ(parse_delta_seconds("+120"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("-1"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("1.5"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("12a"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds(""), std::nullopt);
}

TEST(RetryAfter, DeltaSecondsThatOverflowMicrosecondsAreRejected) {
  EXPECT_EQ(parse_delta_seconds("9223372036854"), sec(9'223'372'036'854));
  EXPECT_EQ(parse_delta_seconds("9223372036855"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("99999999999999999999999"), std::nullopt);
}

TEST(RetryAfter, HonoursAnHttpDate) {
  EXPECT_EQ(one("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT", kNov1994Ms), sec(37));
}

TEST(RetryAfter, HonoursAnRfc850Date) {
  EXPECT_EQ(one("Retry-After", "Sunday, 06-Nov-94 08:49:37 GMT", kNov1994Ms), sec(37));
}

TEST(RetryAfter, HonoursAnAsctimeDate) {
  EXPECT_EQ(one("Retry-After", "Sun Nov  6 08:49:37 1994", kNov1994Ms), sec(37));
}

TEST(RetryAfter, ParsesAllThreeHttpDateFormsToTheSameInstant) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kNov1994Ms), kExampleDateS);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNov1994Ms), kExampleDateS);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", kNov1994Ms), kExampleDateS);
  EXPECT_EQ(parse_http_date("Wed Nov 16 08:49:37 1994", kNov1994Ms), kExampleDateS + 10 * 86'400);
}

TEST(RetryAfter, Rfc850YearMoreThanFiftyYearsAheadMeansThePreviousCentury) {
  // Seen in 2026: "30" is 2030, "76" (exactly 50 years ahead) is 2076, "77" is 1977.
  EXPECT_EQ(parse_http_date("Tuesday, 01-Jan-30 00:00:00 GMT", kMay2026Ms), 1'893'456'000);
  EXPECT_EQ(parse_http_date("Wednesday, 01-Jan-76 00:00:00 GMT", kMay2026Ms), 3'345'062'400);
  EXPECT_EQ(parse_http_date("Saturday, 01-Jan-77 00:00:00 GMT", kMay2026Ms), 220'924'800);
}

TEST(RetryAfter, HttpDateDoesNotCheckTheWeekday) {
  EXPECT_EQ(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT", kNov1994Ms), kExampleDateS);
}

TEST(RetryAfter, HttpDateRejectsMalformedDates) {
  EXPECT_EQ(parse_http_date("Thu, 31 Apr 2026 00:00:00 GMT", kMay2026Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT", kNov1994Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", kNov1994Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("06 Nov 1994 08:49:37 GMT", kNov1994Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT extra", kNov1994Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT", kNov1994Ms), std::nullopt);
  EXPECT_EQ(parse_http_date("Sun, 06 Nox 1994 08:49:37 GMT", kNov1994Ms), std::nullopt);
}

TEST(RetryAfter, HttpDateAcceptsALeapSecond) {
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", kMay2026Ms), days_from_civil(2017, 1, 1) * 86'400);
}

TEST(RetryAfter, PastHttpDateGivesZero) {
  EXPECT_EQ(one("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT", kMay2026Ms), Duration{0});
}

TEST(RetryAfter, RetryAfterMsHonoursFractionalMilliseconds) {
  EXPECT_EQ(one("retry-after-ms", "1500.5", kNov1994Ms), us(1'500'500));
  EXPECT_EQ(one("retry-after-ms", "20", kNov1994Ms), ms(20));
}

TEST(RetryAfter, RetryAfterMsDropsDigitsBelowTheMicrosecond) {
  EXPECT_EQ(parse_milliseconds("0.0019"), us(1));
  EXPECT_EQ(parse_milliseconds("2.123456789"), us(2'123));
}

TEST(RetryAfter, RetryAfterMsRejectsSignsExponentsAndBarePoints) {
  EXPECT_EQ(parse_milliseconds("-5"), std::nullopt);
  EXPECT_EQ(parse_milliseconds("1e3"), std::nullopt);
  EXPECT_EQ(parse_milliseconds("1."), std::nullopt);
  EXPECT_EQ(parse_milliseconds(".5"), std::nullopt);
  EXPECT_EQ(parse_milliseconds(""), std::nullopt);
}

TEST(RetryAfter, OpenAiResetHeadersReadGoDurations) {
  EXPECT_EQ(one("x-ratelimit-reset-requests", "6m0s", kNov1994Ms), minutes(6));
  EXPECT_EQ(one("x-ratelimit-reset-tokens", "20ms", kNov1994Ms), ms(20));
}

TEST(RetryAfter, GoDurationParsesEveryUnitAndFractions) {
  EXPECT_EQ(parse_go_duration("1s"), sec(1));
  EXPECT_EQ(parse_go_duration("1h2m3.5s"), us(3'723'500'000));
  EXPECT_EQ(parse_go_duration("1.5h"), minutes(90));
  EXPECT_EQ(parse_go_duration("2500us"), us(2'500));
  EXPECT_EQ(parse_go_duration("3\u00b5s"), us(3));
  EXPECT_EQ(parse_go_duration("4\u03bcs"), us(4));
  EXPECT_EQ(parse_go_duration("1500ns"), us(1));
  EXPECT_EQ(parse_go_duration(".5s"), ms(500));
  EXPECT_EQ(parse_go_duration("0"), Duration{0});
  EXPECT_EQ(parse_go_duration("+2s"), sec(2));
  EXPECT_EQ(parse_go_duration("-2s"), sec(-2));
}

TEST(RetryAfter, GoDurationRejectsMissingUnitsAndGarbage) {
  EXPECT_EQ(parse_go_duration(""), std::nullopt);
  EXPECT_EQ(parse_go_duration("1"), std::nullopt);
  EXPECT_EQ(parse_go_duration("s"), std::nullopt);
  EXPECT_EQ(parse_go_duration("1x"), std::nullopt);
  EXPECT_EQ(parse_go_duration("1s2"), std::nullopt);
  EXPECT_EQ(parse_go_duration(".s"), std::nullopt);
  EXPECT_EQ(parse_go_duration("--1s"), std::nullopt);
  EXPECT_EQ(parse_go_duration("1 s"), std::nullopt);
}

TEST(RetryAfter, GoDurationBeyondInt64NanosecondsIsRejected) {
  EXPECT_EQ(parse_go_duration("2562047h"), minutes(2'562'047LL * 60));
  EXPECT_EQ(parse_go_duration("2562048h"), std::nullopt);
  EXPECT_EQ(parse_go_duration("9223372036854775808ns"), std::nullopt);
  EXPECT_EQ(parse_go_duration("2562047h48m"), std::nullopt);
}

TEST(RetryAfter, NegativeOpenAiResetGivesZero) {
  EXPECT_EQ(one("x-ratelimit-reset-tokens", "-5s", kNov1994Ms), Duration{0});
}

TEST(RetryAfter, AnthropicResetIsRelativeToWallNow) {
  EXPECT_EQ(one("anthropic-ratelimit-requests-reset", "2026-05-08T11:25:00Z", kMay2026Ms), sec(60));
  EXPECT_EQ(one("anthropic-ratelimit-tokens-reset", "2026-05-08T11:25:00Z", kMay2026Ms), sec(60));
  EXPECT_EQ(one("anthropic-ratelimit-input-tokens-reset", "2026-05-08T11:24:30Z", kMay2026Ms), sec(30));
  EXPECT_EQ(one("anthropic-ratelimit-output-tokens-reset", "2026-05-08T11:24:01.5Z", kMay2026Ms), ms(1'500));
}

TEST(RetryAfter, PastAnthropicResetGivesZero) {
  EXPECT_EQ(one("anthropic-ratelimit-tokens-reset", "2026-05-08T11:00:00Z", kMay2026Ms), Duration{0});
}

TEST(RetryAfter, Rfc3339AcceptsFractionsOffsetsAndLowerCase) {
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00Z"), kMay2026ResetMs);
  EXPECT_EQ(parse_rfc3339("2026-05-08T13:25:00.250+02:00"), kMay2026ResetMs + 250);
  EXPECT_EQ(parse_rfc3339("2026-05-08T05:55:00-05:30"), kMay2026ResetMs);
  EXPECT_EQ(parse_rfc3339("2026-05-08t11:25:00z"), kMay2026ResetMs);
  EXPECT_EQ(parse_rfc3339("2026-05-08 11:25:00-00:00"), kMay2026ResetMs);
}

TEST(RetryAfter, Rfc3339DropsDigitsBelowTheMillisecond) {
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00.999999999Z"), kMay2026ResetMs + 999);
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00.1Z"), kMay2026ResetMs + 100);
}

TEST(RetryAfter, Rfc3339RejectsMalformedTimestamps) {
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00"), std::nullopt);    // no offset
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25Z"), std::nullopt);      // no seconds
  EXPECT_EQ(parse_rfc3339("2026-13-08T11:25:00Z"), std::nullopt);   // month 13
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00.Z"), std::nullopt);  // empty fraction
  EXPECT_EQ(parse_rfc3339("2026-05-08T11:25:00+0200"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("1778239500"), std::nullopt);
}

TEST(RetryAfter, LeapDayExistsOnlyInLeapYears) {
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951'782'400'000);
  EXPECT_EQ(parse_rfc3339("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2100-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_http_date("Mon, 29 Feb 2100 00:00:00 GMT", kMay2026Ms), std::nullopt);
}

TEST(RetryAfter, Year2100SkipsItsLeapDayAndYear2000KeepsIt) {
  EXPECT_EQ(parse_rfc3339("2100-03-01T00:00:00Z"), 4'107'542'400'000);
  EXPECT_EQ(parse_http_date("Mon, 01 Mar 2100 00:00:00 GMT", kMay2026Ms), 4'107'542'400);
  EXPECT_EQ(days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28), 1);
  EXPECT_EQ(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
  EXPECT_EQ(days_from_civil(2101, 1, 1) - days_from_civil(2100, 1, 1), 365);
  EXPECT_EQ(days_from_civil(2001, 1, 1) - days_from_civil(2000, 1, 1), 366);
}

TEST(RetryAfter, DaysFromCivilMatchesKnownDates) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(1600, 3, 1) * 86'400, -11'670'912'000);
  EXPECT_EQ(days_from_civil(0, 1, 1) * 86'400, -62'167'219'200);
  EXPECT_EQ(days_from_civil(9999, 12, 31) * 86'400 + 86'399, 253'402'300'799);
}

TEST(RetryAfter, CivilFromDaysWalksEveryDayOfFourCenturiesInOrder) {
  const std::int64_t first = days_from_civil(1600, 1, 1);
  const std::int64_t last = days_from_civil(2400, 12, 31);
  CivilDate previous = civil_from_days(first - 1);
  ASSERT_EQ(previous, (CivilDate{1599, 12, 31}));
  for (std::int64_t z = first; z <= last; ++z) {
    const CivilDate d = civil_from_days(z);
    ASSERT_EQ(days_from_civil(d.year, d.month, d.day), z);
    const bool same_month = d.year == previous.year && d.month == previous.month;
    const bool next_month = (d.year == previous.year && d.month == previous.month + 1) ||
                            (d.year == previous.year + 1 && d.month == 1 && previous.month == 12);
    const bool month_ended = previous.day == days_in_month(previous.year, previous.month);
    const bool ok = (same_month && d.day == previous.day + 1) || (next_month && month_ended && d.day == 1);
    ASSERT_TRUE(ok) << d.year << "-" << d.month << "-" << d.day;
    previous = d;
  }
  EXPECT_EQ(previous, (CivilDate{2400, 12, 31}));
}

TEST(RetryAfter, LargestHeaderWins) {
  const std::array<Header, 5> headers{{
      {"retry-after", "30"},
      {"retry-after-ms", "45000"},
      {"x-ratelimit-reset-requests", "1m0.5s"},
      {"anthropic-ratelimit-tokens-reset", "2026-05-08T11:24:20Z"},
      {"content-type", "application/json"},
  }};
  EXPECT_EQ(retry_after_from_headers(headers, kMay2026Ms), ms(60'500));
}

TEST(RetryAfter, HeaderNamesAreCaseInsensitive) {
  EXPECT_EQ(one("RETRY-AFTER", "7", kNov1994Ms), sec(7));
  EXPECT_EQ(one("Retry-After-Ms", "7", kNov1994Ms), ms(7));
  EXPECT_EQ(one("X-RateLimit-Reset-Tokens", "7s", kNov1994Ms), sec(7));
  EXPECT_EQ(one("Anthropic-RateLimit-Requests-Reset", "2026-05-08T11:24:07Z", kMay2026Ms), sec(7));
}

TEST(RetryAfter, GarbageInOneHeaderIsIgnored) {
  const std::array<Header, 3> headers{{
      {"Retry-After", "soon"},
      {"x-ratelimit-reset-tokens", "a while"},
      {"retry-after-ms", "12"},
  }};
  EXPECT_EQ(retry_after_from_headers(headers, kNov1994Ms), ms(12));
}

TEST(RetryAfter, OverflowInOneHeaderIsIgnored) {
  const std::array<Header, 3> headers{{
      {"Retry-After", "99999999999999999999"},
      {"retry-after-ms", "99999999999999999999.5"},
      {"x-ratelimit-reset-requests", "5s"},
  }};
  EXPECT_EQ(retry_after_from_headers(headers, kNov1994Ms), sec(5));
}

TEST(RetryAfter, OnlyGarbageGivesNothing) {
  EXPECT_EQ(one("Retry-After", "Tomorrow", kNov1994Ms), std::nullopt);
}

TEST(RetryAfter, NoBackPressureHeaderGivesNothing) {
  const std::array<Header, 2> headers{{{"content-type", "text/plain"}, {"retry", "5"}}};
  EXPECT_EQ(retry_after_from_headers(headers, kNov1994Ms), std::nullopt);
  EXPECT_EQ(retry_after_from_headers({}, kNov1994Ms), std::nullopt);
}

}  // namespace
}  // namespace failover::protocol
