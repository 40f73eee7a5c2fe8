// The event-stream parser (WHATWG HTML, "Server-sent events", parsing an event stream),
// fed in chunks of any size. Lines wholly inside one chunk are parsed in place; only a
// line cut by a chunk boundary is copied, so feeding a body whole or byte by byte yields
// the same events.
#include "core/protocol/sse.h"

#include "core/engine/assert.h"

namespace failover::protocol {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

}  // namespace

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return false;
  std::size_t i = 0;
  if (after_cr_ && !bytes.empty()) {  // CR ended the last chunk: an LF here is its pair
    after_cr_ = false;
    if (bytes.front() == '\n') i = 1;
  }
  while (i < bytes.size() && !failed_) {  // every pass consumes at least one byte
    std::size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      append(bytes.substr(i));
      break;
    }
    const std::string_view piece = bytes.substr(i, end - i);
    if (line_.empty()) {
      if (piece.size() > kSseLineMax) {
        failed_ = true;
        break;
      }
      line(piece, out);
    } else {
      append(piece);
      if (failed_) break;
      line(line_, out);
      line_.clear();
    }
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size()) {
        after_cr_ = true;
      } else if (bytes[end + 1] == '\n') {
        ++end;
      }
    }
    FAILOVER_ASSERT(end + 1 > i);
    i = end + 1;
  }
  return !failed_;
}

bool SseParser::pending() const noexcept {
  return !failed_ && (!line_.empty() || has_fields_);
}

void SseParser::append(std::string_view piece) {
  FAILOVER_ASSERT(!failed_);
  if (line_.size() + piece.size() > kSseLineMax) {
    failed_ = true;
    return;
  }
  line_ += piece;
}

void SseParser::line(std::string_view text, std::vector<SseEvent>& out) {
  FAILOVER_ASSERT(text.size() <= kSseLineMax);
  if (first_line_) {
    first_line_ = false;
    if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  }
  if (text.empty()) {
    dispatch(out);
    return;
  }
  if (text.front() == ':') return;  // a comment, such as a keep-alive
  const std::size_t colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);  // one space only
  has_fields_ = true;
  if (field == "data") {
    const std::size_t size = event_.data.size() + (has_data_ ? 1 : 0) + value.size();
    if (size > kSseEventMax) {
      failed_ = true;
      return;
    }
    if (has_data_) event_.data += '\n';
    event_.data += value;
    has_data_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) event_.id.assign(value);
  }
  // retry and unknown fields are ignored: a client of this library schedules its own
  // retries (the engine's backoff), never the server's.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  has_fields_ = false;
  if (!has_data_) {  // an event without data is not dispatched, only reset
    event_.event.clear();
    return;
  }
  SseEvent e;
  e.event = std::move(event_.event);
  e.data = std::move(event_.data);
  e.id = event_.id;
  out.push_back(std::move(e));
  event_.event.clear();
  event_.data.clear();
  has_data_ = false;
  FAILOVER_ASSERT(event_.data.empty());
}

}  // namespace failover::protocol
