// The traffic log's reader (traffic_log.h). Boost.JSON parses each JSON line; the CSV
// form is split by hand (no quoting: names hold no comma). Each line is read into one
// LogRequest or one Error naming its line; nothing is defaulted silently.
#include "sim/traffic_log.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include "core/engine/assert.h"

namespace failover::sim {
namespace {

namespace json = boost::json;

constexpr std::int64_t kTokensLogMax = 100'000'000;
constexpr std::int64_t kMicros = 1'000'000;
// Timestamps as numbers are seconds within +-10^11 (year 5138): µs stay far from overflow.
constexpr double kSecondsMax = 1e11;

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// A line's problem, or nothing.
using Problem = std::optional<std::string>;

// The digits of an integer with an optional sign: the value, or empty.
std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const bool negative = s.front() == '-';
  if (negative || s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

// "1765050000.250": seconds, exactly to the µs (more decimals are an error).
std::optional<std::int64_t> parse_seconds_us(std::string_view s) {
  const std::size_t dot = s.find('.');
  const std::optional<std::int64_t> whole = parse_int(s.substr(0, dot));
  if (!whole || std::abs(*whole) > static_cast<std::int64_t>(kSecondsMax)) return std::nullopt;
  std::int64_t fraction = 0;
  if (dot != std::string_view::npos) {
    const std::string_view digits = s.substr(dot + 1);
    if (digits.empty() || digits.size() > 6) return std::nullopt;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    fraction = *parse_int(digits);
    for (std::size_t i = digits.size(); i < 6; ++i) fraction *= 10;
  }
  const bool negative = s.front() == '-';
  return *whole * kMicros + (negative ? -fraction : fraction);
}

std::optional<int> two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return std::nullopt;
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// ---- one line of each form ---------------------------------------------------------

class LineReader {
 public:
  explicit LineReader(LogRequest& out) : out_(out) {}

  // A gateway line: versioned (v) or the unversioned lines before version 1.
  Problem gateway(const json::object& o);
  // {"timestamp", "route" | "model", "prompt_tokens", "output_tokens", "stream"?}
  Problem generic(const json::object& o);

 private:
  Problem attempt(const json::value& v, std::size_t i);

  LogRequest& out_;
};

// An integer member in [lo, hi]; `required` false: absent is empty without a problem.
Problem integer(const json::object& o, std::string_view key, std::int64_t lo, std::int64_t hi,
                std::optional<std::int64_t>& out, bool required = true) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return required ? Problem(std::string(key) + ": missing") : std::nullopt;
  if (!v->is_int64() && !v->is_uint64()) return std::string(key) + ": expected an integer";
  if (v->is_uint64() || v->as_int64() < lo || v->as_int64() > hi) {
    return std::string(key) + ": " + json::serialize(*v) + " is out of range " + std::to_string(lo) + ".." +
           std::to_string(hi);
  }
  out = v->as_int64();
  return std::nullopt;
}

Problem text(const json::object& o, std::string_view key, std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::string(key) + ": missing";
  if (!v->is_string()) return std::string(key) + ": expected a string";
  out = std::string(v->as_string());
  return std::nullopt;
}

Problem boolean(const json::object& o, std::string_view key, bool& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) return std::string(key) + ": expected true or false";
  out = v->as_bool();
  return std::nullopt;
}

Problem LineReader::gateway(const json::object& o) {
  std::optional<std::int64_t> version;
  if (Problem p = integer(o, "v", 1, std::numeric_limits<std::int64_t>::max(), version, false)) return p;
  if (version && *version > kTrafficLogVersion) {
    return "v: version " + std::to_string(*version) + " of the traffic log; this failover reads version " +
           std::to_string(kTrafficLogVersion) + " and before (docs/traffic-log.md)";
  }
  const std::int64_t time_max = static_cast<std::int64_t>(kSecondsMax) * kMicros;
  std::optional<std::int64_t> arrived;
  if (version) {
    if (Problem p = integer(o, "arrived_us", 0, time_max, arrived)) return p;
  } else {  // before version 1: the end time in ms, less the latency
    std::optional<std::int64_t> end_ms;
    std::optional<std::int64_t> latency;
    if (Problem p = integer(o, "ts_ms", 0, time_max / 1'000, end_ms)) return p;
    if (Problem p = integer(o, "latency_us", 0, time_max, latency)) return p;
    arrived = *end_ms * 1'000 - *latency;
  }
  out_.arrived_us = *arrived;
  if (Problem p = text(o, "route", out_.route)) return p;
  if (Problem p = boolean(o, "stream", out_.stream)) return p;
  if (Problem p = boolean(o, "translated", out_.translated)) return p;
  if (const json::value* protocol = o.if_contains("protocol"); protocol != nullptr && protocol->is_string()) {
    out_.protocol = std::string(protocol->as_string());
  }
  std::optional<std::int64_t> estimate;
  std::optional<std::int64_t> prompt;
  if (Problem p = integer(o, "prompt_tokens_est", 0, kTokensLogMax, estimate)) return p;
  if (Problem p = integer(o, "prompt_tokens", 0, kTokensLogMax, prompt, false)) return p;
  if (Problem p = integer(o, "output_tokens", 0, kTokensLogMax, out_.output_tokens, false)) return p;
  out_.prompt_tokens = prompt.value_or(*estimate);
  const json::value* tries = o.if_contains("tries");
  if (tries == nullptr) return "tries: missing";
  if (!tries->is_array()) return "tries: expected an array";
  if (tries->as_array().size() > kLogAttemptsMax) {
    return "tries: more than " + std::to_string(kLogAttemptsMax) + " attempts";
  }
  for (std::size_t i = 0; i < tries->as_array().size(); ++i) {
    if (Problem p = attempt(tries->as_array()[i], i)) return p;
  }
  return std::nullopt;
}

Problem LineReader::attempt(const json::value& v, std::size_t i) {
  const std::string at = "tries[" + std::to_string(i) + "].";
  if (!v.is_object()) return at.substr(0, at.size() - 1) + ": expected an object";
  const json::object& o = v.as_object();
  LogAttempt a;
  std::string target;
  const auto prefixed = [&](Problem p) { return p ? Problem(at + *p) : p; };
  if (Problem p = prefixed(text(o, "target", target))) return p;
  const std::size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return at + "target: " + quoted(target) + " is not provider/model";
  }
  a.provider = target.substr(0, slash);
  a.model = target.substr(slash + 1);
  if (Problem p = prefixed(text(o, "outcome", a.outcome))) return p;
  std::optional<std::int64_t> status;
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> first_byte;
  std::optional<std::int64_t> duration;
  const std::int64_t day_us = std::int64_t{86'400} * kMicros * 31;
  if (Problem p = prefixed(integer(o, "status", 0, 999, status))) return p;
  if (Problem p = prefixed(integer(o, "start_us", 0, day_us, start, false))) return p;
  if (Problem p = prefixed(integer(o, "first_byte_us", 0, day_us, first_byte, false))) return p;
  if (Problem p = prefixed(integer(o, "duration_us", 0, day_us, duration))) return p;
  a.status = static_cast<std::int32_t>(*status);
  a.start_us = start.value_or(0);
  a.first_byte_us = first_byte.value_or(-1);
  a.duration_us = *duration;
  out_.attempts.push_back(std::move(a));
  return std::nullopt;
}

// A timestamp value: a number of seconds or an RFC 3339 string.
Problem timestamp(const json::value& v, std::int64_t& out) {
  if (v.is_string()) {
    const std::optional<std::int64_t> t = parse_rfc3339_us(v.as_string());
    if (!t) return "timestamp: " + json::serialize(v) + " is not an RFC 3339 time such as \"2026-05-08T11:23:00.250Z\"";
    out = *t;
    return std::nullopt;
  }
  if (v.is_int64() || v.is_uint64() || v.is_double()) {
    const double s = v.to_number<double>();
    if (!std::isfinite(s) || std::abs(s) > kSecondsMax) return "timestamp: " + json::serialize(v) + " is out of range";
    out = v.is_int64() ? v.as_int64() * kMicros : std::llround(s * 1e6);
    return std::nullopt;
  }
  return "timestamp: expected a number of seconds or an RFC 3339 string";
}

Problem LineReader::generic(const json::object& o) {
  for (const auto& member : o) {
    const std::string_view k = member.key();
    if (k != "timestamp" && k != "route" && k != "model" && k != "prompt_tokens" && k != "output_tokens" &&
        k != "stream") {
      return std::string(k) +
             ": unknown key (a generic line has timestamp, route or model, prompt_tokens, "
             "output_tokens and stream)";
    }
  }
  if (Problem p = timestamp(o.at("timestamp"), out_.arrived_us)) return p;
  if (o.contains("route") == o.contains("model")) return "needs exactly one of route and model";
  out_.by_model = o.contains("model");
  if (Problem p = text(o, out_.by_model ? "model" : "route", out_.route)) return p;
  std::optional<std::int64_t> prompt;
  if (Problem p = integer(o, "prompt_tokens", 0, kTokensLogMax, prompt)) return p;
  out_.prompt_tokens = *prompt;
  if (const json::value* v = o.if_contains("output_tokens"); v == nullptr || !v->is_null()) {
    if (Problem p = integer(o, "output_tokens", 0, kTokensLogMax, out_.output_tokens)) return p;
  }
  return boolean(o, "stream", out_.stream);
}

// ---- CSV -------------------------------------------------------------------------

enum class Column : std::uint8_t { timestamp, route, model, prompt_tokens, output_tokens, stream };
constexpr std::pair<std::string_view, Column> kColumns[] = {{"timestamp", Column::timestamp},
                                                            {"route", Column::route},
                                                            {"model", Column::model},
                                                            {"prompt_tokens", Column::prompt_tokens},
                                                            {"output_tokens", Column::output_tokens},
                                                            {"stream", Column::stream}};

struct Field {
  std::string_view text;
  std::size_t col = 1;  // from 1
};

std::vector<Field> split_csv(std::string_view line) {
  std::vector<Field> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    std::string_view f = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::size_t col = start + 1;
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) {
      f.remove_prefix(1);
      ++col;
    }
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) f.remove_suffix(1);
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') {
      f = f.substr(1, f.size() - 2);
      ++col;
    }
    out.push_back({f, col});
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

class CsvReader {
 public:
  // The header line: which column is which. A problem names its column.
  std::optional<std::pair<std::size_t, std::string>> header(const std::vector<Field>& fields);
  std::optional<std::pair<std::size_t, std::string>> row(const std::vector<Field>& fields, LogRequest& out) const;

