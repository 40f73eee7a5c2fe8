// `failover derive LOG [-o SCENARIO] [--config LIVE] [--time-scale K]`: a scenario from a
// traffic log (sim/derive.h, docs/traffic-log.md) -- the fault timeline the log shows,
// a [traffic] replaying the log, and providers and routes from a live config or, without
// one, from the log. The text is loaded back before it is written, so what it writes is a
// scenario `failover run` accepts. Exit code: 0 written, 1 the derived text does not load
// (a bug), 2 a usage error, a log or config that does not read, a provider the config lacks.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/config/load.h"
#include "core/config/toml_values.h"
#include "sim/derive.h"
#include "sim/scenario_load.h"
#include "sim/traffic_log.h"

namespace failover::cli {
namespace {

namespace fs = std::filesystem;

struct DeriveCommandOptions {
  std::string log;
  std::string output;
  std::string config;
  std::string title;
  std::string from;
  std::int64_t time_scale = 1;
  double min_intensity = 5.0;  // percent
  double merge_within = 10.0;  // points
};

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

// `path` as a file in `folder` names it: relative when both are relative or both absolute.
std::string relative_to(const std::string& path, const fs::path& folder) {
  std::error_code ec;
  const fs::path rel = fs::proximate(fs::absolute(path, ec), fs::absolute(folder, ec), ec);
  return ec ? path : rel.generic_string();
}

std::string fault_line(const sim::DerivedFault& f) {
  const sim::Fault& x = f.fault;
  const char* kind = x.kind == sim::FaultKind::http_error      ? "http_error"
                     : x.kind == sim::FaultKind::hang          ? "hang"
                     : x.kind == sim::FaultKind::connect_error ? "connect_error"
                     : x.kind == sim::FaultKind::malformed     ? "malformed"
                                                               : "latency";
  std::string s = "fault " + f.provider + " " + kind;
  if (x.kind == sim::FaultKind::http_error) s += " " + std::to_string(x.status);
  s += " from " + duration_text(x.start - kTimeZero) + " for " + duration_text(x.duration) + ": ";
  if (x.kind == sim::FaultKind::latency) {
    s += "x" + std::to_string(x.latency_factor_permille / 1'000) + "." +
         std::to_string(x.latency_factor_permille % 1'000 + 1'000).substr(1) + " time to first byte";
  } else {
    s += std::to_string(f.hits) + " of " + std::to_string(f.attempts) + " attempts";
  }
  return s;
}

int derive(const DeriveCommandOptions& o, const std::string& command) {
  if (o.time_scale < 1 || o.time_scale > 1'000'000) return fail(2, "--time-scale must be 1..1000000");
  if (o.min_intensity <= 0.0 || o.min_intensity > 100.0) return fail(2, "--min-intensity must be in (0, 100]");
  if (o.merge_within < 0.0 || o.merge_within > 100.0) return fail(2, "--merge-within must be in [0, 100]");
  const Result<sim::TrafficLog> log = sim::read_traffic_log_file(o.log);
  if (!log) return fail(2, log.error().message());
  if (log->requests.front().attempts.empty() && log->form != sim::LogForm::gateway) {
    std::fprintf(stderr,
                 "warning: %s has no attempts (a generic log): the scenario replays its traffic, with no "
                 "fault timeline\n",
                 o.log.c_str());
  }
  const fs::path folder = o.output.empty() ? fs::path(".") : fs::path(o.output).parent_path();
  sim::DeriveText text;
  text.title = o.title.empty() ? "traffic of " + fs::path(o.log).filename().string() : o.title;
  text.log_path = relative_to(o.log, folder);
  text.time_scale = o.time_scale;
  text.command = command;
  if (!o.config.empty()) {
    Result<Config> config = load_config_file(o.config, LoadOptions{{"serve"}, false});
    if (!config) return fail(2, config.error().message());
    text.config = std::move(*config);
    text.config_path = relative_to(o.config, folder);
  }
  sim::DeriveOptions options;
  options.time_scale = o.time_scale;
  if (!o.from.empty()) {
    // An RFC 3339 time, or seconds on the log's own axis (as the generic forms write them).
    std::optional<std::int64_t> from = sim::parse_rfc3339_us(o.from);
    if (!from) {
      const Result<sim::TrafficLog> number =
          sim::parse_traffic_log("timestamp,route,prompt_tokens,output_tokens\n" + o.from + ",x,1,1\n", "--from");
      if (number) from = number->requests.front().arrived_us;
    }
    if (!from) return fail(2, "--from " + o.from + ": not an RFC 3339 time (2026-05-08T11:00:00Z) nor seconds");
    if (*from > log->requests.front().arrived_us) {
      return fail(2, "--from " + o.from + " is after the log's first arrival: the scenario would lose its start");
    }
    options.origin_us = from;
  }
  options.min_intensity_ppm = static_cast<std::int64_t>(o.min_intensity * 10'000.0 + 0.5);
  options.merge_within_ppm = static_cast<std::int64_t>(o.merge_within * 10'000.0 + 0.5);
  const sim::Derived derived = sim::derive_timeline(*log, options);
  const Result<std::string> scenario = sim::derived_scenario_text(derived, text);
  if (!scenario) return fail(2, scenario.error().message());
  // Loaded back as it will stand, so that a scenario that does not load is never written.
  const std::string name = o.output.empty() ? "derived.toml" : o.output;
  const Result<sim::Scenario> check = sim::load_scenario_string(*scenario, name);
  if (!check) return fail(1, "the derived scenario does not load (please report it): " + check.error().message());
  if (o.output.empty()) {
    std::fputs(scenario->c_str(), stdout);
    for (const sim::DerivedFault& f : derived.faults) std::fprintf(stderr, "%s\n", fault_line(f).c_str());
    return 0;
  }
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  out << *scenario;
  out.close();
  if (!out) return fail(2, o.output + ": cannot write the scenario");
  std::printf("%s: %lld requests over %s, %zu fault windows\n", o.output.c_str(),
              static_cast<long long>(derived.requests), duration_text(derived.span).c_str(), derived.faults.size());
  for (const sim::DerivedFault& f : derived.faults) std::printf("%s\n", fault_line(f).c_str());
  return 0;
}

}  // namespace

void add_derive_command(CLI::App& app) {
  auto options = std::make_shared<DeriveCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "derive", "Derive a scenario from a traffic log: its fault timeline per provider and minute, and its traffic");
  cmd->add_option("log", options->log, "the traffic log (docs/traffic-log.md): failover serve --log, JSONL or CSV")
      ->required();
  cmd->add_option("-o,--output", options->output, "the scenario file to write (default: standard output)");
  cmd->add_option(
      "--config", options->config,
      "the live config the log was recorded with: its providers, routes and policy (default: from the log)");
  cmd->add_option("--title", options->title, "the scenario's title");
  cmd->add_option("--from", options->from,
                  "the log time that is the scenario's 0 (RFC 3339, or seconds): minutes line up from there "
                  "(default: the first arrival)");
  cmd->add_option("--time-scale", options->time_scale,
                  "the log was recorded against failover fleet --time-scale K: times and durations x K (default 1)");
  cmd->add_option("--min-intensity", options->min_intensity,
                  "percent of a minute's attempts that makes it part of a fault (default 5)");
  cmd->add_option("--merge-within", options->merge_within,
                  "points of intensity within which adjacent minutes merge into one window (default 10)");
  cmd->callback([options] {
    std::string command = "failover derive " + options->log;
    if (!options->output.empty()) command += " -o " + options->output;
    if (!options->config.empty()) command += " --config " + options->config;
    if (options->time_scale != 1) command += " --time-scale " + std::to_string(options->time_scale);
    set_exit_code(derive(*options, command));
  });
}

}  // namespace failover::cli
