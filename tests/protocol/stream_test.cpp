// Streamed answers: recorded streams of both providers (tests/protocol/data/) decode to
// the same text, usage and verdict however the body is cut into chunks; encode_stream
// round-trips through StreamDecoder; and the verdicts for cut, broken and failed streams.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/engine/prng.h"
#include "core/protocol/sse.h"

namespace failover::protocol {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(FAILOVER_SOURCE_DIR) + "/tests/protocol/data/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Everything a caller can observe of one decoded body.
struct Decoded {
  std::string fed_text;  // the concatenated return values of feed()
  ChatResponse response;
  std::optional<ErrorInfo> error;
  StreamEnd end = StreamEnd::truncated;
  bool started = false;
};

void expect_same(const Decoded& a, const Decoded& b, const std::string& how) {
  EXPECT_EQ(a.fed_text, b.fed_text) << how;
  EXPECT_EQ(a.response.text, b.response.text) << how;
  EXPECT_EQ(a.response.id, b.response.id) << how;
  EXPECT_EQ(a.response.model, b.response.model) << how;
  EXPECT_EQ(a.response.stop_reason, b.response.stop_reason) << how;
  EXPECT_EQ(a.response.usage.input_tokens, b.response.usage.input_tokens) << how;
  EXPECT_EQ(a.response.usage.output_tokens, b.response.usage.output_tokens) << how;
  EXPECT_EQ(a.response.usage.reported, b.response.usage.reported) << how;
  ASSERT_EQ(a.error.has_value(), b.error.has_value()) << how;
  if (a.error) {
    EXPECT_EQ(a.error->type, b.error->type) << how;
    EXPECT_EQ(a.error->message, b.error->message) << how;
  }
  EXPECT_EQ(a.end, b.end) << how;
  EXPECT_EQ(a.started, b.started) << how;
}

Decoded decode_chunks(Protocol protocol, std::string_view body, const std::vector<std::size_t>& cuts) {
  StreamDecoder decoder(protocol);
  Decoded d;
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    d.fed_text += decoder.feed(body.substr(prev, cut - prev));
    prev = cut;
  }
  d.fed_text += decoder.feed(body.substr(prev));
  d.response = decoder.response();
  d.error = decoder.error();
  d.end = decoder.finish();
  d.started = decoder.started();
  return d;
}

Decoded decode_whole(Protocol protocol, std::string_view body) {
  return decode_chunks(protocol, body, {});
}

