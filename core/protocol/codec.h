// Codecs for the two wire protocols a provider can speak: OpenAI chat completions
// (POST {base}/chat/completions) and Anthropic messages (POST {base}/v1/messages).
// Both directions are here -- what a client sends and decodes, and what a server
// (the fleet served on loopback) decodes and sends -- so that the two sides cannot
// drift apart. Plain values in, plain values out: no I/O, no clock. Boost.JSON does
// the JSON; it does not appear in this header.
//
// A body that does not decode is an Error (the transport turns it into the engine's
// `malformed` outcome); a provider's error body is data (ErrorInfo), never an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/outcome.h"
#include "core/engine/result.h"

namespace failover::protocol {

// Bounds on what a decoder accepts; larger input is an Error, not an allocation.
inline constexpr std::size_t kMessagesMax = 4'096;
inline constexpr std::int64_t kTokensMax = 100'000'000;
// The longest body (or stream text) a decoder takes; Anthropic's own request limit is 32 MB.
inline constexpr std::size_t kBodyMax = std::size_t{32} << 20;
// encode_stream splits an answer into at most this many deltas.
inline constexpr std::size_t kStreamPiecesMax = 65'536;

// The Anthropic API version sent as `anthropic-version`.
inline constexpr std::string_view kAnthropicVersion = "2023-06-01";
// The system_fingerprint the server side (the fleet) sends: a fixed backend.
inline constexpr std::string_view kSystemFingerprint = "fp_failover_fleet";

struct Message {
  std::string role;     // "system", "user" or "assistant"
  std::string content;  // plain text
};

// One logical chat call, independent of the provider: the driver fills `model` with
// the target provider's own model id for each attempt.
struct ChatRequest {
  std::string model;
  std::vector<Message> messages;  // system messages anywhere; Anthropic lifts them into `system`
  std::int64_t max_tokens = 1'024;
  std::optional<double> temperature;
  bool stream = false;
  // OpenAI's stream_options.include_usage as a server decodes it: whether the client
  // asked for the final usage chunk. encode_request asks for it on every OpenAI stream.
  bool include_usage = false;
};

struct Header {
  std::string name;  // lower case
  std::string value;
};

// What to send, minus the transport's own headers (host, content-length, user-agent)
// and the credential (credential_header).
struct EncodedRequest {
  std::string path;             // appended to the base URL's path: "/chat/completions", "/v1/messages"
  std::vector<Header> headers;  // content-type, accept (streams), anthropic-version
  std::string body;
};

EncodedRequest encode_request(Protocol protocol, const ChatRequest& request);

// ("authorization", "Bearer <key>") for OpenAI, ("x-api-key", "<key>") for Anthropic.
// The value is a secret: callers never log, print or store a Header they got here.
Header credential_header(Protocol protocol, std::string_view api_key);

// The request path a server routes to this protocol ("/chat/completions",
// "/v1/messages"), and the inverse of encode_request for a server.
std::string_view request_path(Protocol protocol);
Result<ChatRequest> decode_request(Protocol protocol, std::string_view body);

struct ChatResponse {
  std::string id;
  std::string model;
  std::string text;          // the assistant's answer (text blocks concatenated)
  std::string stop_reason;   // OpenAI finish_reason / Anthropic stop_reason, as sent
  Usage usage;               // usage.reported is false when the body carried none
  std::int64_t created = 0;  // OpenAI `created`, Unix seconds (encoded; the decoders leave it 0)
};

// A provider's error body: OpenAI {"error":{"message","type","code"}}, Anthropic
// {"type":"error","error":{"type","message"}}.
struct ErrorInfo {
  std::string type;  // e.g. "overloaded_error", "rate_limit_error", "invalid_request_error"
  std::string code;  // OpenAI's `code` (e.g. "context_length_exceeded"); empty otherwise
  std::string message;
};

// A 2xx body that is not a complete answer of the protocol is an Error.
Result<ChatResponse> decode_response(Protocol protocol, std::string_view body);

// A non-2xx body; nullopt when it is not the protocol's error shape (an HTML page from
// a proxy, an empty body).
std::optional<ErrorInfo> decode_error(Protocol protocol, std::string_view body);

// Whether an error response is a refusal the engine routes around rather than a
// caller error: context length exceeded, or content policy.
Refusal refusal_of(Protocol protocol, std::int32_t http_status, const std::optional<ErrorInfo>& error);

// A rough prompt size in tokens, the same on both sides of the wire: ceil(bytes / 4)
// over every message's role and content, at least 1 and at most kTokensMax. The live
// driver reserves cost and checks context windows with it; the fleet reports it as usage.
std::int64_t estimate_prompt_tokens(const std::vector<Message>& messages) noexcept;

// Server side. Bodies exactly as the providers send them, the members their SDKs type
// as present-but-nullable included (OpenAI system_fingerprint, service_tier, the usage
// token details; Anthropic stop_sequence, the cache token counts).
std::string encode_response(Protocol protocol, const ChatResponse& response);
// Anthropic's body also carries a top-level `request_id` when one is given (as the real
// API does since 2025); OpenAI's carries it only in the x-request-id header.
std::string encode_error(Protocol protocol, std::int32_t http_status, const ErrorInfo& error,
                         std::string_view request_id = {});
// The error `type` a provider uses for a status (429 rate_limit_error, 529
// overloaded_error, 503 "api_error"/"server_error", 400 invalid_request_error, ...).
ErrorInfo error_for_status(Protocol protocol, std::int32_t http_status);

// A streamed answer as the provider sends it: the full SSE bytes of each event, in
// order, the text split into `pieces` deltas (at least 1), usage at the end (OpenAI:
// when usage is reported -- the client asked with include_usage -- `"usage":null` on
// every chunk and a final chunk with `usage` and no choices, then `data: [DONE]`;
// Anthropic: message_start ... message_delta with usage, message_stop). Concatenated,
// they are the whole body.
std::vector<std::string> encode_stream(Protocol protocol, const ChatResponse& response, std::size_t pieces);

}  // namespace failover::protocol
