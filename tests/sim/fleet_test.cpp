#include "sim/fleet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace failover::sim {
namespace {

ModelConfig model(std::string id, std::int64_t in_price, std::int64_t out_price, std::int64_t window) {
  ModelConfig m;
  m.id = std::move(id);
  m.input_micro_usd_per_mtok = in_price;
  m.output_micro_usd_per_mtok = out_price;
  m.context_window_tokens = window;
  return m;
}

// A provider answering in exactly 500 ms + 10 ms per output token.
ProviderSpec constant_spec() {
  ProviderSpec s;
  s.name = "primary";
  s.latency = LatencyModel{LatencyDist::constant(ms(500)), ms(10)};
  s.models = {model("gpt-big", 3'000'000, 15'000'000, 8'000)};
  return s;
}

ProviderSpec lognormal_spec() {
  ProviderSpec s = constant_spec();
  s.latency = LatencyModel{LatencyDist::lognormal(ms(800), sec(4)), ms(5)};
  return s;
}

constexpr AttemptSpec kCall{0, 1'000, 100, false};
constexpr AttemptSpec kStreamCall{0, 1'000, 100, true};

Time at_min(std::int64_t m) {
  return kTimeZero + minutes(m);
}

// Starts `n` calls at `now`, finishing each slot at once; returns the replies.
std::vector<Reply> run_calls(FakeProvider& p, Time now, int n, const AttemptSpec& call = kCall) {
  std::vector<Reply> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.push_back(p.start(now, call));
    if (out.back().holds_slot) p.finish(now);
  }
  return out;
}

double share_of_status(const std::vector<Reply>& replies, std::int32_t status) {
  std::int64_t n = 0;
  for (const Reply& r : replies)
    n += (r.outcome.kind == OutcomeKind::http_status && r.outcome.http_status == status) ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(replies.size());
}

TEST(FakeProvider, ASuccessCarriesUsageCostAndTiming) {
  FakeProvider p(constant_spec(), Prng(1));
  const Reply r = p.start(at_min(1), kCall);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::success);
  EXPECT_EQ(r.outcome.http_status, 200);
  EXPECT_EQ(r.outcome.usage.input_tokens, 1'000);
  EXPECT_EQ(r.outcome.usage.output_tokens, 100);
  EXPECT_TRUE(r.outcome.usage.reported);
  EXPECT_EQ(r.done_at, at_min(1) + ms(500) + ms(1'000));
  EXPECT_EQ(r.first_byte_at, r.done_at);  // not streamed: the body arrives whole
  EXPECT_TRUE(r.holds_slot);
  EXPECT_EQ(r.tokens_delivered, 100);
  // 1'000 x $3/M + 100 x $15/M = 3'000 + 1'500 micro-dollars.
  EXPECT_EQ(r.billed_micro_usd, 4'500);
  EXPECT_EQ(p.inflight(), 1);
  p.finish(r.done_at);
  EXPECT_EQ(p.inflight(), 0);
}

TEST(FakeProvider, AStreamDeliversItsFirstByteAtTimeToFirstToken) {
  FakeProvider p(constant_spec(), Prng(1));
  const Reply r = p.start(at_min(1), kStreamCall);
  EXPECT_EQ(r.first_byte_at, at_min(1) + ms(500));
  EXPECT_EQ(r.done_at, at_min(1) + ms(1'500));
}

TEST(FakeProvider, APromptOverTheContextWindowIsRefusedWith400) {
  FakeProvider p(constant_spec(), Prng(1));
  const Reply r = p.start(at_min(1), AttemptSpec{0, 7'000, 1'001, false});
  EXPECT_EQ(r.outcome.kind, OutcomeKind::http_status);
  EXPECT_EQ(r.outcome.http_status, 400);
  EXPECT_EQ(r.outcome.refusal, Refusal::context_length);
  EXPECT_EQ(r.done_at, at_min(1) + ms(1));
  EXPECT_FALSE(r.holds_slot);
  EXPECT_EQ(r.billed_micro_usd, 0);
  EXPECT_EQ(p.start(at_min(1), AttemptSpec{0, 7'000, 1'000, false}).outcome.kind, OutcomeKind::success);
  EXPECT_EQ(p.stats().context_refusals, 1);
}

TEST(FakeProvider, ExcessConcurrencyGets429WithRetryAfterUntilASlotFrees) {
  ProviderSpec s = constant_spec();
  s.concurrency_max = 2;
  FakeProvider p(s, Prng(1));
  EXPECT_TRUE(p.start(at_min(1), kCall).holds_slot);
  EXPECT_TRUE(p.start(at_min(1), kCall).holds_slot);
  const Reply over = p.start(at_min(1), kCall);
  EXPECT_EQ(over.outcome.http_status, 429);
  EXPECT_EQ(over.outcome.retry_after, sec(1));
  EXPECT_EQ(over.done_at, at_min(1) + ms(1));
  EXPECT_FALSE(over.holds_slot);
  p.finish(at_min(1) + sec(2));
  EXPECT_TRUE(p.start(at_min(1) + sec(2), kCall).holds_slot);
  EXPECT_EQ(p.stats().over_capacity, 1);
  EXPECT_EQ(p.stats().admitted, 3);
}

TEST(FakeProvider, OverCapacityCanAnswer503WithoutRetryAfter) {
  ProviderSpec s = constant_spec();
  s.concurrency_max = 1;
  s.over_capacity = OverCapacity{503, std::nullopt};
  FakeProvider p(s, Prng(1));
  (void)p.start(at_min(1), kCall);
  const Reply over = p.start(at_min(1), kCall);
  EXPECT_EQ(over.outcome.http_status, 503);
  EXPECT_FALSE(over.outcome.retry_after.has_value());
}

TEST(FakeProvider, RpmLimitAnswers429WithTheWaitRoundedUpToASecond) {
  ProviderSpec s = constant_spec();
  s.rpm_max = 6;  // one request back every 10 s
  FakeProvider p(s, Prng(1));
  for (const Reply& r : run_calls(p, at_min(1), 6)) ASSERT_EQ(r.outcome.kind, OutcomeKind::success);
  const Reply first = p.start(at_min(1), kCall);
  EXPECT_EQ(first.outcome.http_status, 429);
  EXPECT_EQ(first.outcome.retry_after, sec(10));
  const Reply later = p.start(at_min(1) + ms(3'500), kCall);
  EXPECT_EQ(later.outcome.retry_after, sec(7));  // 6.5 s rounded up
  EXPECT_EQ(p.start(at_min(1) + sec(10), kCall).outcome.kind, OutcomeKind::success);
  EXPECT_EQ(p.stats().rate_limited, 2);
}

TEST(FakeProvider, TpmLimitCountsPromptAndOutputTokens) {
  ProviderSpec s = constant_spec();
  s.tpm_max = 10'000;
  s.rpm_max = 6;
  FakeProvider p(s, Prng(1));
  const AttemptSpec call{0, 1'000, 1'000, false};  // 2'000 tokens: five fit in a minute
  for (const Reply& r : run_calls(p, at_min(1), 5, call)) ASSERT_EQ(r.outcome.kind, OutcomeKind::success);
  const Reply over = p.start(at_min(1), call);
  EXPECT_EQ(over.outcome.http_status, 429);
  EXPECT_EQ(over.outcome.retry_after, sec(12));  // 2'000 tokens at 10'000 per minute
  // The sixth request slot of the RPM bucket is still there: the TPM refusal took none.
  const Reply small = p.start(at_min(1) + sec(1), AttemptSpec{0, 50, 50, false});
  EXPECT_EQ(small.outcome.kind, OutcomeKind::success);
}

TEST(FakeProvider, ARequestBiggerThanAMinuteOfTpmIsToldToWaitAFullWindow) {
  ProviderSpec s = constant_spec();
  s.tpm_max = 1'000;
  FakeProvider p(s, Prng(1));
  const Reply r = p.start(at_min(1), AttemptSpec{0, 1'500, 10, false});
  EXPECT_EQ(r.outcome.retry_after, kRetryAfterNeverFits);
}

TEST(LimitBucket, StartsFullRefillsContinuouslyAndCapsAtAMinute) {
  LimitBucket b(60);
  EXPECT_EQ(b.wait(kTimeZero, 60, 60), Duration{0});
  b.take(60);
  EXPECT_EQ(b.wait(kTimeZero, 1, 60), sec(1));
  EXPECT_EQ(b.wait(kTimeZero + ms(250), 1, 60), ms(750));
  EXPECT_EQ(b.wait(kTimeZero + minutes(10), 60, 60), Duration{0});
  EXPECT_EQ(b.available(), 60);
  // A lower limit in force caps the level at its own minute.
  EXPECT_EQ(b.wait(kTimeZero + minutes(10), 31, 30), kRetryAfterNeverFits);
  EXPECT_EQ(b.available(), 30);
}

TEST(LimitBucket, SaysHowLongUntilItIsFullAgain) {
  LimitBucket b(60);
  EXPECT_EQ(b.until_full(60), Duration{0});
  ASSERT_EQ(b.wait(kTimeZero, 3, 60), Duration{0});
  b.take(3);
  EXPECT_EQ(b.until_full(60), sec(3));  // one a second
  EXPECT_EQ(b.until_full(0), Duration{0});
}

TEST(FakeProvider, ReportsItsLimitsInForceAndWhatIsLeftOfThem) {
  ProviderSpec s = constant_spec();
  s.rpm_max = 600;
  s.tpm_max = 60'000;
  s.faults = {Fault::rate_limit(at_min(10), minutes(10), Ratio{1, 2})};
  FakeProvider p(s, Prng(3));
  EXPECT_EQ(p.rate_limits().requests.limit, 600);
  EXPECT_EQ(p.rate_limits().requests.remaining, 600);
  run_calls(p, at_min(1), 2);  // 1,100 tokens each
  RateLimitState r = p.rate_limits();
  EXPECT_EQ(r.requests.limit, 600);
  EXPECT_EQ(r.requests.remaining, 598);
  EXPECT_EQ(r.requests.until_full, ms(200));  // 10 a second
  EXPECT_EQ(r.tokens.limit, 60'000);
  EXPECT_EQ(r.tokens.remaining, 57'800);
  EXPECT_EQ(r.tokens.until_full, ms(2'200));  // 1,000 a second
  run_calls(p, at_min(11), 1);                // the fault halves both limits
  r = p.rate_limits();
  EXPECT_EQ(r.requests.limit, 300);
  EXPECT_EQ(r.requests.remaining, 299);
  EXPECT_EQ(r.tokens.limit, 30'000);
  ProviderSpec unlimited = constant_spec();
  FakeProvider q(unlimited, Prng(3));
  run_calls(q, at_min(1), 1);
  EXPECT_EQ(q.rate_limits().requests.limit, 0);
  EXPECT_EQ(q.rate_limits().tokens.limit, 0);
}

TEST(FakeProvider, ChecksTheContextWindowAgainstMaxTokensWhenTheAnswerIsShorter) {
  FakeProvider p(constant_spec(), Prng(1));  // an 8,000-token window
  EXPECT_EQ(p.start(at_min(1), AttemptSpec{0, 1'000, 100, false, 7'001}).outcome.refusal, Refusal::context_length);
  const Reply ok = p.start(at_min(1), AttemptSpec{0, 1'000, 100, false, 7'000});
  EXPECT_EQ(ok.outcome.kind, OutcomeKind::success);
  EXPECT_EQ(ok.outcome.usage.output_tokens, 100);
}

TEST(FakeProvider, AnHttpErrorStormFailsItsShareOfCallsOnlyInsideItsWindow) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::http_error(at_min(60), minutes(120), 503, Ratio{94, 100})};
  FakeProvider p(s, Prng(2));
  EXPECT_EQ(share_of_status(run_calls(p, at_min(59), 1'000), 503), 0.0);
  const std::vector<Reply> storm = run_calls(p, at_min(61), 100'000);
  EXPECT_NEAR(share_of_status(storm, 503), 0.94, 0.005);
  for (const Reply& r : storm) {
    if (r.outcome.http_status != 503) continue;
    ASSERT_EQ(r.done_at, at_min(61) + ms(1));
    ASSERT_EQ(r.first_byte_at, kTimeNever);
    ASSERT_TRUE(r.holds_slot);
    ASSERT_EQ(r.fault, 0U);
    ASSERT_EQ(r.billed_micro_usd, 0);
  }
  EXPECT_EQ(share_of_status(run_calls(p, at_min(180), 1'000), 503), 0.0);
}

TEST(FakeProvider, AnHttpErrorFaultCanCarryARetryAfter) {
  ProviderSpec s = constant_spec();
  Fault f = Fault::http_error(at_min(0), minutes(10), 429, kRatioOne);
  f.retry_after = sec(30);
  f.delay = ms(40);
  s.faults = {f};
  FakeProvider p(s, Prng(2));
  const Reply r = p.start(at_min(1), kCall);
  EXPECT_EQ(r.outcome.http_status, 429);
  EXPECT_EQ(r.outcome.retry_after, sec(30));
  EXPECT_EQ(r.done_at, at_min(1) + ms(40));
}

TEST(FakeProvider, ARateLimitFaultCutsTheLimitsToAFraction) {
  ProviderSpec s = constant_spec();
  s.rpm_max = 600;
  s.faults = {Fault::rate_limit(at_min(10), minutes(10), Ratio{1, 2})};
  FakeProvider p(s, Prng(3));
  const std::vector<Reply> burst = run_calls(p, at_min(11), 400);
  std::int64_t ok = 0;
  for (const Reply& r : burst) ok += r.outcome.kind == OutcomeKind::success ? 1 : 0;
  EXPECT_EQ(ok, 300);
  EXPECT_EQ(burst.back().outcome.http_status, 429);
  EXPECT_EQ(burst.back().outcome.retry_after, sec(1));  // 300/min: one back every 200 ms
  EXPECT_EQ(burst.back().fault, 0U);
  // After the fault the full limit refills.
  EXPECT_EQ(share_of_status(run_calls(p, at_min(25), 600), 429), 0.0);
}

TEST(FakeProvider, ARateLimitFaultAtFullIntensityRefusesEverythingForAWindow) {
  ProviderSpec s = constant_spec();
  s.tpm_max = 100'000;
  s.faults = {Fault::rate_limit(at_min(10), minutes(10), kRatioOne)};
  FakeProvider p(s, Prng(3));
  const Reply r = p.start(at_min(12), kCall);
  EXPECT_EQ(r.outcome.http_status, 429);
  EXPECT_EQ(r.outcome.retry_after, kRetryAfterNeverFits);
}

TEST(FakeProvider, OverlappingRateLimitFaultsApplyTheDeepestCut) {
  ProviderSpec s = constant_spec();
  s.rpm_max = 1'000;
  s.faults = {Fault::rate_limit(at_min(0), minutes(60), Ratio{1, 2}),
              Fault::rate_limit(at_min(0), minutes(60), Ratio{9, 10}).named("deep")};
  FakeProvider p(s, Prng(3));
  const std::vector<Reply> burst = run_calls(p, at_min(1), 200);
  std::int64_t ok = 0;
  for (const Reply& r : burst) ok += r.outcome.kind == OutcomeKind::success ? 1 : 0;
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(burst.back().fault, 1U);
}

TEST(FakeProvider, ALatencyFaultMultipliesTimeToFirstTokenAndPerTokenTime) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::latency_factor(at_min(10), minutes(10), 4'000)};
  FakeProvider p(s, Prng(4));
  EXPECT_EQ(p.start(at_min(5), kStreamCall).done_at, at_min(5) + ms(1'500));
  const Reply slow = p.start(at_min(11), kStreamCall);
  EXPECT_EQ(slow.first_byte_at, at_min(11) + ms(2'000));
  EXPECT_EQ(slow.done_at, at_min(11) + ms(6'000));
}

TEST(FakeProvider, LatencyFaultsComposeByMultiplying) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::latency_factor(at_min(0), minutes(30), 2'000),
              Fault::latency_factor(at_min(10), minutes(10), 3'000)};
  FakeProvider p(s, Prng(4));
  EXPECT_EQ(p.start(at_min(5), kCall).done_at, at_min(5) + ms(3'000));
  EXPECT_EQ(p.start(at_min(15), kCall).done_at, at_min(15) + ms(9'000));
}

TEST(FakeProvider, ALatencyOverrideReplacesTheTimeToFirstToken) {
  ProviderSpec s = lognormal_spec();
  s.faults = {Fault::latency_override(at_min(0), minutes(10), LatencyDist::constant(sec(20)))};
  FakeProvider p(s, Prng(5));
  for (int i = 0; i < 100; ++i) {
    const Reply r = p.start(at_min(1), kStreamCall);
    ASSERT_EQ(r.first_byte_at, at_min(1) + sec(20));
    ASSERT_EQ(r.done_at, at_min(1) + sec(20) + ms(500));  // per-token time unchanged
  }
}

TEST(FakeProvider, AHangAcceptsAndNeverAnswersUntilCancelled) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::hang(at_min(0), minutes(10), kRatioOne)};
  FakeProvider p(s, Prng(6));
  const Reply r = p.start(at_min(1), kStreamCall);
  EXPECT_EQ(r.done_at, kTimeNever);
  EXPECT_EQ(r.first_byte_at, kTimeNever);
  EXPECT_TRUE(r.holds_slot);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::timeout);
  EXPECT_EQ(p.inflight(), 1);
  p.finish(at_min(1) + sec(30));  // the client's timeout cancels it
  EXPECT_EQ(p.inflight(), 0);
  EXPECT_EQ(p.stats().hangs, 1);
}

TEST(FakeProvider, AConnectErrorIsRefusedAtOnceWithoutASlot) {
  ProviderSpec s = constant_spec();
  s.concurrency_max = 1;
  Fault reset = Fault::connect_error(at_min(20), minutes(10), kRatioOne);
  reset.reset = true;
  s.faults = {Fault::connect_error(at_min(0), minutes(10), kRatioOne), reset};
  FakeProvider p(s, Prng(7));
  const Reply r = p.start(at_min(1), kCall);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::connect_error);
  EXPECT_EQ(r.done_at, at_min(1) + ms(1));
  EXPECT_FALSE(r.holds_slot);
  EXPECT_EQ(p.inflight(), 0);
  EXPECT_EQ(p.start(at_min(21), kCall).outcome.kind, OutcomeKind::reset);
  EXPECT_EQ(p.stats().connect_errors, 2);
}

TEST(FakeProvider, AMalformedAnswerIsA200ThatDoesNotDecode) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::malformed(at_min(0), minutes(10), kRatioOne)};
  FakeProvider p(s, Prng(8));
  const Reply r = p.start(at_min(1), kCall);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::malformed);
  EXPECT_EQ(r.outcome.http_status, 200);
  EXPECT_EQ(r.done_at, at_min(1) + ms(1'500));
  EXPECT_EQ(r.billed_micro_usd, 4'500);  // generated, billed, useless
}

TEST(FakeProvider, ATruncatedStreamIsCutAtAPointDrawnOnce) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::truncated(at_min(0), minutes(10), kRatioOne)};
  FakeProvider p(s, Prng(9));
  std::vector<std::int64_t> cuts;
  for (int i = 0; i < 200; ++i) {
    const Reply r = p.start(at_min(1), kStreamCall);
    p.finish(at_min(1));
    ASSERT_EQ(r.outcome.kind, OutcomeKind::truncated);
    ASSERT_GE(r.tokens_delivered, 0);
    ASSERT_LT(r.tokens_delivered, 100);
    ASSERT_EQ(r.first_byte_at, at_min(1) + ms(500));
    ASSERT_EQ(r.done_at, at_min(1) + ms(500) + ms(10) * r.tokens_delivered);
    ASSERT_EQ(r.billed_micro_usd, 1'000 * 3 + r.tokens_delivered * 15);  // $3/M in, $15/M out
    cuts.push_back(r.tokens_delivered);
  }
  std::sort(cuts.begin(), cuts.end());
  EXPECT_LT(cuts.front(), 10);
  EXPECT_GT(cuts.back(), 90);
  // Not streamed: generated whole, cut in transit, nothing usable arrives.
  const Reply body = p.start(at_min(2), kCall);
  EXPECT_EQ(body.outcome.kind, OutcomeKind::truncated);
  EXPECT_EQ(body.done_at, at_min(2) + ms(1'500));
  EXPECT_EQ(body.tokens_delivered, 0);
}

TEST(FakeProvider, FaultIntensityRampsLinearlyInIntegers) {
  const Fault f = Fault::http_error(at_min(10), minutes(30), 503, Ratio{94, 100}).ramped(minutes(10), minutes(5));
  EXPECT_EQ(f.intensity_ppm(at_min(9)), 0);
  EXPECT_EQ(f.intensity_ppm(at_min(10)), 0);
  EXPECT_EQ(f.intensity_ppm(at_min(15)), 470'000);
  EXPECT_EQ(f.intensity_ppm(at_min(10) + sec(1)), 1'566);  // 940'000 x 1 / 600, rounded down
  EXPECT_EQ(f.intensity_ppm(at_min(20)), 940'000);
  EXPECT_EQ(f.intensity_ppm(at_min(35)), 940'000);
  EXPECT_EQ(f.intensity_ppm(at_min(37) + sec(30)), 470'000);
  EXPECT_EQ(f.intensity_ppm(at_min(40) - us(1)), 0);
  EXPECT_EQ(f.intensity_ppm(at_min(40)), 0);
}

TEST(FakeProvider, ARampedStormFailsHalfTheCallsHalfwayUp) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::http_error(at_min(0), minutes(60), 503, kRatioOne).ramped(minutes(20), Duration{0})};
  FakeProvider p(s, Prng(10));
  EXPECT_NEAR(share_of_status(run_calls(p, at_min(10), 50'000), 503), 0.5, 0.01);
  EXPECT_NEAR(share_of_status(run_calls(p, at_min(30), 10'000), 503), 1.0, 0.0);
}

TEST(FakeProvider, OverlappingStormsActIndependentlyAndTheFirstListedNamesTheStatus) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::http_error(at_min(0), minutes(60), 503, Ratio{1, 2}),
              Fault::http_error(at_min(0), minutes(60), 502, Ratio{1, 2}).named("gateway")};
  FakeProvider p(s, Prng(11));
  const std::vector<Reply> replies = run_calls(p, at_min(1), 100'000);
  EXPECT_NEAR(share_of_status(replies, 503), 0.5, 0.01);
  EXPECT_NEAR(share_of_status(replies, 502), 0.25, 0.01);  // hit by the second only
}

TEST(FakeProvider, AConnectErrorTakesPrecedenceOverEveryOtherFault) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::http_error(at_min(0), minutes(60), 503, kRatioOne), Fault::hang(at_min(0), minutes(60), kRatioOne),
              Fault::connect_error(at_min(0), minutes(60), kRatioOne)};
  FakeProvider p(s, Prng(12));
  const Reply r = p.start(at_min(1), kCall);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::connect_error);
  EXPECT_EQ(r.fault, 2U);
  s.faults.pop_back();
  FakeProvider q(s, Prng(12));
  EXPECT_EQ(q.start(at_min(1), kCall).outcome.kind, OutcomeKind::timeout);  // hang beats http_error
}

TEST(FakeProvider, AStormLeavesTheLatencyOfTheCallsItSparesUnchanged) {
  const ProviderSpec calm = lognormal_spec();
  ProviderSpec stormy = lognormal_spec();
  stormy.faults = {Fault::http_error(at_min(0), minutes(60), 503, Ratio{1, 2})};
  FakeProvider a(calm, Prng(13));
  FakeProvider b(stormy, Prng(13));
  int spared = 0;
  for (int i = 0; i < 2'000; ++i) {
    const Time now = at_min(1) + ms(i);
    const Reply ra = a.start(now, kStreamCall);
    const Reply rb = b.start(now, kStreamCall);
    a.finish(now);
    b.finish(now);
    if (rb.outcome.kind != OutcomeKind::success) continue;
    ++spared;
    ASSERT_EQ(ra.first_byte_at, rb.first_byte_at);
    ASSERT_EQ(ra.done_at, rb.done_at);
  }
  EXPECT_GT(spared, 900);
}

TEST(FakeProvider, AddingAFaultLeavesOtherFaultsDrawsUnchanged) {
  ProviderSpec one = lognormal_spec();
  one.faults = {Fault::http_error(at_min(0), minutes(60), 503, Ratio{3, 10})};
  ProviderSpec two = one;
  // Listed first, lower precedence than http_error: it cannot hide a 503.
  two.faults.insert(two.faults.begin(), Fault::malformed(at_min(0), minutes(60), Ratio{1, 2}));
  FakeProvider a(one, Prng(14));
  FakeProvider b(two, Prng(14));
  int malformed = 0;
  for (int i = 0; i < 5'000; ++i) {
    const Time now = at_min(2) + ms(i);
    const Reply ra = a.start(now, kCall);
    const Reply rb = b.start(now, kCall);
    a.finish(now);
    b.finish(now);
    ASSERT_EQ(ra.outcome.http_status == 503, rb.outcome.http_status == 503) << i;
    ASSERT_EQ(ra.done_at, rb.done_at);
    malformed += rb.outcome.kind == OutcomeKind::malformed ? 1 : 0;
  }
  EXPECT_GT(malformed, 1'500);
}

TEST(Fleet, AFaultOnAnotherProviderOrAnotherOrderLeavesThisProviderUnchanged) {
  ProviderSpec primary = lognormal_spec();
  ProviderSpec fallback = lognormal_spec();
  fallback.name = "fallback";
  ProviderSpec faulty_fallback = fallback;
  faulty_fallback.faults = {Fault::latency_factor(at_min(0), minutes(60), 5'000),
                            Fault::http_error(at_min(0), minutes(60), 503, Ratio{1, 2})};
  Fleet base({primary, fallback}, Prng(15));
  Fleet faulted({primary, faulty_fallback}, Prng(15));
  Fleet swapped({faulty_fallback, primary}, Prng(15));
  for (int i = 0; i < 1'000; ++i) {
    const Time now = at_min(1) + ms(i);
    const Reply r0 = base.provider(0).start(now, kStreamCall);
    const Reply r1 = faulted.provider(0).start(now, kStreamCall);
    const Reply r2 = swapped.provider(1).start(now, kStreamCall);
    (void)faulted.provider(1).start(now, kStreamCall);  // the other provider is busy too
    ASSERT_EQ(r0.done_at, r1.done_at);
    ASSERT_EQ(r0.done_at, r2.done_at);
    ASSERT_EQ(r0.first_byte_at, r2.first_byte_at);
  }
  EXPECT_EQ(base.size(), 2U);
}

TEST(FakeProvider, GoldenRepliesCatchAnyChangeOfAlgorithm) {
  ProviderSpec s = lognormal_spec();
  s.faults = {Fault::http_error(at_min(0), minutes(60), 503, Ratio{1, 2}),
              Fault::truncated(at_min(0), minutes(60), Ratio{1, 2})};
  Fleet fleet({s}, Prng(2026));
  std::vector<std::int64_t> got;
  for (int i = 0; i < 4; ++i) {
    const Reply r = fleet.provider(0).start(at_min(1), kStreamCall);
    got.push_back(r.outcome.http_status);
    got.push_back(to_us(r.done_at - at_min(1)));
    got.push_back(r.tokens_delivered);
  }
  // 503 (after 1 ms), 503, a success of 100 tokens, a stream cut after 21 tokens.
  const std::vector<std::int64_t> golden = {503, 1'000, 0, 503, 1'000, 0, 200, 1'511'703, 100, 0, 1'500'264, 21};
  EXPECT_EQ(got, golden);
}

TEST(FakeProviderDeathTest, FinishingWithoutAHeldSlotAborts) {
  FakeProvider p(constant_spec(), Prng(1));
  EXPECT_DEATH(p.finish(at_min(1)), "FAILOVER_ASSERT");
}

TEST(FakeProviderDeathTest, TwoFaultsOnOneStreamKeyAbort) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::http_error(at_min(0), minutes(1), 503, kRatioOne),
              Fault::http_error(at_min(0), minutes(2), 502, kRatioOne)};
  EXPECT_DEATH(FakeProvider(s, Prng(1)), "FAILOVER_ASSERT");
}

TEST(FakeProviderDeathTest, ARateLimitFaultWithoutLimitsAborts) {
  ProviderSpec s = constant_spec();
  s.faults = {Fault::rate_limit(at_min(0), minutes(1), Ratio{1, 2})};
  EXPECT_DEATH(FakeProvider(s, Prng(1)), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
