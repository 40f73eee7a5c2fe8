// Cross-protocol translation of requests and whole answers: an OpenAI chat-completions request
// for an Anthropic target and back, and the other way round -- messages, the system
// prompt, images (base64 and URL), tools and tool calls, tool results, stop sequences,
// sampling settings, usage and stop reasons. It decides what carries over and refuses
// the rest: a request with a field that has no counterpart on the other side (OpenAI's
// n, response_format, logprobs, audio; Anthropic's top_k, thinking, ...) is not
// translated, and the gateway then keeps it on the targets of its own protocol, logging
// the reason. A streamed request is translated the same way (plus `stream`, and towards
// OpenAI `stream_options.include_usage`); its events are gateway_stream_translate.h's.
// Plain JSON in, JSON out: no I/O.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "core/engine/config.h"
#include "core/engine/result.h"

namespace failover::serve {

// The request `body` of a `from` caller as the other protocol's request. The model is
// left for the driver to set per target. The Error's `what` says what cannot be translated.
Result<boost::json::object> translate_request(Protocol from, const boost::json::object& body);

// A 2xx response body of a `from` target as the other protocol's response body.
Result<std::string> translate_response(Protocol from, std::string_view body);

// A provider's error body (of protocol `from`) in the other protocol's error shape.
std::string translate_error(Protocol from, unsigned status, std::string_view body);

// Why an answer stopped, in the other protocol's words; whole answers and streams both
// use these. An Anthropic stop_reason as an OpenAI finish_reason (end_turn, stop_sequence
// and any other -> "stop") ...
std::string finish_reason_of(std::string_view stop_reason);
// ... and an OpenAI finish_reason as an Anthropic stop_reason (stop and any other -> "end_turn").
std::string stop_reason_of(std::string_view finish_reason);

}  // namespace failover::serve
