// The traffic log (docs/traffic-log.md): the requests an application made, as
// `[traffic] replay` (scenario_load.h) and `failover derive` (derive.h) read them. It
// decides how a log is spelt -- the gateway's own JSON lines (`failover serve --log`,
// version 1, or the unversioned lines before it), a generic JSON-lines form and a
// generic CSV form -- and what a bad line reads as ("file:line: problem", with the
// column for CSV). The scenario loader and `failover derive` read the file through it;
// the simulator never does. What the requests mean to a scenario is left to the loader,
// what their attempts say about the providers to derive.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/result.h"

namespace failover::sim {

// The version of the gateway's lines this reader knows; a line of a later one is an error.
inline constexpr std::int64_t kTrafficLogVersion = 1;
inline constexpr std::size_t kTrafficLogBytesMax = std::size_t{2} << 30U;  // 2 GiB
inline constexpr std::size_t kTrafficLogLineBytesMax = std::size_t{1} << 20U;
inline constexpr std::size_t kTrafficLogRequestsMax = 20'000'000;
inline constexpr std::size_t kLogAttemptsMax = 64;  // per request

// One attempt of a gateway line (`tries`).
struct LogAttempt {
  std::string provider;  // "storm" of the target "storm/gpt-storm"
  std::string model;
  std::string outcome;  // the engine's outcome class, or timeout / deadline / hedge_lost / cancelled
  std::int32_t status = 0;
  std::int64_t start_us = 0;  // after the request arrived; 0 in lines that do not say
  std::int64_t first_byte_us = -1;
  std::int64_t duration_us = 0;
};

struct LogRequest {
  std::int64_t line = 0;        // in the file, from 1
  std::int64_t arrived_us = 0;  // on the log's axis: µs since the Unix epoch, or since any origin of its own
  std::string route;            // a route, tier or model name, as the log has it
  bool by_model = false;        // the generic forms' `model` column rather than `route`
  std::int64_t prompt_tokens = 0;
  std::optional<std::int64_t> output_tokens;  // empty: unknown (a request that failed)
  bool stream = false;
  std::string protocol;              // gateway lines: the caller's ("openai" or "anthropic")
  bool translated = false;           // gateway lines: sent across protocols
  std::vector<LogAttempt> attempts;  // gateway lines only
};

enum class LogForm : std::uint8_t { gateway, json_lines, csv };

struct TrafficLog {
  LogForm form = LogForm::gateway;   // of the first request (JSON lines may mix the two JSON forms)
  std::vector<LogRequest> requests;  // by arrival, then line: at least one
  std::int64_t refused = 0;          // gateway lines the front refused: they never reached the engine
};

// Parses a whole log. `source` names the file in errors. Blank lines are skipped, and in
// CSV lines starting with '#'. Never throws.
Result<TrafficLog> parse_traffic_log(std::string_view text, std::string_view source);

// As parse_traffic_log, for the file at `path` (at most kTrafficLogBytesMax). Never throws.
Result<TrafficLog> read_traffic_log_file(const std::string& path);

// "2026-05-08T11:23:00.250Z" or with an offset ("+02:00"), a space allowed for the T:
// µs since the Unix epoch. Empty when it is not such a time.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view text);

}  // namespace failover::sim
