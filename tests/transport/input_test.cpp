// parse_input_line (core/transport/live_input.h): the JSONL lines `failover live` reads.
#include "core/transport/live_input.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

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

TEST(ReadLine, SplitsLinesAndReportsTheEnd) {
  std::istringstream in("a\n\nbc\nlast");
  std::string line;
  EXPECT_EQ(read_line(in, line, 8), LineRead::line);
  EXPECT_EQ(line, "a");
  EXPECT_EQ(read_line(in, line, 8), LineRead::line);
  EXPECT_EQ(line, "");
  EXPECT_EQ(read_line(in, line, 8), LineRead::line);
  EXPECT_EQ(line, "bc");
  EXPECT_EQ(read_line(in, line, 8), LineRead::line);
  EXPECT_EQ(line, "last");
  EXPECT_EQ(read_line(in, line, 8), LineRead::end);
}

TEST(ReadLine, StopsAtTheLimitInsteadOfReadingTheWholeLine) {
  std::istringstream in(std::string(100, 'x') + "\n");
  std::string line;
  EXPECT_EQ(read_line(in, line, 10), LineRead::too_long);
  EXPECT_EQ(line.size(), 11u);
  std::istringstream exact(std::string(10, 'x'));
  EXPECT_EQ(read_line(exact, line, 10), LineRead::line);
}

// `failover live --input /dev/zero` grew to gigabytes: an endless line must stop at the limit.
TEST(ReadLine, EndlessInputStopsAtTheLimit) {
  std::ifstream zero("/dev/zero", std::ios::binary);
  ASSERT_TRUE(zero);
  std::string line;
  EXPECT_EQ(read_line(zero, line, kInputLineBytesMax), LineRead::too_long);
  EXPECT_EQ(line.size(), kInputLineBytesMax + 1);
}

}  // namespace
}  // namespace failover::transport
