// libFuzzer entry for the codecs of both protocols: any bytes given to decode_request,
// decode_response, decode_error or a StreamDecoder either decode or are refused -- never
// a crash, a leak, an escaped exception or undefined behaviour -- and whatever decodes
// survives a re-encode: encoding it and decoding that again gives the same fields.
// Boost.JSON is compiled into this target (src.hpp below) so its parser is instrumented.
#include <boost/json/src.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/engine/assert.h"
#include "core/protocol/codec.h"
#include "core/protocol/sse.h"

namespace {

using failover::Protocol;
using namespace failover::protocol;

void check_same(const ChatResponse& a, const ChatResponse& b) {
  FAILOVER_ASSERT(a.id == b.id);
  FAILOVER_ASSERT(a.model == b.model);
  FAILOVER_ASSERT(a.text == b.text);
  FAILOVER_ASSERT(a.stop_reason == b.stop_reason);
  FAILOVER_ASSERT(a.usage.reported == b.usage.reported);
  FAILOVER_ASSERT(a.usage.input_tokens == b.usage.input_tokens);
  FAILOVER_ASSERT(a.usage.output_tokens == b.usage.output_tokens);
}

void check_usage_bounds(const failover::Usage& u) {
  FAILOVER_ASSERT(u.input_tokens >= 0);
  FAILOVER_ASSERT(u.input_tokens <= kTokensMax);
  FAILOVER_ASSERT(u.output_tokens >= 0);
  FAILOVER_ASSERT(u.output_tokens <= kTokensMax);
}

void check_request(Protocol p, std::string_view body) {
  const auto r1 = decode_request(p, body);
  if (!r1) {
    FAILOVER_ASSERT(!r1.error().what.empty());
    return;
  }
  FAILOVER_ASSERT(!r1->messages.empty());
  FAILOVER_ASSERT(r1->messages.size() <= kMessagesMax);
  FAILOVER_ASSERT(r1->max_tokens >= 1);
  FAILOVER_ASSERT(r1->max_tokens <= kTokensMax);
  const EncodedRequest e = encode_request(p, *r1);
  const auto r2 = decode_request(p, e.body);
  FAILOVER_ASSERT(r2.has_value());
  FAILOVER_ASSERT(r2->model == r1->model);
  FAILOVER_ASSERT(r2->max_tokens == r1->max_tokens);
  FAILOVER_ASSERT(r2->temperature == r1->temperature);
  FAILOVER_ASSERT(r2->stream == r1->stream);
  FAILOVER_ASSERT(r2->messages.size() == r1->messages.size());
  for (std::size_t i = 0; i < r1->messages.size(); ++i) {
    FAILOVER_ASSERT(r2->messages[i].role == r1->messages[i].role);
    FAILOVER_ASSERT(r2->messages[i].content == r1->messages[i].content);
  }
}

void check_response(Protocol p, std::string_view body) {
  const auto r1 = decode_response(p, body);
  if (!r1) return;
  if (r1->usage.reported) check_usage_bounds(r1->usage);
  const auto r2 = decode_response(p, encode_response(p, *r1));
  FAILOVER_ASSERT(r2.has_value());
  check_same(*r1, *r2);
}

void check_error(Protocol p, std::string_view body) {
  const auto e1 = decode_error(p, body);
  for (std::int32_t status : {400, 404, 413, 429, 500}) (void)refusal_of(p, status, e1);
  if (!e1) return;
  const auto e2 = decode_error(p, encode_error(p, 400, *e1));
  FAILOVER_ASSERT(e2.has_value());
  FAILOVER_ASSERT(e2->type == e1->type);
  FAILOVER_ASSERT(e2->message == e1->message);
  FAILOVER_ASSERT(e2->code == (p == Protocol::openai ? e1->code : std::string()));
  FAILOVER_ASSERT(refusal_of(p, 400, e1) == refusal_of(p, 400, e2));
}

// The body as a stream; a complete one re-encodes to a stream that decodes the same.
void check_stream(Protocol p, std::string_view body, std::size_t pieces) {
  StreamDecoder d1(p);
  const std::string fed = d1.feed(body);
  FAILOVER_ASSERT(fed == d1.response().text);
  if (d1.finish() != StreamEnd::complete) return;
  if (d1.response().usage.reported) check_usage_bounds(d1.response().usage);
  StreamDecoder d2(p);
  for (const std::string& event : encode_stream(p, d1.response(), pieces)) (void)d2.feed(event);
  FAILOVER_ASSERT(d2.finish() == StreamEnd::complete);
  check_same(d1.response(), d2.response());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::size_t pieces = size == 0 ? 1 : 1 + data[0] % 8;
  for (Protocol p : {Protocol::openai, Protocol::anthropic}) {
    check_request(p, body);
    check_response(p, body);
    check_error(p, body);
    check_stream(p, body, pieces);
  }
  return 0;
}
