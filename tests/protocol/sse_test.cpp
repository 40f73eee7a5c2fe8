// The event-stream parser: line endings (also split across chunks), fields, comments,
// multi-line data, the one-space rule, the byte order mark, and its limits.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/protocol/sse.h"

namespace failover::protocol {
namespace {

std::vector<SseEvent> parse_chunks(const std::vector<std::string>& chunks, bool* ok = nullptr,
                                   bool* pending = nullptr) {
  SseParser parser;
  std::vector<SseEvent> events;
  bool all_ok = true;
  for (const std::string& c : chunks) all_ok = parser.feed(c, events) && all_ok;
  if (ok != nullptr) *ok = all_ok;
  if (pending != nullptr) *pending = parser.pending();
  return events;
}

std::vector<SseEvent> parse(const std::string& body) {
  return parse_chunks({body});
}

TEST(SseParser, LfCrAndCrlfEachEndALine) {
  for (const std::string eol : {"\n", "\r", "\r\n"}) {
    const auto events = parse("event: a" + eol + "data: x" + eol + eol + "data: y" + eol + eol);
    ASSERT_EQ(events.size(), 2U) << "eol size " << eol.size();
    EXPECT_EQ(events[0].event, "a");
    EXPECT_EQ(events[0].data, "x");
    EXPECT_EQ(events[1].event, "");
    EXPECT_EQ(events[1].data, "y");
  }
}

TEST(SseParser, CrAtTheEndOfAChunkPairsWithLfAtTheStartOfTheNext) {
  bool pending = true;
  const auto events = parse_chunks({"data: x\r", "\n\r", "\n"}, nullptr, &pending);
  ASSERT_EQ(events.size(), 1U);  // CRLF CRLF: one line and one blank line, not three
  EXPECT_EQ(events[0].data, "x");
  EXPECT_FALSE(pending);
}

TEST(SseParser, CrlfCutBetweenCrAndLfInsideAMultiLineEventIsOneLineEnd) {
  const auto events = parse_chunks({"event: e\r", "\ndata: a\r", "\ndata: b\r", "\n\r", "\n"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].event, "e");
  EXPECT_EQ(events[0].data, "a\nb");
}

// The parser's own events (names, data, ids) for a recorded CRLF body are the same
// whether the body comes whole or cut at any byte.
TEST(SseParser, RecordedCrlfStreamGivesTheSameEventsAtEverySplit) {
  std::ifstream in(std::string(FAILOVER_SOURCE_DIR) + "/tests/protocol/data/anthropic_crlf.txt", std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string body = buffer.str();
  ASSERT_FALSE(body.empty());
  const auto whole = parse(body);
  ASSERT_EQ(whole.size(), 9U);
  EXPECT_EQ(whole[2].event, "ping");
  EXPECT_EQ(whole[2].id, "7");
  for (std::size_t p = 0; p <= body.size(); ++p) {
    const auto split = parse_chunks({body.substr(0, p), body.substr(p)});
    ASSERT_EQ(split.size(), whole.size()) << "split at " << p;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      ASSERT_EQ(split[i].event, whole[i].event) << "split at " << p;
      ASSERT_EQ(split[i].data, whole[i].data) << "split at " << p;
      ASSERT_EQ(split[i].id, whole[i].id) << "split at " << p;
    }
  }
}

TEST(SseParser, CrThenCrIsABlankLine) {
  const auto events = parse_chunks({"data: x\r", "\r"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, LfAfterALoneCrInAnEarlierChunkIsNotSwallowedTwice) {
  // "\r" ends the data line; the "\n" that follows is its pair; the next "\n" is blank.
  const auto events = parse_chunks({"data: x\r", "", "\n", "\n"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, DataLinesJoinWithLf) {
  const auto events = parse("data: one\ndata:two\ndata\ndata: \n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "one\ntwo\n\n");
}

TEST(SseParser, OnlyOneLeadingSpaceIsStripped) {
  const auto events = parse("data:  two spaces\nevent:   e\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, " two spaces");
  EXPECT_EQ(events[0].event, "  e");
}

TEST(SseParser, ValueKeepsColonsAfterTheFirst) {
  const auto events = parse("data: a:b: c\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "a:b: c");
}

TEST(SseParser, CommentsAndUnknownFieldsAreIgnored) {
  const auto events = parse(": keep-alive\nfoo: bar\nretry: 1000\ndata: x\n:another\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseParser, FieldWithoutColonHasAnEmptyValue) {
  const auto events = parse("data\n\ndata\ndata\n\n");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].data, "");
  EXPECT_EQ(events[1].data, "\n");
}

TEST(SseParser, EventWithoutDataIsNotDispatchedAndItsTypeDoesNotLeak) {
  const auto events = parse("event: ping\n\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].event, "");
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, IdPersistsAcrossEventsAsTheLastEventId) {
  const auto events = parse("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].id, "7");
  EXPECT_EQ(events[2].id, "");
}

TEST(SseParser, IdWithNulIsIgnored) {
  using namespace std::string_literals;
  const auto events = parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].id, "1");
}

TEST(SseParser, ByteOrderMarkAtTheStartIsSkippedEvenWhenSplit) {
  const auto events = parse_chunks({"\xEF",
                                    "\xBB\xBF"
                                    "data: x\n\n"});
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
  // Later, the same bytes are part of the field name: an unknown field.
  EXPECT_TRUE(parse("data: a\n\n\xEF\xBB\xBF"
                    "data: x\n\n")
                  .size() == 1U);
}

TEST(SseParser, PendingWhileALineOrAnEventIsUnfinished) {
  SseParser parser;
  std::vector<SseEvent> events;
  EXPECT_FALSE(parser.pending());
  ASSERT_TRUE(parser.feed("data: par", events));
  EXPECT_TRUE(parser.pending());
  ASSERT_TRUE(parser.feed("tial\n", events));
  EXPECT_TRUE(parser.pending());  // the blank line has not come
  ASSERT_TRUE(parser.feed("\n", events));
  EXPECT_FALSE(parser.pending());
  ASSERT_TRUE(parser.feed(": comment\n", events));
  EXPECT_FALSE(parser.pending());  // a finished comment is no part of an event
  EXPECT_EQ(events.size(), 1U);
}

TEST(SseParser, LineAtTheLimitIsAcceptedAndOneByteMoreFailsForGood) {
  const std::string at_limit = "data:" + std::string(kSseLineMax - 5, 'x');
  bool ok = false;
  auto events = parse_chunks({at_limit, "\n\n"}, &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data.size(), kSseLineMax - 5);

  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_TRUE(parser.feed("data: a\n\n", out));
  EXPECT_FALSE(parser.feed(at_limit + "y\n\n", out));
  EXPECT_TRUE(parser.failed());
  EXPECT_FALSE(parser.feed("data: b\n\n", out));  // stays failed, ignores input
  EXPECT_EQ(out.size(), 1U);
}

TEST(SseParser, OverlongLineFailsAlsoWhenItArrivesInPieces) {
  SseParser parser;
  std::vector<SseEvent> out;
  const std::string piece(kSseLineMax / 4, 'x');
  bool ok = true;
  for (int i = 0; i < 5 && ok; ++i) ok = parser.feed(piece, out);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(parser.failed());
  EXPECT_FALSE(parser.pending());
}

TEST(SseParser, EventDataBeyondTheLimitFails) {
  SseParser parser;
  std::vector<SseEvent> out;
  const std::string line = "data: " + std::string(kSseLineMax - 6, 'x') + "\n";
  bool ok = true;
  for (std::size_t i = 0; i <= kSseEventMax / (kSseLineMax - 6) && ok; ++i) ok = parser.feed(line, out);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(parser.failed());
  EXPECT_TRUE(out.empty());
}

TEST(SseParser, EventsBeforeAFailureInTheSameChunkAreStillDelivered) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("data: a\n\n" + std::string(kSseLineMax + 1, 'x') + "\n", out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].data, "a");
}

}  // namespace
}  // namespace failover::protocol
