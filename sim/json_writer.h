// The one JSON writer of the project's reports: the scenario report (report_json.cpp),
// `failover run --json` (run_report.cpp), the sweep's points.json, the explorer's
// findings.json and `failover live --json`. It decides layout and escaping -- keys in
// the caller's order, numbers written exactly as given -- and leaves the schema to the
// caller.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/assert.h"
#include "sim/report_format.h"
#include "sim/svg.h"

namespace failover::sim {

// A streaming writer. It tracks commas and indentation; the caller, the key order.
// Two layouts, chosen per container when it is opened:
//  - block (open): one member per line, indented two spaces per enclosing block
//    container, the closing bracket on a line of its own;
//  - inline (open_inline): every member on one line, ", " between them.
// A block container inside an inline one (a list hanging off a one-line object, as in
// the sweep's points.json) indents its members by the block containers around it and
// closes on its last member's line, where the inline container goes on.
// A writer made with a depth > 0 writes a value that a caller places, with raw(), into
// a document at that depth: its lines are indented as they will stand there.
class JsonWriter {
 public:
  explicit JsonWriter(std::size_t depth = 0) : depth_(depth) {}

  void open(std::string_view key, char bracket) { push(key, bracket, false); }
  void open_inline(std::string_view key, char bracket) { push(key, bracket, true); }
  void close(char bracket) {
    FAILOVER_ASSERT(!frames_.empty());
    FAILOVER_ASSERT(bracket == '}' || bracket == ']');
    const Frame frame = frames_.back();
    frames_.pop_back();
    if (!frame.inline_ && !frame.empty && !inside_inline()) newline();
    out_ += bracket;
  }
  // A member written as given: a number, null, or a value another writer made.
  void raw(std::string_view key, std::string_view literal) {
    begin(key);
    out_ += literal;
  }
  void text(std::string_view key, std::string_view value) { raw(key, report::json_string(value)); }
  void null(std::string_view key) { raw(key, "null"); }
  template <std::integral T>
  requires(!std::same_as<T, bool>) void integer(std::string_view key, T value) { raw(key, std::to_string(value)); }
  void boolean(std::string_view key, bool value) { raw(key, value ? "true" : "false"); }
  // `digits` decimals; what is missing or not finite (never happened) is null.
  void real(std::string_view key, std::optional<double> value, int digits) {
    raw(key, value && std::isfinite(*value) ? svg::fixed(*value, digits) : "null");
  }
  // A list of integers on one line: "[1, 2, 3]".
  template <std::integral T>
  void integers(std::string_view key, const std::vector<T>& values) {
    open_inline(key, '[');
    for (const T v : values) integer("", v);
    close(']');
  }
  // The document, every container closed, with the newline that ends a file.
  [[nodiscard]] std::string finish() {
    FAILOVER_ASSERT(depth_ == 0);
    return value() + "\n";
  }
  // The value alone, for raw() into a writer at this writer's depth.
  [[nodiscard]] std::string value() const {
    FAILOVER_ASSERT(frames_.empty());
    FAILOVER_ASSERT(!out_.empty());
    return out_;
  }

 private:
  struct Frame {
    bool inline_ = false;
    bool empty = true;  // nothing written in it yet
  };

  [[nodiscard]] bool inside_inline() const { return !frames_.empty() && frames_.back().inline_; }
  void newline() {
    std::size_t blocks = depth_;
    for (const Frame& f : frames_) blocks += f.inline_ ? 0 : 1;
    out_ += '\n';
    out_.append(2 * blocks, ' ');
  }
  void begin(std::string_view key) {
    if (frames_.empty()) {
      FAILOVER_ASSERT(out_.empty());  // one value per writer
    } else {
      Frame& top = frames_.back();
      if (!top.empty) out_ += top.inline_ ? ", " : ",";
      top.empty = false;
      if (!top.inline_) newline();
    }
    if (!key.empty()) out_ += report::json_string(key) + ": ";
  }
  void push(std::string_view key, char bracket, bool inline_layout) {
    FAILOVER_ASSERT(bracket == '{' || bracket == '[');
    begin(key);
    out_ += bracket;
    frames_.push_back(Frame{inline_layout, true});
  }

  std::size_t depth_;
  std::string out_;
  std::vector<Frame> frames_;  // the open containers, outermost first
};

}  // namespace failover::sim
