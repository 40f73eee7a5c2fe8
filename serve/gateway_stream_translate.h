// Cross-protocol translation of one streamed answer: the server-sent events of a target
// speaking one protocol, fed as they arrive, become the events a provider of the
// caller's protocol would have sent -- text, tool calls with their arguments in
// fragments, the stop reason, usage, the end marker and a mid-stream error. It decides
// only the shape of the events; when they reach the caller (the engine's commit at the
// upstream's first content) and how a broken stream ends are the relay's
// (gateway_core.cpp). Pure: no I/O, no clock; its state is bounded by kStreamBlocksMax.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/protocol/sse.h"

namespace failover::serve {

// The most content blocks (Anthropic) or tool calls (OpenAI) one translated stream may
// carry: the index map between the two is a fixed-size table, not a growing one.
inline constexpr std::size_t kStreamBlocksMax = 128;

struct StreamTranslateOptions {
  // An OpenAI caller asked for `stream_options.include_usage`: a last chunk with empty
  // choices carries the usage before [DONE]. (Towards an OpenAI target the gateway
  // always asks, so that an Anthropic caller's message_delta has its output tokens.)
  bool include_usage = false;
  std::int64_t created = 0;  // OpenAI chunks' `created` (Unix seconds): the driver's clock
};

// What the translator made of the upstream so far.
enum class StreamTranslateState : std::uint8_t {
  open,      // events are being translated
  finished,  // the upstream's end marker was translated (message_stop / [DONE])
  errored,   // the upstream's error event was translated; nothing follows it
  failed,    // an upstream event did not decode or passed a limit: nothing more is emitted
};

class StreamTranslator {
 public:
  // `from`: the target's protocol; the caller speaks the other one.
  StreamTranslator(Protocol from, StreamTranslateOptions options);

  // Upstream body bytes at any boundary; appends the caller-protocol events completed by
  // them to `out`. Input after the stream finished, errored or failed is ignored.
  void feed(std::string_view bytes, std::string& out);
  // One whole upstream event (what SseParser yields); appends its translation to `out`
  // (possibly nothing: a ping, a thinking block, a role-only chunk).
  void event(const protocol::SseEvent& e, std::string& out);

  [[nodiscard]] Protocol from() const noexcept { return from_; }
  [[nodiscard]] StreamTranslateState state() const noexcept { return state_; }
  [[nodiscard]] std::string_view failure() const noexcept { return failure_; }  // why, when failed

  // The code of each direction (gateway_stream_translate.cpp) works on the state below.
  friend struct StreamTranslation;

 private:
  Protocol from_;
  StreamTranslateOptions options_;
  protocol::SseParser parser_;
  std::vector<protocol::SseEvent> parsed_;
  StreamTranslateState state_ = StreamTranslateState::open;
  std::string failure_;
  // Shared by both directions, reset by nothing: one translator serves one attempt.
  std::string id_;
  std::string model_;
  std::string stop_reason_;  // the caller protocol's, once the upstream said it
  std::int64_t input_tokens_ = 0;
  std::int64_t output_tokens_ = 0;
  bool started_ = false;  // the caller's opening event (message_start / the role chunk) was sent
  // Anthropic upstream: per content block index, the OpenAI tool call index it became,
  // or kText / kSkipped. OpenAI upstream: per tool call index, the Anthropic block index.
  std::vector<std::int32_t> map_;
  std::int32_t tools_ = 0;        // OpenAI tool calls opened so far (Anthropic upstream)
  std::int32_t blocks_ = 0;       // Anthropic blocks opened so far (OpenAI upstream)
  std::int32_t open_block_ = -1;  // the Anthropic block being written (OpenAI upstream); -1: none
  bool open_is_text_ = false;
};

}  // namespace failover::serve
