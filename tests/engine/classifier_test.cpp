#include "core/engine/classifier.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(Classifier, PlainShortPromptIsSimple) {
  EXPECT_EQ(classify_complexity("What is the capital of France?", 100), Complexity::simple);
}

TEST(Classifier, EmptyPromptIsSimple) {
  EXPECT_EQ(classify_complexity("", 0), Complexity::simple);
}

TEST(Classifier, OneIndicatorIsMedium) {
  EXPECT_EQ(classify_complexity("Please debug this function.", 100), Complexity::medium);
}

TEST(Classifier, TwoIndicatorsAreComplex) {
  EXPECT_EQ(classify_complexity("Analyze both drafts and compare them.", 100), Complexity::complex);
}

TEST(Classifier, RepeatedIndicatorCountsOnce) {
  EXPECT_EQ(classify_complexity("debug, debug, debug", 100), Complexity::medium);
}

TEST(Classifier, MaxTokensAbove500IsMedium) {
  EXPECT_EQ(classify_complexity("hello", 500), Complexity::simple);
  EXPECT_EQ(classify_complexity("hello", 501), Complexity::medium);
}

TEST(Classifier, MaxTokensAbove2000IsComplex) {
  EXPECT_EQ(classify_complexity("hello", 2'000), Complexity::medium);
  EXPECT_EQ(classify_complexity("hello", 2'001), Complexity::complex);
}

TEST(Classifier, OneIndicatorWithManyTokensIsComplex) {
  EXPECT_EQ(classify_complexity("refactor this", 4'096), Complexity::complex);
}

TEST(Classifier, MatchingIgnoresCase) {
  EXPECT_EQ(classify_complexity("ARCHITECT a cache and OPTIMIZE it", 100), Complexity::complex);
  EXPECT_EQ(classify_complexity("Evaluate", 100), Complexity::medium);
}

TEST(Classifier, IndicatorsMatchInsideLongerWords) {
  // As in the case study: substrings, not words. "redesign" holds "design", "Analyzer" "analyze".
  EXPECT_EQ(classify_complexity("redesign the Analyzer", 100), Complexity::complex);
}

TEST(Classifier, ExplainWhyNeedsBothWordsWithOneSpace) {
  EXPECT_EQ(classify_complexity("Explain why the sky is blue", 100), Complexity::medium);
  EXPECT_EQ(classify_complexity("explain this; why?", 100), Complexity::simple);
  EXPECT_EQ(classify_complexity("explain  why", 100), Complexity::simple);
}

TEST(Classifier, BritishSpellingsAreNotIndicators) {
  EXPECT_EQ(classify_complexity("analyse and optimise", 100), Complexity::simple);
}

TEST(Classifier, IndicatorAtTheVeryEndIsFound) {
  EXPECT_EQ(classify_complexity("now debug", 100), Complexity::medium);
  EXPECT_EQ(classify_complexity("debu", 100), Complexity::simple);
}

TEST(Classifier, ToStringNamesEachComplexity) {
  EXPECT_EQ(to_string(Complexity::simple), "simple");
  EXPECT_EQ(to_string(Complexity::medium), "medium");
  EXPECT_EQ(to_string(Complexity::complex), "complex");
}

}  // namespace
}  // namespace failover
