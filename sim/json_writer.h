// A small streaming JSON writer shared by the reports (report_json.cpp) and the
// explorer's findings.json: keys in the caller's order, one member per line, numbers
// written exactly as given. It decides layout and escaping; the schema is the caller's.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/assert.h"
#include "sim/report_format.h"
#include "sim/svg.h"

namespace failover::sim {

// A streaming writer: objects and arrays of objects one member per line, arrays of
// numbers on one line. It tracks commas and indentation; the caller, the key order.
class JsonWriter {
 public:
  void open(std::string_view key, char bracket) {
    begin(key);
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    FAILOVER_ASSERT(!first_.empty());
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += bracket;
  }
  void raw(std::string_view key, std::string_view literal) {
    begin(key);
    out_ += literal;
  }
  void text(std::string_view key, std::string_view value) { raw(key, report::json_string(value)); }
  void integer(std::string_view key, std::int64_t value) { raw(key, std::to_string(value)); }
  void boolean(std::string_view key, bool value) { raw(key, value ? "true" : "false"); }
  void real(std::string_view key, std::optional<double> value, int digits) {
    raw(key, value && std::isfinite(*value) ? svg::fixed(*value, digits) : "null");
  }
  void integers(std::string_view key, const std::vector<std::int64_t>& values) {
    std::string list = "[";
    for (std::size_t i = 0; i < values.size(); ++i) list += (i == 0 ? "" : ", ") + std::to_string(values[i]);
    raw(key, list + "]");
  }
  [[nodiscard]] std::string finish() {
    FAILOVER_ASSERT(first_.empty());
    return out_ + "\n";
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  void begin(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      newline();
    }
    if (!key.empty()) out_ += report::json_string(key) + ": ";
  }
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
};

}  // namespace failover::sim
