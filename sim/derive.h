// `failover derive` (docs/traffic-log.md): a scenario from a traffic log. It decides how
// what the gateway saw -- per provider and per minute, the share of attempts that ended
// in each error status, a 429, a timeout, a connection error or a malformed answer, and
// the time to first byte of the successes -- becomes a fault timeline: minutes over a
// threshold, merged with their neighbours while the intensity stays close, one fault
// window each. It also writes the scenario text: that timeline, a [traffic] replaying the
// log, and the providers' sim tables, over a live config when one is given. Reading the
// files and writing the output are the command's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/ratio.h"
#include "core/engine/result.h"
#include "core/engine/time.h"
#include "sim/fleet.h"
#include "sim/traffic_log.h"

namespace failover::sim {

struct DeriveOptions {
  // The log was recorded against a fleet running K times faster than real time
  // (`failover fleet --time-scale K`): its times and durations are multiplied by K.
  std::int64_t time_scale = 1;
  Duration bucket = minutes(1);
  // A minute is in a fault when at least this share of its attempts ended so.
  std::int64_t min_intensity_ppm = 50'000;  // 5%
  // A minute joins the window before it while its share differs from the window's by at most this.
  std::int64_t merge_within_ppm = 100'000;  // 10 points
  // A minute's median time to first byte at least this multiple of the provider's is a brownout.
  std::int64_t latency_factor_min_permille = 1'500;
  // Minutes without any attempt to the provider (its breaker open, no traffic) that a window bridges.
  std::int64_t gap_minutes_max = 10;
  // The log time (µs, its own axis) that is the scenario's 0, so that the minutes line up
  // with a clock (11:00:00 sharp, or when the fleet started); empty: the first arrival.
  // Must not be after it.
  std::optional<std::int64_t> origin_us;
};

// One fault window and the evidence behind it.
struct DerivedFault {
  std::string provider;
  Fault fault;                // kind, start, duration, intensity, status / latency_factor_permille
  std::int64_t attempts = 0;  // the provider's attempts in the window
  std::int64_t hits = 0;      // of which ended so (latency: successes measured)
};

struct DerivedProvider {
  std::string name;
  std::string protocol;             // "openai" or "anthropic": of the callers it served untranslated
  std::vector<std::string> models;  // as first seen
  // p50 and p99 of the successes' time to first byte outside brownouts; empty: none seen.
  std::optional<std::pair<Duration, Duration>> latency;
  std::int64_t attempts = 0;
};

struct DerivedRoute {
  std::string name;
  std::vector<std::pair<std::string, std::string>> targets;  // (provider, model), in the order first tried
};

struct Derived {
  std::vector<DerivedFault> faults;  // by provider (first seen), then start
  std::vector<DerivedProvider> providers;
  std::vector<DerivedRoute> routes;  // routes of the log, for a scenario without a live config
  Duration span{0};                  // the origin to the log's last arrival, on the scenario's clock
  Duration lead{0};                  // the origin to the log's first arrival (arrivals_from)
  std::int64_t requests = 0;
};

// Precondition: options valid (time_scale >= 1, bucket > 0, origin_us <= the first arrival).
Derived derive_timeline(const TrafficLog& log, const DeriveOptions& options);

struct DeriveText {
  std::string title;
  std::string log_path;          // as the scenario should name it (relative to the scenario's folder)
  std::string config_path;       // a live config to take providers, routes and policy from; empty: from the log
  std::optional<Config> config;  // that config, loaded: every provider of it needs a sim table
  std::int64_t time_scale = 1;
  std::string command;  // the command line, for the header comment
};

// The scenario: [scenario], [traffic] replay, providers (their sim tables), [[faults]].
// An Error when the log names providers the live config lacks.
Result<std::string> derived_scenario_text(const Derived& derived, const DeriveText& text);

}  // namespace failover::sim
