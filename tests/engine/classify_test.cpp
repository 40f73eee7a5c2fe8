#include <gtest/gtest.h>

#include "core/engine/config.h"
#include "core/engine/outcome.h"

namespace failover {
namespace {

OutcomeClass of(const Outcome& outcome, const ClassifyPolicy& policy = {}) {
  return classify(outcome, policy);
}

const ClassEffect& effect(OutcomeClass c) {
  static const ClassifyPolicy kDefaults;
  return kDefaults.effects[static_cast<std::size_t>(c)];
}

TEST(Classify, DecodedSuccessIsSuccess) {
  EXPECT_EQ(of(Outcome::ok(Usage{10, 20, true})), OutcomeClass::success);
}

TEST(Classify, TwoHundredsAreSuccess) {
  EXPECT_EQ(of(Outcome::http(200)), OutcomeClass::success);
  EXPECT_EQ(of(Outcome::http(204)), OutcomeClass::success);
  EXPECT_EQ(of(Outcome::http(299)), OutcomeClass::success);
}

TEST(Classify, FourHundredIsCallerErrorAndNeverHealth) {
  EXPECT_EQ(of(Outcome::http(400)), OutcomeClass::caller_error);
  EXPECT_FALSE(effect(OutcomeClass::caller_error).health);
  EXPECT_FALSE(effect(OutcomeClass::caller_error).retry);
}

TEST(Classify, PayloadTooLargeAndUnprocessableAreCallerErrors) {
  EXPECT_EQ(of(Outcome::http(413)), OutcomeClass::caller_error);
  EXPECT_EQ(of(Outcome::http(422)), OutcomeClass::caller_error);
}

TEST(Classify, OtherFourHundredsAreCallerErrors) {
  EXPECT_EQ(of(Outcome::http(405)), OutcomeClass::caller_error);
  EXPECT_EQ(of(Outcome::http(409)), OutcomeClass::caller_error);
  EXPECT_EQ(of(Outcome::http(499)), OutcomeClass::caller_error);
}

TEST(Classify, UnauthorizedForbiddenAndNotFoundAreCredentialErrors) {
  EXPECT_EQ(of(Outcome::http(401)), OutcomeClass::credential);
  EXPECT_EQ(of(Outcome::http(403)), OutcomeClass::credential);
  EXPECT_EQ(of(Outcome::http(404)), OutcomeClass::credential);
}

TEST(Classify, RequestTimeoutStatusIsTimeout) {
  EXPECT_EQ(of(Outcome::http(408)), OutcomeClass::timeout);
}

TEST(Classify, TooManyRequestsIsRateLimitedAndNotAHealthFailure) {
  EXPECT_EQ(of(Outcome::http(429, sec(30))), OutcomeClass::rate_limited);
  EXPECT_FALSE(effect(OutcomeClass::rate_limited).health);
}

TEST(Classify, FiveHundredsAreTransient) {
  EXPECT_EQ(of(Outcome::http(500)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(502)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(503)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(504)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(599)), OutcomeClass::transient);
}

TEST(Classify, AnthropicOverloaded529IsTransient) {
  EXPECT_EQ(of(Outcome::http(529)), OutcomeClass::transient);
}

TEST(Classify, UnexpectedStatusesAreTransient) {
  EXPECT_EQ(of(Outcome::http(100)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(600)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(0)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(-1)), OutcomeClass::transient);
}

// The issue "liveness": a 3xx was retried three times as transient; the same URL
// redirects again, so it is a configuration error, like 401/403/404.
TEST(Classify, ARedirectIsAConfigurationError) {
  for (const std::int32_t status : {301, 302, 307, 308}) {
    EXPECT_EQ(of(Outcome::http(status)), OutcomeClass::credential) << status;
  }
}

TEST(Classify, ACertificateThatDoesNotVerifyIsAConfigurationError) {
  EXPECT_EQ(of(Outcome::of(OutcomeKind::tls_verify)), OutcomeClass::credential);
  EXPECT_EQ(of(Outcome::of(OutcomeKind::connect_error)), OutcomeClass::transient);
}

TEST(Classify, OverridesWinOverTheTable) {
  ClassifyPolicy policy;
  policy.status_overrides = {{503, OutcomeClass::rate_limited}, {400, OutcomeClass::transient}};
  EXPECT_EQ(of(Outcome::http(503), policy), OutcomeClass::rate_limited);
  EXPECT_EQ(of(Outcome::http(400), policy), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(502), policy), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::http(404), policy), OutcomeClass::credential);
}

TEST(Classify, OverridesWinOverRefusals) {
  ClassifyPolicy policy;
  policy.status_overrides = {{400, OutcomeClass::caller_error}};
  EXPECT_EQ(of(Outcome::refused(400, Refusal::context_length), policy), OutcomeClass::caller_error);
}

TEST(Classify, OverridesApplyOnlyToHttpStatuses) {
  ClassifyPolicy policy;
  policy.status_overrides = {{0, OutcomeClass::caller_error}, {200, OutcomeClass::malformed}};
  EXPECT_EQ(of(Outcome::of(OutcomeKind::reset), policy), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::timed_out(TimeoutKind::connect), policy), OutcomeClass::timeout);
  EXPECT_EQ(of(Outcome::ok(Usage{}), policy), OutcomeClass::success);
}

TEST(Classify, ContextLengthRefusalIsCapability) {
  EXPECT_EQ(of(Outcome::refused(400, Refusal::context_length)), OutcomeClass::capability);
  EXPECT_EQ(of(Outcome::refused(413, Refusal::context_length)), OutcomeClass::capability);
}

TEST(Classify, ContentPolicyRefusalIsCapability) {
  EXPECT_EQ(of(Outcome::refused(400, Refusal::content_policy)), OutcomeClass::capability);
}

TEST(Classify, StatusWithoutRefusalIsNotCapability) {
  EXPECT_EQ(of(Outcome::refused(400, Refusal::none)), OutcomeClass::caller_error);
}

TEST(Classify, ConnectErrorsAndResetsAreTransient) {
  EXPECT_EQ(of(Outcome::of(OutcomeKind::connect_error)), OutcomeClass::transient);
  EXPECT_EQ(of(Outcome::of(OutcomeKind::reset)), OutcomeClass::transient);
}

TEST(Classify, EveryTransportTimeoutIsTimeout) {
  EXPECT_EQ(of(Outcome::timed_out(TimeoutKind::connect)), OutcomeClass::timeout);
  EXPECT_EQ(of(Outcome::timed_out(TimeoutKind::first_byte)), OutcomeClass::timeout);
  EXPECT_EQ(of(Outcome::timed_out(TimeoutKind::idle)), OutcomeClass::timeout);
  EXPECT_EQ(of(Outcome::timed_out(TimeoutKind::total)), OutcomeClass::timeout);
}

TEST(Classify, UndecodableBodyIsMalformed) {
  EXPECT_EQ(of(Outcome::of(OutcomeKind::malformed)), OutcomeClass::malformed);
}

TEST(Classify, TruncatedStreamIsMalformed) {
  EXPECT_EQ(of(Outcome::of(OutcomeKind::truncated)), OutcomeClass::malformed);
}

TEST(Classify, CancelledIsCancelled) {
  EXPECT_EQ(of(Outcome::of(OutcomeKind::cancelled)), OutcomeClass::cancelled);
}

}  // namespace
}  // namespace failover
