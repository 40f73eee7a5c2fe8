// serve/fleet_wire.h without sockets: the token estimate, the answer text, Retry-After
// rounding under a time scale, and the plans for each outcome -- times in order,
// streams paced between first byte and done, cut streams that never carry their end.
#include "serve/fleet_wire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/protocol/codec.h"
#include "core/protocol/sse.h"

namespace failover::serve {
namespace {

WireRequest request(Protocol protocol, std::int64_t output_tokens, bool stream) {
  WireRequest w;
  w.protocol = protocol;
  w.model = "m";
  w.prompt_tokens = 10;
  w.output_tokens = output_tokens;
  w.stream = stream;
  w.sequence = 1;
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

TEST(FleetWire, DividesRetryAfterByTheTimeScaleRoundingUp) {
  const auto h = retry_after_headers(sec(30), 20);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "retry-after");
  EXPECT_EQ(h[0].value, "2");
  EXPECT_EQ(h[1].name, "retry-after-ms");
  EXPECT_EQ(h[1].value, "1500");
  EXPECT_EQ(retry_after_headers(sec(1), 1)[0].value, "1");
  EXPECT_EQ(retry_after_headers(sec(1), 1)[1].value, "1000");
  EXPECT_EQ(retry_after_headers(us(1'001), 1)[1].value, "2");
  EXPECT_EQ(retry_after_headers(ms(1), 1'000)[1].value, "1");  // 1 µs is still a wait
  EXPECT_EQ(retry_after_headers(ms(1), 1'000)[0].value, "1");
  EXPECT_EQ(retry_after_headers(Duration{0}, 7)[0].value, "0");
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
  EXPECT_NE(plan.steps[0].bytes.find("retry-after-ms: 3000\r\n"), std::string::npos);
}

}  // namespace
}  // namespace failover::serve