// Whole, split at every byte position, byte by byte, and in 200 random chunkings.
void expect_split_invariant(Protocol protocol, const std::string& body) {
  const Decoded whole = decode_whole(protocol, body);
  for (std::size_t p = 0; p <= body.size(); ++p) {
    expect_same(whole, decode_chunks(protocol, body, {p}), "split at " + std::to_string(p));
    if (::testing::Test::HasFailure()) return;
  }
  std::vector<std::size_t> every;
  for (std::size_t p = 1; p < body.size(); ++p) every.push_back(p);
  expect_same(whole, decode_chunks(protocol, body, every), "byte by byte");
  Prng prng(20'260'601);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::size_t> cuts;
    std::size_t p = 0;
    while (p < body.size()) {  // at least one byte per chunk: at most body.size() cuts
      p += 1 + prng.below(64);
      if (p < body.size()) cuts.push_back(p);
    }
    expect_same(whole, decode_chunks(protocol, body, cuts), "random round " + std::to_string(round));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(RecordedStream, OpenAiDecodesTextUsageAndCompletes) {
  const std::string body = read_data("openai_stream.txt");
  const Decoded d = decode_whole(Protocol::openai, body);
  EXPECT_EQ(d.fed_text, "The capital of France is Paris.");
  EXPECT_EQ(d.response.text, d.fed_text);
  EXPECT_EQ(d.response.id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  EXPECT_EQ(d.response.model, "gpt-4o-2024-08-06");
  EXPECT_EQ(d.response.stop_reason, "stop");
  EXPECT_TRUE(d.response.usage.reported);
  EXPECT_EQ(d.response.usage.input_tokens, 24);
  EXPECT_EQ(d.response.usage.output_tokens, 8);
  EXPECT_EQ(d.end, StreamEnd::complete);
  EXPECT_TRUE(d.started);
  expect_split_invariant(Protocol::openai, body);
}

TEST(RecordedStream, AnthropicDecodesTextUsageAndCompletes) {
  const std::string body = read_data("anthropic_stream.txt");
  const Decoded d = decode_whole(Protocol::anthropic, body);
  EXPECT_EQ(d.fed_text, "Hello! How can I help you today?");
  EXPECT_EQ(d.response.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
  EXPECT_EQ(d.response.model, "claude-sonnet-4-20250514");
  EXPECT_EQ(d.response.stop_reason, "end_turn");
  EXPECT_TRUE(d.response.usage.reported);
  EXPECT_EQ(d.response.usage.input_tokens, 25);
  EXPECT_EQ(d.response.usage.output_tokens, 15);  // the last message_delta, not message_start's 1
  EXPECT_EQ(d.end, StreamEnd::complete);
  expect_split_invariant(Protocol::anthropic, body);
}

TEST(RecordedStream, CrlfLineEndingsDecodeLikeLf) {
  const std::string body = read_data("anthropic_crlf.txt");
  ASSERT_NE(body.find("\r\n"), std::string::npos);
  const Decoded lf = decode_whole(Protocol::anthropic, read_data("anthropic_stream.txt"));
  const Decoded crlf = decode_whole(Protocol::anthropic, body);
  expect_same(lf, crlf, "crlf vs lf");
  expect_split_invariant(Protocol::anthropic, body);
}

TEST(RecordedStream, MultiByteUtf8SurvivesEverySplit) {
  const std::string body = read_data("openai_utf8.txt");
  const Decoded d = decode_whole(Protocol::openai, body);
  EXPECT_EQ(d.fed_text, "h\xC3\xA9llo \xE2\x80\x94 \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x8E\x89");  // héllo — 世界 🎉
  EXPECT_EQ(d.response.usage.input_tokens, 9);
  EXPECT_EQ(d.response.usage.output_tokens, 6);
  EXPECT_EQ(d.end, StreamEnd::complete);
  expect_split_invariant(Protocol::openai, body);
}

TEST(RecordedStream, AnthropicErrorEventEndsTheStreamWithError) {
  const std::string body = read_data("anthropic_error.txt");
  const Decoded d = decode_whole(Protocol::anthropic, body);
  EXPECT_EQ(d.fed_text, "Hello");
  EXPECT_EQ(d.end, StreamEnd::error);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->type, "overloaded_error");
  EXPECT_EQ(d.error->message, "Overloaded");
  EXPECT_TRUE(d.response.usage.reported);
  EXPECT_EQ(d.response.usage.input_tokens, 25);
  expect_split_invariant(Protocol::anthropic, body);
}

TEST(RecordedStream, CutMidEventIsTruncated) {
  const std::string body = read_data("openai_cut.txt");
  const Decoded d = decode_whole(Protocol::openai, body);
  EXPECT_EQ(d.fed_text, "The capital of");
  EXPECT_EQ(d.end, StreamEnd::truncated);
  EXPECT_FALSE(d.response.usage.reported);
  EXPECT_TRUE(d.started);
  expect_split_invariant(Protocol::openai, body);
}

TEST(RecordedStream, EveryPrefixOfACompleteStreamIsTruncated) {
  for (const auto& [protocol, name] :
       {std::pair{Protocol::openai, "openai_stream.txt"}, std::pair{Protocol::anthropic, "anthropic_stream.txt"}}) {
    const std::string body = read_data(name);
    for (std::size_t p = 0; p < body.size(); ++p) {
      // The last byte of the body is the blank line after the end marker.
      ASSERT_EQ(decode_whole(protocol, std::string_view(body).substr(0, p)).end, StreamEnd::truncated)
          << name << " prefix " << p;
    }
  }
}

// ---- encode_stream round trips -------------------------------------------------

ChatResponse sample_response(std::string text) {
  ChatResponse r;
  r.id = "resp-1";
  r.model = "model-a";
  r.text = std::move(text);
  r.stop_reason = "stop";
  r.usage = Usage{120, 45, true};
  return r;
}

void expect_stream_round_trip(Protocol protocol, const ChatResponse& r, std::size_t pieces) {
  const std::vector<std::string> events = encode_stream(protocol, r, pieces);
  StreamDecoder decoder(protocol);
  std::string fed;
  for (const std::string& e : events) {
    ASSERT_TRUE(e.ends_with("\n\n")) << e;
    fed += decoder.feed(e);
  }
  const std::string how =
      std::string(protocol == Protocol::openai ? "openai" : "anthropic") + " pieces " + std::to_string(pieces);
  EXPECT_EQ(decoder.finish(), StreamEnd::complete) << how;
  EXPECT_EQ(fed, r.text) << how;
  EXPECT_EQ(decoder.response().text, r.text) << how;
  EXPECT_EQ(decoder.response().id, r.id) << how;
  EXPECT_EQ(decoder.response().model, r.model) << how;
  EXPECT_EQ(decoder.response().stop_reason, r.stop_reason) << how;
  EXPECT_EQ(decoder.response().usage.reported, r.usage.reported) << how;
  if (r.usage.reported) {
    EXPECT_EQ(decoder.response().usage.input_tokens, r.usage.input_tokens) << how;
    EXPECT_EQ(decoder.response().usage.output_tokens, r.usage.output_tokens) << how;
  }
}

TEST(EncodeStream, RoundTripsThroughTheDecoderForBothProtocols) {
  for (Protocol protocol : {Protocol::openai, Protocol::anthropic}) {
    for (std::size_t pieces : {1U, 2U, 7U, 100U}) {
      expect_stream_round_trip(protocol, sample_response("The quick brown fox jumps over the lazy dog."), pieces);
      expect_stream_round_trip(protocol, sample_response("h\xC3\xA9llo \xE2\x80\x94 \xF0\x9F\x8E\x89 \"q\"\n\\"),
                               pieces);
    }
  }
}

TEST(EncodeStream, WithoutUsageOrStopReasonOrText) {
  ChatResponse r = sample_response("");
  r.usage = Usage{};
  r.stop_reason.clear();
  for (Protocol protocol : {Protocol::openai, Protocol::anthropic}) expect_stream_round_trip(protocol, r, 3);
}

TEST(EncodeStream, SplitsIntoTheAskedPiecesWithoutCuttingUtf8) {
  const std::string text = "\xF0\x9F\x8E\x89\xF0\x9F\x8E\x89\xF0\x9F\x8E\x89";  // three 4-byte emoji
  const auto events = encode_stream(Protocol::anthropic, sample_response(text), 5);
  std::size_t deltas = 0;
  for (const std::string& e : events) deltas += e.starts_with("event: content_block_delta\n") ? 1U : 0U;
  EXPECT_EQ(deltas, 5U);
  expect_stream_round_trip(Protocol::anthropic, sample_response(text), 5);
  // Zero pieces means one; a huge count is capped.
  EXPECT_EQ(encode_stream(Protocol::openai, sample_response("x"), 0).size(), 5U);  // role, x, stop, usage, DONE
}

TEST(EncodeStream, OpenAiEndsWithUsageChunkThenDone) {
  const auto events = encode_stream(Protocol::openai, sample_response("hi"), 1);
  ASSERT_GE(events.size(), 3U);
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
  EXPECT_NE(events[events.size() - 2].find(R"("choices":[],"usage":{"prompt_tokens":120)"), std::string::npos);
}

// ---- verdicts ------------------------------------------------------------------

TEST(StreamDecoder, EmptyBodyIsTruncatedAndNotStarted) {
  StreamDecoder d(Protocol::openai);
  EXPECT_EQ(d.feed(""), "");
  EXPECT_FALSE(d.started());
  EXPECT_EQ(d.finish(), StreamEnd::truncated);
}

TEST(StreamDecoder, StartedAfterTheFirstEvent) {
  StreamDecoder d(Protocol::anthropic);
  d.feed(": hello\n\nevent: ping\n");
  EXPECT_FALSE(d.started());
  d.feed("data: {\"type\":\"ping\"}\n\n");
  EXPECT_TRUE(d.started());
  EXPECT_EQ(d.finish(), StreamEnd::truncated);
}

TEST(StreamDecoder, OpenAiNonJsonDataIsMalformedAndTheRestIgnored) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
  EXPECT_EQ(d.feed("data: not json\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"), "");
  EXPECT_EQ(d.feed("data: [DONE]\n\n"), "");
  EXPECT_EQ(d.finish(), StreamEnd::malformed);
  EXPECT_EQ(d.response().text, "a");
}

TEST(StreamDecoder, OpenAiChunkWithoutChoicesIsMalformed) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: {\"id\":\"x\"}\n\n");
  EXPECT_EQ(d.finish(), StreamEnd::malformed);
}

