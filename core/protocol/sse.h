// Server-sent events (the WHATWG event-stream format) and the streamed answers of both
// protocols on top of it. SseParser accepts bytes at any boundary -- mid-line,
// mid-UTF-8 sequence, between CR and LF -- and yields whole events; StreamDecoder turns
// one protocol's events into text deltas, usage and a verdict on how the stream ended.
// A stream that stops before its end marker is `truncated`, never a success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/outcome.h"
#include "core/protocol/codec.h"

namespace failover::protocol {

// A line longer than this (or an event's data longer than kSseEventMax) is a protocol
// error, not an allocation without bound.
inline constexpr std::size_t kSseLineMax = 1 << 20;
inline constexpr std::size_t kSseEventMax = 4 << 20;

struct SseEvent {
  std::string event;  // the `event:` field; empty means "message"
  std::string data;   // `data:` lines joined with '\n'
  std::string id;
};

class SseParser {
 public:
  // Parses `bytes`, appending every event completed by them to `out` (an event ends
  // at a blank line). Lines may end in CRLF, LF or CR. Comments (":...") and unknown
  // fields are ignored. Returns false once a limit was exceeded; the parser then
  // stays failed and ignores further input.
  bool feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Whether bytes of an unfinished event (or line) are pending: at the end of the
  // body this means the stream was cut.
  [[nodiscard]] bool pending() const noexcept;
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  void line(std::string_view text, std::vector<SseEvent>& out);

  void append(std::string_view piece);
  void dispatch(std::vector<SseEvent>& out);

  std::string line_;  // the line being read
  SseEvent event_;    // the event being built; its id persists (the last event ID)
  bool has_data_ = false;
  bool has_fields_ = false;
  bool after_cr_ = false;   // the last byte was CR: a following LF belongs to it
  bool first_line_ = true;  // a UTF-8 byte order mark may start the stream
  bool failed_ = false;
};

// How a stream ended, once the body is over.
enum class StreamEnd : std::uint8_t {
  complete,   // the protocol's end marker arrived ([DONE] / message_stop)
  truncated,  // the body ended first (or mid-event)
  error,      // the provider sent an error event mid-stream (Anthropic `error`)
  malformed,  // an event did not decode
};

class StreamDecoder {
 public:
  explicit StreamDecoder(Protocol protocol);

  // Feeds body bytes; returns the text that became available (possibly empty).
  // After an error or malformed event the rest of the input is ignored.
  std::string feed(std::string_view bytes);
  // The body ended: the verdict. complete requires the end marker and no pending bytes.
  [[nodiscard]] StreamEnd finish() const noexcept;

  [[nodiscard]] bool started() const noexcept { return started_; }  // any event decoded
  // The answer has begun: text, a tool call, or reasoning (an Anthropic thinking block,
  // OpenAI-compatible `reasoning_content`) -- content, not an opening or an error event.
  // A driver commits a stream to its attempt at this point (Engine::on_first_byte): an
  // answer that opens with a long tool call or a long thought is a provider answering.
  [[nodiscard]] bool answering() const noexcept { return answering_; }
  [[nodiscard]] const ChatResponse& response() const noexcept { return response_; }  // text so far, usage, id, model
  [[nodiscard]] const std::optional<ErrorInfo>& error() const noexcept { return error_; }

 private:
  void event(const SseEvent& e, std::string& text_out);

  Protocol protocol_;
  SseParser parser_;
  std::vector<SseEvent> events_;
  ChatResponse response_;
  std::optional<ErrorInfo> error_;
  bool started_ = false;
  bool answering_ = false;
  bool done_ = false;
  bool malformed_ = false;
};

}  // namespace failover::protocol