 private:
  std::vector<Column> columns_;
};

std::optional<std::pair<std::size_t, std::string>> CsvReader::header(const std::vector<Field>& fields) {
  std::vector<bool> seen(std::size(kColumns), false);
  for (const Field& f : fields) {
    const auto* it =
        std::find_if(std::begin(kColumns), std::end(kColumns), [&](const auto& c) { return c.first == f.text; });
    if (it == std::end(kColumns)) {
      return std::pair{f.col, quoted(f.text) +
                                  " is not a column of the CSV form (timestamp, route or model, "
                                  "prompt_tokens, output_tokens, stream)"};
    }
    const auto index = static_cast<std::size_t>(it - std::begin(kColumns));
    if (seen[index]) return std::pair{f.col, "repeats the column " + quoted(f.text)};
    seen[index] = true;
    columns_.push_back(it->second);
  }
  const auto has = [&](Column c) { return seen[static_cast<std::size_t>(c)]; };
  if (!has(Column::timestamp) || !has(Column::prompt_tokens) || !has(Column::output_tokens) ||
      has(Column::route) == has(Column::model)) {
    return std::pair{std::size_t{1},
                     std::string("the header needs timestamp, exactly one of route and model, prompt_tokens and "
                                 "output_tokens (and optionally stream)")};
  }
  return std::nullopt;
}

std::optional<std::pair<std::size_t, std::string>> CsvReader::row(const std::vector<Field>& fields,
                                                                  LogRequest& out) const {
  if (fields.size() != columns_.size()) {
    return std::pair{fields.back().col,
                     "has " + std::to_string(fields.size()) + " fields, the header " + std::to_string(columns_.size())};
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    const auto tokens = [&](std::string_view name) -> std::optional<std::pair<std::size_t, std::string>> {
      const std::optional<std::int64_t> v = parse_int(f.text);
      if (!v || *v < 0 || *v > kTokensLogMax) {
        return std::pair{f.col, std::string(name) + ": " + quoted(f.text) + " is not a token count (0.." +
                                    std::to_string(kTokensLogMax) + ")"};
      }
      (name == "prompt_tokens" ? out.prompt_tokens : out.output_tokens.emplace()) = *v;
      return std::nullopt;
    };
    switch (columns_[i]) {
      case Column::timestamp: {
        std::optional<std::int64_t> t = parse_seconds_us(f.text);
        if (!t) t = parse_rfc3339_us(f.text);
        if (!t) {
          return std::pair{f.col,
                           "timestamp: " + quoted(f.text) +
                               " is neither seconds (1765050000.25) nor an RFC 3339 time (2026-05-08T11:23:00Z)"};
        }
        out.arrived_us = *t;
        break;
      }
      case Column::route:
      case Column::model:
        if (f.text.empty()) return std::pair{f.col, "an empty route or model"};
        out.route = std::string(f.text);
        out.by_model = columns_[i] == Column::model;
        break;
      case Column::prompt_tokens:
        if (auto p = tokens("prompt_tokens")) return p;
        break;
      case Column::output_tokens:
        if (f.text.empty()) break;  // unknown
        if (auto p = tokens("output_tokens")) return p;
        break;
      case Column::stream:
        if (f.text != "true" && f.text != "false" && f.text != "1" && f.text != "0" && !f.text.empty()) {
          return std::pair{f.col, "stream: " + quoted(f.text) + " is not true, false, 1, 0 or empty"};
        }
        out.stream = f.text == "true" || f.text == "1";
        break;
    }
  }
  return std::nullopt;
}

// ---- the whole file --------------------------------------------------------------

class LogParser {
 public:
  explicit LogParser(std::string_view source) : source_(source) {}
  Result<TrafficLog> run(std::string_view text);