TEST(StreamDecoder, OpenAiWrongKindsAreMalformed) {
  for (const char* data : {R"({"choices":[{"delta":{"content":5}}]})", R"({"choices":{}})", R"({"choices":[7]})",
                           R"({"choices":[],"usage":{"prompt_tokens":-1,"completion_tokens":1}})",
                           R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1.5}})",
                           R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":100000001}})", "[1]",
                           R"({"choices":[{"finish_reason":3}]})"}) {
    StreamDecoder d(Protocol::openai);
    d.feed(std::string("data: ") + data + "\n\ndata: [DONE]\n\n");
    EXPECT_EQ(d.finish(), StreamEnd::malformed) << data;
  }
}

TEST(StreamDecoder, OpenAiErrorObjectMidStreamIsAnError) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
  d.feed("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n");
  EXPECT_EQ(d.feed("data: [DONE]\n\n"), "");
  EXPECT_EQ(d.finish(), StreamEnd::error);
  ASSERT_TRUE(d.error().has_value());
  EXPECT_EQ(d.error()->type, "server_error");
}

TEST(StreamDecoder, AnthropicEventNameMustMatchItsType) {
  StreamDecoder d(Protocol::anthropic);
  d.feed("event: message_stop\ndata: {\"type\":\"ping\"}\n\n");
  EXPECT_EQ(d.finish(), StreamEnd::malformed);
}

