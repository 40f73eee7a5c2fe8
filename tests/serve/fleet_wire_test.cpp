// serve/fleet_wire.h without sockets: the token estimate, the answer text, Retry-After
// rounding under a time scale, and the plans for each outcome -- times in order,
// streams paced between first byte and done, cut streams that never carry their end.
#include "serve/fleet_wire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/protocol/codec.h"
#include "core/protocol/retry_after.h"
#include "core/protocol/sse.h"

namespace failover::serve {
namespace {

WireRequest request(Protocol protocol, std::int64_t output_tokens, bool stream) {
  WireRequest w;
  w.protocol = protocol;
  w.model = "m";
  w.prompt_tokens = 10;
  w.output_tokens = output_tokens;
  w.answer_tokens = output_tokens;
  w.stream = stream;
  w.sequence = 1;
  w.request_id = request_id(1, 1);
  return w;
}

sim::Reply success(Time first, Time done, std::int64_t tokens) {
  sim::Reply r;
  r.first_byte_at = first;
  r.done_at = done;
  r.outcome = Outcome::ok(Usage{10, tokens, true});
  r.holds_slot = true;
  r.tokens_delivered = tokens;
  return r;
}

// The body of a plan: its bytes after the head, with chunk framing removed.
std::string dechunk(const WirePlan& plan) {
  std::string raw;
  for (const WireStep& s : plan.steps) raw += s.bytes;
  std::string body;
  std::size_t at = raw.find("\r\n\r\n");
  EXPECT_NE(at, std::string::npos);
  at += 4;
  while (at < raw.size()) {
    const std::size_t eol = raw.find("\r\n", at);
    if (eol == std::string::npos) break;
    const std::size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    if (size == 0) break;
    body += raw.substr(eol + 2, size);
    at = eol + 2 + size + 2;
  }
  return body;
}

TEST(FleetWire, EstimatesPromptTokensAsAQuarterOfTheBytesRoundedUp) {
  protocol::ChatRequest r;
  r.messages.push_back({"user", "hello world!"});  // 4 + 12 bytes
  EXPECT_EQ(estimate_prompt_tokens(r), 4);
  r.messages.push_back({"system", "x"});  // 7 more: 23 bytes
  EXPECT_EQ(estimate_prompt_tokens(r), 6);
  r.messages.clear();
  EXPECT_EQ(estimate_prompt_tokens(r), 1);
}

TEST(FleetWire, WritesOneWordPerOutputToken) {
  EXPECT_EQ(answer_text(1), "the");
  EXPECT_EQ(answer_text(3), "the fleet answers");
  const std::string long_text = answer_text(1'000);
  EXPECT_EQ(static_cast<std::int64_t>(std::count(long_text.begin(), long_text.end(), ' ')), 999);
}

TEST(FleetWire, DividesRetryAfterByTheTimeScaleRoundingUpAndNeverContradictsItself) {
  // 30 s at K = 20 is 1.5 s: retry-after cannot say it, so only retry-after-ms does.
  const auto h = retry_after_headers(sec(30), 20);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].name, "retry-after-ms");
  EXPECT_EQ(h[0].value, "1500");
  const auto whole = retry_after_headers(sec(30), 10);
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0].name, "retry-after");
  EXPECT_EQ(whole[0].value, "3");
  EXPECT_EQ(whole[1].value, "3000");
  EXPECT_EQ(retry_after_headers(sec(1), 1)[0].value, "1");
  EXPECT_EQ(retry_after_headers(sec(1), 1)[1].value, "1000");
  EXPECT_EQ(retry_after_headers(sec(1), 10).size(), 1u);  // the issue's 1 s vs 300 ms case cannot arise
  EXPECT_EQ(retry_after_headers(us(1'001), 1)[0].value, "2");
  EXPECT_EQ(retry_after_headers(ms(1), 1'000)[0].value, "1");  // 1 µs is still a wait
  EXPECT_EQ(retry_after_headers(Duration{0}, 7)[0].value, "0");
  EXPECT_EQ(retry_after_headers(Duration{0}, 7)[1].value, "0");
}

TEST(FleetWire, NamesRequestsWithIdsUniqueToTheFleetAndTheRequest) {
  EXPECT_EQ(request_id(7, 1), "req_00000000000000070000000000000001");
  EXPECT_NE(request_id(7, 2), request_id(7, 1));
  EXPECT_NE(request_id(8, 1), request_id(7, 1));
  EXPECT_EQ(request_id_header(Protocol::openai, "req_x").name, "x-request-id");
  EXPECT_EQ(request_id_header(Protocol::anthropic, "req_x").name, "request-id");
}

TEST(FleetWire, WritesResetsAsGoDurationsAndRfc3339Times) {
  EXPECT_EQ(go_duration(Duration{0}), "0s");
  EXPECT_EQ(go_duration(us(1)), "1ms");
  EXPECT_EQ(go_duration(ms(999)), "999ms");
  EXPECT_EQ(go_duration(sec(1)), "1s");
  EXPECT_EQ(go_duration(ms(1'500)), "1.5s");
  EXPECT_EQ(go_duration(ms(1'050)), "1.05s");
  EXPECT_EQ(go_duration(sec(360)), "6m0s");
  EXPECT_EQ(go_duration(sec(3'600) + ms(250)), "1h0m0.25s");
  EXPECT_EQ(rfc3339_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(1'735'689'600), "2025-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(1'709'251'199), "2024-02-29T23:59:59Z");
  // What we send is what the engine reads back.
  for (const Duration d : {ms(1), ms(999), sec(1), ms(1'500), sec(360), sec(3'600) + ms(250)}) {
    const std::vector<protocol::Header> h{{"x-ratelimit-reset-requests", go_duration(d)}};
    EXPECT_EQ(protocol::retry_after_from_headers(h, 0), d) << go_duration(d);
  }
}

TEST(FleetWire, ReportsEachLimitInTheProtocolsHeadersWithResetsScaledByK) {
  sim::RateLimitState s;
  s.requests = {600, 599, ms(100)};
  s.tokens = {10'000, 9'000, sec(6)};
  const auto find = [](const std::vector<protocol::Header>& hs, const std::string& name) {
    for (const protocol::Header& h : hs) {
      if (h.name == name) return h.value;
    }
    return std::string("(absent)");
  };
  const std::vector<protocol::Header> oa = rate_limit_headers(Protocol::openai, s, 2, 0);
  EXPECT_EQ(oa.size(), 6u);
  EXPECT_EQ(find(oa, "x-ratelimit-limit-requests"), "600");
  EXPECT_EQ(find(oa, "x-ratelimit-remaining-requests"), "599");
  EXPECT_EQ(find(oa, "x-ratelimit-reset-requests"), "50ms");
  EXPECT_EQ(find(oa, "x-ratelimit-limit-tokens"), "10000");
  EXPECT_EQ(find(oa, "x-ratelimit-remaining-tokens"), "9000");
  EXPECT_EQ(find(oa, "x-ratelimit-reset-tokens"), "3s");
  // 2026-12-06T18:00:00Z plus the resets at K = 2: 50 ms (rounded up to the second) and 3 s.
  const std::int64_t now_ms = 1'796'580'000'000;
  const std::vector<protocol::Header> an = rate_limit_headers(Protocol::anthropic, s, 2, now_ms);
  EXPECT_EQ(an.size(), 6u);
  EXPECT_EQ(find(an, "anthropic-ratelimit-requests-limit"), "600");
  EXPECT_EQ(find(an, "anthropic-ratelimit-requests-remaining"), "599");
  EXPECT_EQ(find(an, "anthropic-ratelimit-requests-reset"), "2026-12-06T18:00:01Z");
  EXPECT_EQ(find(an, "anthropic-ratelimit-tokens-limit"), "10000");
  EXPECT_EQ(find(an, "anthropic-ratelimit-tokens-remaining"), "9000");
  EXPECT_EQ(find(an, "anthropic-ratelimit-tokens-reset"), "2026-12-06T18:00:03Z");
  // A provider without a TPM limit sends only its RPM headers; without either, none.
  s.tokens = {};
  EXPECT_EQ(rate_limit_headers(Protocol::openai, s, 1, 0).size(), 3u);
  EXPECT_TRUE(rate_limit_headers(Protocol::anthropic, sim::RateLimitState{}, 1, now_ms).empty());
}

TEST(FleetWire, StopsAtTheTokenLimitWithTheProtocolsReason) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    WireRequest w = request(p, 10, false);
    w.created = 1'796'580'000;
    EXPECT_EQ(answer(w).stop_reason, p == Protocol::openai ? "length" : "max_tokens");
    w.answer_tokens = 9;
    const protocol::ChatResponse r = answer(w);
    EXPECT_EQ(r.stop_reason, p == Protocol::openai ? "stop" : "end_turn");
    EXPECT_EQ(r.text, answer_text(9));
    EXPECT_EQ(r.usage.output_tokens, 9);
    const std::string body = protocol::encode_response(p, r);
    if (p == Protocol::openai) {
      EXPECT_NE(body.find(R"("created":1796580000)"), std::string::npos) << body;
      EXPECT_NE(body.find(R"("system_fingerprint":"fp_)"), std::string::npos) << body;
      EXPECT_NE(body.find(R"("completion_tokens_details":{"reasoning_tokens":0)"), std::string::npos) << body;
    } else {
      EXPECT_NE(body.find(R"("stop_sequence":null)"), std::string::npos) << body;
      EXPECT_NE(body.find(R"("cache_read_input_tokens":0)"), std::string::npos) << body;
    }
  }
}

TEST(FleetWire, SendsTheOpenAiUsageChunkOnlyWhenTheClientAskedForIt) {
  for (const bool asked : {false, true}) {
    WireRequest w = request(Protocol::openai, 5, true);
    w.include_usage = asked;
    const std::string body = dechunk(plan_reply(w, success(at_us(1), at_us(2), 5), at_us(0)));
    protocol::StreamDecoder d(Protocol::openai);
    EXPECT_EQ(d.feed(body), answer_text(5));
    EXPECT_EQ(d.finish(), protocol::StreamEnd::complete);
    EXPECT_EQ(d.response().usage.reported, asked);
    // Every chunk but [DONE] has choices[0] unless it is the usage chunk.
    EXPECT_EQ(body.find(R"("choices":[])") != std::string::npos, asked) << body;
    EXPECT_EQ(body.find(R"("usage":null)") != std::string::npos, asked) << body;
  }
}

TEST(FleetWire, ReadsTheFirstToolARequestOffersUnlessToolChoiceIsNone) {
  EXPECT_EQ(
      requested_tool(
          Protocol::openai,
          R"({"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"b"}}]})"),
      "get_weather");
  EXPECT_EQ(requested_tool(Protocol::anthropic, R"({"tools":[{"name":"get_weather","input_schema":{}}]})"),
            "get_weather");
  EXPECT_EQ(requested_tool(Protocol::openai,
                           R"({"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"})"),
            "");
  EXPECT_EQ(requested_tool(Protocol::anthropic, R"({"tools":[{"name":"f"}],"tool_choice":{"type":"none"}})"), "");
  EXPECT_EQ(requested_tool(Protocol::anthropic, R"({"messages":[]})"), "");
  EXPECT_EQ(requested_tool(Protocol::openai, "not json"), "");
}

TEST(FleetWire, CallsTheOfferedToolAfterTheTextStreamedInFragmentsOrWhole) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    for (const bool asked : {false, true}) {
      WireRequest w = request(p, 5, true);
      w.include_usage = asked;
      w.tool = "get_weather";
      const std::string body = dechunk(plan_reply(w, success(at_us(1), at_us(2), 5), at_us(0)));
      protocol::StreamDecoder d(p);
      EXPECT_EQ(d.feed(body), answer_text(5));
      EXPECT_EQ(d.finish(), protocol::StreamEnd::complete) << body;
      const std::string stop = p == Protocol::openai ? "tool_calls" : "tool_use";
      EXPECT_EQ(d.response().stop_reason, stop);
      const std::size_t start = body.find(p == Protocol::openai ? R"("id":"call_fleet_1","type":"function")"
                                                                : R"({"type":"tool_use","id":"toolu_fleet_1")");
      const std::size_t fragment = body.find(R"(\"Paris\", \"days\")");
      const std::size_t stopped =
          body.find((p == Protocol::openai ? R"("finish_reason":")" : R"("stop_reason":")") + stop + "\"");
      ASSERT_NE(start, std::string::npos) << body;
      ASSERT_NE(fragment, std::string::npos) << body;
      EXPECT_LT(body.rfind(p == Protocol::openai ? R"({"content":")" : R"("type":"text_delta")"), start)
          << "after the text";
      EXPECT_LT(start, fragment);
      EXPECT_LT(fragment, stopped) << "before the stop reason";
    }
    WireRequest whole = request(p, 5, false);
    whole.tool = "get_weather";
    const WirePlan plan = plan_reply(whole, success(at_us(1), at_us(2), 5), at_us(0));
    ASSERT_EQ(plan.steps.size(), 1U);
    const std::string& raw = plan.steps.back().bytes;
    const std::string json = raw.substr(raw.find("\r\n\r\n") + 4);
    const Result<protocol::ChatResponse> decoded = protocol::decode_response(p, json);
    ASSERT_TRUE(decoded.has_value()) << json;
    EXPECT_EQ(decoded->text, answer_text(5));
    EXPECT_NE(
        json.find(
            p == Protocol::openai
                ? R"("tool_calls":[{"id":"call_fleet_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\", \"days\": 3}"}}])"
                : R"({"type":"tool_use","id":"toolu_fleet_1","name":"get_weather","input":{"city":"Paris","days":3}})"),
        std::string::npos)
        << json;
  }
}

TEST(FleetWire, DrawsAnswerLengthsFromTheTrafficMixCappedByMaxTokens) {
  sim::TrafficSpec traffic;
  sim::TrafficClass short_answers;
  short_answers.weight = 3;
  short_answers.output_tokens = sim::TokenDist::uniform(5, 15);
  sim::TrafficClass long_answers;
  long_answers.weight = 1;
  long_answers.output_tokens = sim::TokenDist::constant(400);
  traffic.classes = {short_answers, long_answers};
  AnswerLengths a(traffic, 7);
  AnswerLengths same(traffic, 7);
  AnswerLengths other(traffic, 8);
  int capped = 0;
  int shorts = 0;
  bool differs = false;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t n = a.next(100);
    EXPECT_EQ(n, same.next(100));
    differs = differs || n != other.next(100);
    if (n == 100) {
      ++capped;
    } else {
      ASSERT_GE(n, 5);
      ASSERT_LE(n, 15);
      ++shorts;
    }
  }
  EXPECT_TRUE(differs);
  // Weights 3:1 over 400 draws: about 100 long answers (capped at 100), 300 short.
  EXPECT_GT(capped, 60);
  EXPECT_LT(capped, 140);
  EXPECT_EQ(capped + shorts, 400);
  EXPECT_EQ(AnswerLengths(sim::TrafficSpec{}, 1).next(33), 33);  // no classes: max_tokens
}

TEST(FleetWire, ListsModelsInEachProtocolsShape) {
  std::vector<ModelConfig> models(2);
  models[0].id = "m-one";
  models[1].id = "m-two";
  const std::string oa = models_body(Protocol::openai, models);
  EXPECT_NE(oa.find(R"("object": "list")"), std::string::npos) << oa;
  EXPECT_NE(oa.find(R"("id": "m-two", "object": "model")"), std::string::npos) << oa;
  const std::string an = models_body(Protocol::anthropic, models);
  EXPECT_NE(an.find(R"("type": "model", "id": "m-one")"), std::string::npos) << an;
  EXPECT_NE(an.find(R"("has_more": false)"), std::string::npos) << an;
  EXPECT_NE(an.find(R"("last_id": "m-two")"), std::string::npos) << an;
  EXPECT_NE(model_body(Protocol::anthropic, models[1]).find(R"("created_at": "2025-01-01T00:00:00Z")"),
            std::string::npos);
}

TEST(FleetWire, SendsANonStreamedAnswerWholeAtDone) {
  const WireRequest w = request(Protocol::openai, 5, false);
  const WirePlan plan = plan_reply(w, success(at_us(900), at_us(900), 5), at_us(100));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].at, at_us(900));
  EXPECT_EQ(plan.end, WireEnd::keep_alive);
  const std::string& bytes = plan.steps[0].bytes;
  EXPECT_EQ(bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  const std::string body = bytes.substr(bytes.find("\r\n\r\n") + 4);
  EXPECT_NE(bytes.find("content-length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  const Result<protocol::ChatResponse> r = protocol::decode_response(Protocol::openai, body);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->usage.input_tokens, 10);
  EXPECT_EQ(r->usage.output_tokens, 5);
}

TEST(FleetWire, PacesAStreamFromFirstByteToDone) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    const WireRequest w = request(p, 500, true);
    const WirePlan plan = plan_reply(w, success(at_us(1'000), at_us(101'000), 500), at_us(0));
    ASSERT_GE(plan.steps.size(), kStreamPiecesMax);
    EXPECT_LE(plan.steps.size(), kStreamPiecesMax + 8);
    EXPECT_EQ(plan.steps.front().at, at_us(1'000));
    EXPECT_EQ(plan.steps.back().at, at_us(101'000));
    for (std::size_t i = 1; i < plan.steps.size(); ++i) EXPECT_GE(plan.steps[i].at, plan.steps[i - 1].at);
    EXPECT_EQ(plan.steps.back().bytes.substr(plan.steps.back().bytes.size() - 5), "0\r\n\r\n");
    protocol::StreamDecoder d(p);
    EXPECT_EQ(d.feed(dechunk(plan)), answer_text(500));
    EXPECT_EQ(d.finish(), protocol::StreamEnd::complete);
  }
}

TEST(FleetWire, MergesPacedStepsCloserThanTheWriteGapKeepingFirstAndLast) {
  // 100 ms of scenario time at K = 10 is 10 ms real: a 2 ms real gap leaves about 5
  // writes of the ~68 steps, the bytes in order, the head and the end at their times.
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    WireRequest w = request(p, 500, true);
    const WirePlan paced = plan_reply(w, success(at_us(1'000), at_us(101'000), 500), at_us(0));
    w.time_scale = 10;
    w.write_gap = ms(2);
    const WirePlan merged = plan_reply(w, success(at_us(1'000), at_us(101'000), 500), at_us(0));
    ASSERT_GE(merged.steps.size(), 2u);
    EXPECT_LE(merged.steps.size(), 7u);
    EXPECT_EQ(merged.steps.front().at, at_us(1'000));
    EXPECT_EQ(merged.steps.back().at, at_us(101'000));
    for (std::size_t i = 1; i + 1 < merged.steps.size(); ++i) {
      EXPECT_GE(merged.steps[i].at - merged.steps[i - 1].at, ms(20));  // the gap in scenario time
    }
    std::string paced_bytes;
    for (const WireStep& s : paced.steps) paced_bytes += s.bytes;
    std::string merged_bytes;
    for (const WireStep& s : merged.steps) merged_bytes += s.bytes;
    EXPECT_EQ(merged_bytes, paced_bytes);
    EXPECT_EQ(merged.end, paced.end);
  }
}

TEST(FleetWire, NeverMergesTheLastStepEarlierAndKeepsShortPlans) {
  WirePlan plan;
  plan.steps = {{at_us(0), "a"}, {at_us(5), "b"}, {at_us(6), "c"}, {at_us(7), "d"}};
  const WirePlan merged = coalesce_steps(plan, us(100));
  ASSERT_EQ(merged.steps.size(), 2u);
  EXPECT_EQ(merged.steps[0].at, at_us(0));
  EXPECT_EQ(merged.steps[0].bytes, "abc");
  EXPECT_EQ(merged.steps[1].at, at_us(7));
  EXPECT_EQ(merged.steps[1].bytes, "d");
  EXPECT_EQ(coalesce_steps(plan, Duration{0}).steps.size(), 4u);  // no gap: a write per step
  const WirePlan spaced = coalesce_steps(plan, us(5));            // b is 5 after a: kept
  ASSERT_EQ(spaced.steps.size(), 3u);
  EXPECT_EQ(spaced.steps[1].bytes, "bc");
  plan.steps.resize(2);
  EXPECT_EQ(coalesce_steps(plan, us(100)).steps.size(), 2u);
}

TEST(FleetWire, CutsAStreamBeforeItsEndAtEveryCutPoint) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    for (const std::int64_t output : {1, 2, 7, 64, 300}) {
      for (std::int64_t cut = 0; cut < output; cut += 1 + output / 5) {
        const WireRequest w = request(p, output, true);
        sim::Reply r = success(at_us(10), at_us(10 + cut), output);
        r.outcome = Outcome::of(OutcomeKind::truncated);
        r.tokens_delivered = cut;
        const WirePlan plan = plan_reply(w, r, at_us(0));
        EXPECT_EQ(plan.end, WireEnd::cut);
        EXPECT_EQ(plan.steps.back().at, at_us(10 + cut));
        protocol::StreamDecoder d(p);
        d.feed(dechunk(plan));
        EXPECT_EQ(d.finish(), protocol::StreamEnd::truncated) << "output " << output << " cut " << cut;
      }
    }
  }
}

// A reply broken by a stream fault after `tokens` of a 40-token answer.
sim::Reply broken(sim::StreamBreak how, std::int64_t tokens, Outcome outcome) {
  sim::Reply r = success(at_us(1'000), at_us(1'000 + 100 * tokens), 40);
  r.first_byte_at = tokens > 0 ? at_us(1'000) : kTimeNever;
  r.outcome = outcome;
  r.stream_break = how;
  r.break_after_tokens = tokens;
  r.tokens_delivered = tokens;
  return r;
}

// The first `n` words of the answer text (what a client has when the stream breaks).
std::string first_words(std::int64_t n) {
  return n == 0 ? std::string() : answer_text(n) + " ";
}

TEST(FleetWire, SendsAnErrorEventInsideTheStreamWhereTheFaultStrikes) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    for (const std::int64_t tokens : {0, 1, 7, 40}) {
      const WireRequest w = request(p, 40, true);
      const WirePlan plan = plan_reply(w, broken(sim::StreamBreak::error_event, tokens, Outcome::http(529)), at_us(0));
      EXPECT_EQ(plan.end, WireEnd::keep_alive);
      EXPECT_EQ(plan.steps.back().at, at_us(1'000 + 100 * tokens));
      EXPECT_EQ(plan.steps.back().bytes.substr(plan.steps.back().bytes.size() - 5), "0\r\n\r\n");
      const std::string body = dechunk(plan);
      protocol::StreamDecoder d(p);
      const std::string text = d.feed(body);
      EXPECT_EQ(text, tokens == 40 ? answer_text(40) : first_words(tokens)) << "tokens " << tokens;
      ASSERT_EQ(d.finish(), protocol::StreamEnd::error) << body;
      EXPECT_EQ(d.error()->type, "overloaded_error");  // read back as 529
      EXPECT_EQ(body.find(p == Protocol::openai ? "[DONE]" : "message_stop"), std::string::npos);
      EXPECT_EQ(body.find(p == Protocol::openai ? R"(data: {"error":)" : "event: error\n") != std::string::npos, true);
    }
  }
}

TEST(FleetWire, EndsAStreamCleanlyWithoutItsEndMarker) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    for (const std::int64_t tokens : {0, 5, 40}) {
      const WireRequest w = request(p, 40, true);
      const WirePlan plan =
          plan_reply(w, broken(sim::StreamBreak::no_end_marker, tokens, Outcome::of(OutcomeKind::truncated)), at_us(0));
      EXPECT_EQ(plan.end, WireEnd::keep_alive);  // the body ends properly: only the marker is missing
      protocol::StreamDecoder d(p);
      EXPECT_EQ(d.feed(dechunk(plan)), tokens == 40 ? answer_text(40) : first_words(tokens));
      EXPECT_EQ(d.finish(), protocol::StreamEnd::truncated) << "tokens " << tokens;
    }
  }
}

TEST(FleetWire, StallsTheDeltasThenResumesOrResets) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    const WireRequest w = request(p, 40, true);
    sim::Reply r = broken(sim::StreamBreak::stall, 10, Outcome::ok(Usage{10, 40, true}));
    r.stall_from = at_us(2'000);
    r.stall_until = at_us(900'000);
    r.done_at = at_us(903'000);
    const WirePlan resumed = plan_reply(w, r, at_us(0));
    EXPECT_EQ(resumed.end, WireEnd::keep_alive);
    for (const WireStep& step : resumed.steps) {
      EXPECT_TRUE(step.at <= at_us(2'000) || step.at >= at_us(900'000)) << to_us(step.at - kTimeZero);
    }
    EXPECT_EQ(resumed.steps.back().at, at_us(903'000));
    protocol::StreamDecoder d(p);
    EXPECT_EQ(d.feed(dechunk(resumed)), answer_text(40));
    EXPECT_EQ(d.finish(), protocol::StreamEnd::complete);

    r.outcome = Outcome::of(OutcomeKind::truncated);
    r.done_at = r.stall_until;
    const WirePlan died = plan_reply(w, r, at_us(0));
    EXPECT_EQ(died.end, WireEnd::abort);
    EXPECT_EQ(died.steps.back().at, at_us(900'000));
    EXPECT_TRUE(died.steps.back().bytes.empty());
    protocol::StreamDecoder cut(p);
    EXPECT_EQ(cut.feed(dechunk(died)), first_words(10));
    EXPECT_EQ(cut.finish(), protocol::StreamEnd::truncated);
  }
}

TEST(FleetWire, AbortsResetsAndConnectErrorsAfterTheirDelayAndHoldsHangs) {
  const WireRequest w = request(Protocol::openai, 5, false);
  for (const OutcomeKind kind : {OutcomeKind::reset, OutcomeKind::connect_error}) {
    sim::Reply r;
    r.done_at = at_us(5'000);
    r.outcome = Outcome::of(kind);
    const WirePlan plan = plan_reply(w, r, at_us(0));
    ASSERT_EQ(plan.steps.size(), 1u);
    EXPECT_TRUE(plan.steps[0].bytes.empty());
    EXPECT_EQ(plan.steps[0].at, at_us(5'000));
    EXPECT_EQ(plan.end, WireEnd::abort);
  }
  sim::Reply hang;
  hang.outcome = Outcome::timed_out(TimeoutKind::total);
  hang.holds_slot = true;
  const WirePlan held = plan_reply(w, hang, at_us(0));
  EXPECT_TRUE(held.steps.empty());
  EXPECT_EQ(held.end, WireEnd::hold);
}

TEST(FleetWire, AnswersAContextRefusalWithABodyTheClientRecognises) {
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    WireRequest w = request(p, 900, false);
    w.context_window_tokens = 800;
    sim::Reply r;
    r.done_at = at_us(1'000);
    r.outcome = Outcome::refused(400, Refusal::context_length);
    const WirePlan plan = plan_reply(w, r, at_us(0));
    ASSERT_EQ(plan.steps.size(), 1u);
    const std::string& bytes = plan.steps[0].bytes;
    EXPECT_EQ(bytes.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    const std::optional<protocol::ErrorInfo> e = protocol::decode_error(p, bytes.substr(bytes.find("\r\n\r\n") + 4));
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(protocol::refusal_of(p, 400, e), Refusal::context_length);
  }
}

TEST(FleetWire, NamesStatus529Overloaded) {
  const WireRequest w = request(Protocol::anthropic, 5, false);
  sim::Reply r;
  r.done_at = at_us(1);
  r.outcome = Outcome::http(529, sec(3));
  const WirePlan plan = plan_reply(w, r, at_us(0));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].bytes.rfind("HTTP/1.1 529 Overloaded\r\n", 0), 0u);
  EXPECT_NE(plan.steps[0].bytes.find("retry-after: 3\r\n"), std::string::npos);
  EXPECT_NE(plan.steps[0].bytes.find(R"("request_id":"req_)"), std::string::npos) << plan.steps[0].bytes;
  EXPECT_NE(plan.steps[0].bytes.find("retry-after-ms: 3000\r\n"), std::string::npos);
}

}  // namespace
}  // namespace failover::serve