 private:
  Problem json_line(std::string_view line, std::int64_t number);
  Error at(std::int64_t line, std::string problem, std::size_t col = 0) const {
    return Error{source_ + ":" + std::to_string(line) + (col > 0 ? ":" + std::to_string(col) : ""), std::move(problem)};
  }

  std::string source_;
  TrafficLog log_;
  bool form_known_ = false;
};

Problem LogParser::json_line(std::string_view line, std::int64_t number) {
  json::error_code ec;
  const json::value v = json::parse(line, ec);
  if (ec) return "not JSON (" + ec.message() + "); the log is JSON lines, as its first line is";
  if (!v.is_object()) return "expected a JSON object";
  const json::object& o = v.as_object();
  const bool gateway = o.contains("tries");
  if (!gateway && !o.contains("timestamp")) {
    return "neither a gateway line (v, arrived_us, tries, ...) nor a generic one (timestamp, route or model, ...)";
  }
  if (gateway) {
    if (const json::value* outcome = o.if_contains("outcome");
        outcome != nullptr && outcome->is_string() && outcome->as_string() == "refused") {
      ++log_.refused;  // the front answered it: it never reached the engine, and its route may be unknown
      return std::nullopt;
    }
  }
  if (!form_known_) log_.form = gateway ? LogForm::gateway : LogForm::json_lines;
  form_known_ = true;
  LogRequest r;
  r.line = number;
  LineReader reader(r);
  if (Problem p = gateway ? reader.gateway(o) : reader.generic(o)) return p;
  log_.requests.push_back(std::move(r));
  return std::nullopt;
}

Result<TrafficLog> LogParser::run(std::string_view text) {
  if (text.size() > kTrafficLogBytesMax) return Error{source_, "is larger than 2 GiB"};
  std::optional<CsvReader> csv;
  std::int64_t number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kTrafficLogLineBytesMax) return at(number, "the line is longer than 1 MiB");
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!form_known_ && !csv && line.front() != '{') {  // the first line decides: CSV has a header
      if (line.front() == '#') continue;
      csv.emplace();
      log_.form = LogForm::csv;
      if (auto p = csv->header(split_csv(line))) return at(number, p->second, p->first);
      continue;
    }
    if (csv) {
      if (line.front() == '#') continue;
      LogRequest r;
      r.line = number;
      if (auto p = csv->row(split_csv(line), r)) return at(number, p->second, p->first);
      log_.requests.push_back(std::move(r));
    } else if (Problem p = json_line(line, number)) {
      return at(number, *p);
    }
    if (log_.requests.size() > kTrafficLogRequestsMax) {
      return at(number, "more than " + std::to_string(kTrafficLogRequestsMax) + " requests");
    }
  }
  if (log_.requests.empty()) return Error{source_, "holds no request to replay"};
  std::stable_sort(log_.requests.begin(), log_.requests.end(),
                   [](const LogRequest& a, const LogRequest& b) { return a.arrived_us < b.arrived_us; });
  return std::move(log_);
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_us(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const std::optional<std::int64_t> year = parse_int(s.substr(0, 4));
  const std::optional<int> month = two_digits(s, 5);
  const std::optional<int> day = two_digits(s, 8);
  const std::optional<int> hour = two_digits(s, 11);
  const std::optional<int> minute = two_digits(s, 14);
  const std::optional<int> second = two_digits(s, 17);
  if (!year || *year < 0 || !month || !day || !hour || !minute || !second || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{static_cast<int>(*year)},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  std::size_t i = 19;
  std::int64_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 6) fraction = fraction * 10 + (s[i] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) fraction *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    offset_s = 0;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const std::optional<int> oh = two_digits(s, i + 1);
    const std::optional<int> om = two_digits(s, i + 4);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (s[i] == '+' ? 1 : -1) * (std::int64_t{*oh} * 3'600 + std::int64_t{*om} * 60);
  } else {
    return std::nullopt;
  }
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const std::int64_t seconds = days * 86'400 + std::int64_t{*hour} * 3'600 + std::int64_t{*minute} * 60 + *second;
  return (seconds - offset_s) * kMicros + fraction;
}

Result<TrafficLog> parse_traffic_log(std::string_view text, std::string_view source) {
  try {
    return LogParser(source).run(text);
  } catch (const std::exception& e) {
    return Error{std::string(source), std::string("could not read the traffic log: ") + e.what()};
  }
}

Result<TrafficLog> read_traffic_log_file(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{path, "cannot open the traffic log"};
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) return Error{path, "cannot read the traffic log (is it a file?)"};
    if (static_cast<std::uint64_t>(size) > kTrafficLogBytesMax) return Error{path, "is larger than 2 GiB"};
    in.seekg(0, std::ios::beg);
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), size);
    if (!in) return Error{path, "cannot read the traffic log"};
    return parse_traffic_log(text, path);
  } catch (const std::exception& e) {
    return Error{path, std::string("cannot read the traffic log: ") + e.what()};
  }
}

}  // namespace failover::sim