TEST(StreamDecoder, AnthropicBadEventsAreMalformed) {
  for (const char* data :
       {R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}})",
        R"({"type":"content_block_delta","index":0,"delta":"x"})",
        R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-3}})",
        R"({"type":"message_start","message":{"usage":{"input_tokens":"12"}}})", R"({"type":"error"})",
        R"({"text":"no type"})", "plain text"}) {
    StreamDecoder d(Protocol::anthropic);
    d.feed(std::string("data: ") + data + "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    EXPECT_EQ(d.finish(), StreamEnd::malformed) << data;
  }
}

TEST(StreamDecoder, AnthropicUnknownEventsAndNonTextBlocksAreSkipped) {
  StreamDecoder d(Protocol::anthropic);
  const std::string text = d.feed(
      "event: future_event\ndata: {\"type\":\"future_event\",\"x\":1}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"answer\"}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  EXPECT_EQ(text, "answer");
  EXPECT_EQ(d.finish(), StreamEnd::complete);
  EXPECT_FALSE(d.response().usage.reported);
}

// The answer begins with its first content of any kind -- text, a tool call, reasoning --
// not with an opening event: a driver commits a stream there (Engine::on_first_byte).
TEST(StreamDecoder, AToolCallOrReasoningBeginsTheAnswerWithoutText) {
  StreamDecoder openai(Protocol::openai);
  openai.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
  EXPECT_TRUE(openai.started());
  EXPECT_FALSE(openai.answering()) << "a role chunk is an opening, not content";
  EXPECT_EQ(openai.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                        "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n"),
            "");
  EXPECT_TRUE(openai.answering());

  StreamDecoder reasoning(Protocol::openai);
  reasoning.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[]}}]}\n\n");
  EXPECT_FALSE(reasoning.answering()) << "an empty tool_calls list is no call";
  reasoning.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Let me think\"}}]}\n\n");
  EXPECT_TRUE(reasoning.answering());

  StreamDecoder tool(Protocol::anthropic);
  tool.feed(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
  EXPECT_FALSE(tool.answering()) << "message_start and an empty text block are openings";
  tool.feed(
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
      "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n");
  EXPECT_TRUE(tool.answering());

  StreamDecoder thinking(Protocol::anthropic);
  thinking.feed(
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n");
  EXPECT_TRUE(thinking.answering());
  EXPECT_EQ(thinking.response().text, "");

  StreamDecoder error(Protocol::anthropic);
  error.feed("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n");
  EXPECT_FALSE(error.answering()) << "an error is no answer";
}

TEST(StreamDecoder, BytesAfterTheEndMarkerWithoutABlankLineMakeItTruncated) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: [DONE]\n\n");
  EXPECT_EQ(d.finish(), StreamEnd::complete);
  d.feed("data: {\"cho");
  EXPECT_EQ(d.finish(), StreamEnd::truncated);
}

TEST(StreamDecoder, EventsAfterTheEndMarkerAreIgnored) {
  StreamDecoder d(Protocol::openai);
  EXPECT_EQ(d.feed("data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n"), "");
  EXPECT_EQ(d.finish(), StreamEnd::complete);
  EXPECT_EQ(d.response().text, "");
}

TEST(StreamDecoder, DoneWithoutTheBlankLineIsTruncated) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: [DONE]\n");
  EXPECT_EQ(d.finish(), StreamEnd::truncated);
}

TEST(StreamDecoder, TextBeyondTheBodyLimitIsMalformed) {
  StreamDecoder d(Protocol::anthropic);
  const std::string piece(kSseLineMax - 200, 'x');  // one delta event fits a line
  std::string event = R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")";
  event += piece;
  event += "\"}}\n\n";
  std::size_t events = 0;
  while (d.finish() != StreamEnd::malformed && events <= kBodyMax / piece.size()) {
    d.feed(event);
    ++events;
  }
  EXPECT_EQ(d.finish(), StreamEnd::malformed);
  EXPECT_EQ(events, kBodyMax / piece.size() + 1);
  EXPECT_LE(d.response().text.size(), kBodyMax);
}

TEST(StreamDecoder, AnOverlongLineIsMalformed) {
  StreamDecoder d(Protocol::openai);
  d.feed("data: " + std::string(kSseLineMax, 'x'));
  EXPECT_EQ(d.finish(), StreamEnd::malformed);
}

}  // namespace
}  // namespace failover::protocol
