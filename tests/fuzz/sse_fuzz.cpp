// libFuzzer entry for the event-stream parser and both stream decoders: feeding a body
// in chunks must give exactly what feeding it whole gives -- the same events, the same
// failure and pending state, the same text, usage, error and verdict. The first input
// byte seeds where the rest is cut. Boost.JSON is compiled into this target (src.hpp
// below) so that its parser is instrumented too.
#include <boost/json/src.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/assert.h"
#include "core/protocol/sse.h"

namespace {

using failover::Protocol;
using failover::protocol::SseEvent;
using failover::protocol::SseParser;
using failover::protocol::StreamDecoder;

// Chunk boundaries drawn from `seed` with a small LCG: deterministic per input, and
// chunks from 1 to 16 bytes so that every kind of cut (mid-CRLF, mid-UTF-8) occurs.
std::vector<std::size_t> cuts_of(std::uint8_t seed, std::size_t size) {
  std::vector<std::size_t> cuts;
  std::uint32_t state = 0x9E3779B9U ^ seed;
  std::size_t p = 0;
  while (p < size) {  // at least one byte per step
    state = state * 1'664'525U + 1'013'904'223U;
    p += 1 + ((state >> 24) & 15U);
    if (p < size) cuts.push_back(p);
  }
  return cuts;
}

struct ParserRun {
  std::vector<SseEvent> events;
  bool ok = true;
  bool pending = false;
  bool failed = false;
};

ParserRun run_parser(std::string_view body, const std::vector<std::size_t>& cuts) {
  ParserRun r;
  SseParser parser;
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    r.ok = parser.feed(body.substr(prev, cut - prev), r.events) && r.ok;
    prev = cut;
  }
  r.ok = parser.feed(body.substr(prev), r.events) && r.ok;
  r.pending = parser.pending();
  r.failed = parser.failed();
  FAILOVER_ASSERT(r.ok != r.failed);
  return r;
}

void check_parser(std::string_view body, const std::vector<std::size_t>& cuts) {
  const ParserRun whole = run_parser(body, {});
  const ParserRun split = run_parser(body, cuts);
  FAILOVER_ASSERT(whole.ok == split.ok);
  FAILOVER_ASSERT(whole.pending == split.pending);
  FAILOVER_ASSERT(whole.events.size() == split.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    FAILOVER_ASSERT(whole.events[i].event == split.events[i].event);
    FAILOVER_ASSERT(whole.events[i].data == split.events[i].data);
    FAILOVER_ASSERT(whole.events[i].id == split.events[i].id);
  }
}

struct DecoderRun {
  std::string fed;
  std::string text;
  std::string id, model, stop_reason;
  std::int64_t input = 0, output = 0;
  bool reported = false;
  std::string error_type, error_message;
  bool has_error = false;
  failover::protocol::StreamEnd end = failover::protocol::StreamEnd::truncated;
  bool started = false;
};

DecoderRun run_decoder(Protocol protocol, std::string_view body, const std::vector<std::size_t>& cuts) {
  DecoderRun r;
  StreamDecoder decoder(protocol);
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    r.fed += decoder.feed(body.substr(prev, cut - prev));
    prev = cut;
  }
  r.fed += decoder.feed(body.substr(prev));
  const auto& resp = decoder.response();
  r.text = resp.text;
  r.id = resp.id;
  r.model = resp.model;
  r.stop_reason = resp.stop_reason;
  r.input = resp.usage.input_tokens;
  r.output = resp.usage.output_tokens;
  r.reported = resp.usage.reported;
  r.has_error = decoder.error().has_value();
  if (r.has_error) {
    r.error_type = decoder.error()->type;
    r.error_message = decoder.error()->message;
  }
  r.end = decoder.finish();
  r.started = decoder.started();
  FAILOVER_ASSERT(r.fed == r.text);  // feed() returns exactly what the answer grew by
  FAILOVER_ASSERT(r.has_error == (r.end == failover::protocol::StreamEnd::error));
  return r;
}

void check_decoder(Protocol protocol, std::string_view body, const std::vector<std::size_t>& cuts) {
  const DecoderRun a = run_decoder(protocol, body, {});
  const DecoderRun b = run_decoder(protocol, body, cuts);
  FAILOVER_ASSERT(a.text == b.text);
  FAILOVER_ASSERT(a.id == b.id);
  FAILOVER_ASSERT(a.model == b.model);
  FAILOVER_ASSERT(a.stop_reason == b.stop_reason);
  FAILOVER_ASSERT(a.input == b.input);
  FAILOVER_ASSERT(a.output == b.output);
  FAILOVER_ASSERT(a.reported == b.reported);
  FAILOVER_ASSERT(a.error_type == b.error_type);
  FAILOVER_ASSERT(a.error_message == b.error_message);
  FAILOVER_ASSERT(a.end == b.end);
  FAILOVER_ASSERT(a.started == b.started);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<std::size_t> cuts = cuts_of(data[0], body.size());
  check_parser(body, cuts);
  check_decoder(Protocol::openai, body, cuts);
  check_decoder(Protocol::anthropic, body, cuts);
  return 0;
}
