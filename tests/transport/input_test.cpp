// parse_input_line (core/transport/live_input.h): the JSONL lines `failover live` reads.
#include "core/transport/live_input.h"

#include <gtest/gtest.h>

namespace failover::transport {
namespace {

TEST(InputLine, PromptBecomesOneUserMessage) {
  Result<InputLine> l = parse_input_line(R"({"prompt": "hello"})", "in:1");
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->messages.size(), 1u);
  EXPECT_EQ(l->messages[0].role, "user");
  EXPECT_EQ(l->messages[0].content, "hello");
  EXPECT_TRUE(l->route.empty());
  EXPECT_FALSE(l->max_tokens);
}

TEST(InputLine, MessagesRouteAndMaxTokensAreRead) {
  Result<InputLine> l = parse_input_line(
      R"({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
          "route": "complex", "max_tokens": 64})",
      "in:2");
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->messages.size(), 2u);
  EXPECT_EQ(l->messages[0].role, "system");
  EXPECT_EQ(l->route, "complex");
  EXPECT_EQ(l->max_tokens, 64);
}

TEST(InputLine, TierIsRead) {
  Result<InputLine> l = parse_input_line(R"({"prompt": "x", "tier": "simple"})", "in:1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->tier, "simple");
}

TEST(InputLine, BadLinesAreErrorsNamingTheLine) {
  const char* bad[] = {
      R"(not json)",
      R"([1, 2])",
      R"({})",
      R"({"prompt": "a", "messages": [{"role": "user", "content": "b"}]})",
      R"({"prompt": 5})",
      R"({"messages": []})",
      R"({"messages": [{"role": "robot", "content": "b"}]})",
      R"({"messages": [{"role": "user"}]})",
      R"({"prompt": "a", "route": "r", "tier": "t"})",
      R"({"prompt": "a", "max_tokens": 0})",
      R"({"prompt": "a", "max_tokens": 1.5})",
      R"({"prompt": "a", "temperature": 1})",
  };
  for (const char* text : bad) {
    Result<InputLine> l = parse_input_line(text, "in:7");
    ASSERT_FALSE(l) << text;
    EXPECT_EQ(l.error().where, "in:7") << text;
  }
}

}  // namespace
}  // namespace failover::transport
