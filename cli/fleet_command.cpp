// `failover fleet SCENARIO --listen HOST:PORT`: serves the scenario's fake providers over
// real HTTP(S) on loopback (serve/fleet_server.h), in real time scaled by --time-scale,
// from scenario time --start-at, until SIGINT or SIGTERM. It prints the seed, one line
// per provider with its protocol and base URL, and "listening on URL" with the actual
// port (scripts parse it when --listen asks for port 0); on a signal, the request
// counts. Exit code: 0 after a clean stop, 1 when the server cannot start (address in
// use, unreadable certificate), 2 on a usage error (a non-loopback --listen among them)
// or a scenario that does not load.
#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/config/toml_values.h"
#include "serve/fleet_server.h"
#include "serve/fleet_wire.h"
#include "sim/scenario_load.h"

namespace failover::cli {
namespace {

struct FleetCommandOptions {
  std::string scenario;
  std::string listen;
  std::string tls_cert;
  std::string tls_key;
  std::int64_t time_scale = 1;
  std::string start_at = "0";
  std::string idle_timeout = "60s";
  std::optional<std::uint64_t> seed;
};

const char* protocol_name(Protocol p) {
  return p == Protocol::openai ? "openai" : "anthropic";
}

// "127.0.0.1:8080", "localhost:0", "[::1]:0" -> host and port.
Result<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Error{"--listen", "expects HOST:PORT (e.g. 127.0.0.1:0), got '" + std::string(text) + "'"};
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view port_text = text.substr(colon + 1);
  std::uint32_t port = 0;
  for (const char c : port_text) {
    if (c < '0' || c > '9' || port_text.size() > 5) return Error{"--listen", "port must be 0..65535"};
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port > 65'535) return Error{"--listen", "port must be 0..65535"};
  return std::make_pair(std::string(host), static_cast<std::uint16_t>(port));
}

void print_counts(const serve::FleetServer& server) {
  const serve::FleetStats s = server.stats();
  std::printf("stopped: %lld requests, %lld bad requests\n", static_cast<long long>(s.requests),
              static_cast<long long>(s.bad_requests));
  for (const serve::ProviderServeStats& p : server.provider_stats()) {
    const sim::ProviderStats& c = p.stats;
    std::printf(
        "provider %s: calls %lld, succeeded %lld, http_errors %lld, rate_limited %lld, over_capacity %lld, "
        "context_refusals %lld, hangs %lld, connect_errors %lld, malformed %lld, truncated %lld, stream_errors %lld, "
        "unterminated %lld, stalls %lld\n",
        p.name.c_str(), static_cast<long long>(c.calls), static_cast<long long>(c.succeeded),
        static_cast<long long>(c.http_errors), static_cast<long long>(c.rate_limited),
        static_cast<long long>(c.over_capacity), static_cast<long long>(c.context_refusals),
        static_cast<long long>(c.hangs), static_cast<long long>(c.connect_errors), static_cast<long long>(c.malformed),
        static_cast<long long>(c.truncated), static_cast<long long>(c.stream_errors),
        static_cast<long long>(c.unterminated), static_cast<long long>(c.stalls));
  }
  std::fflush(stdout);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 2;
}

int serve_fleet(const FleetCommandOptions& o) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the port line must reach a pipe at once
  const auto listen = parse_listen(o.listen);
  if (!listen) return usage_error(listen.error().message());
  if (const Status host = serve::check_listen_host(listen->first); !host) {
    return usage_error("--listen: " + host.error().what);
  }
  const Result<Duration> start_at = config::parse_duration(o.start_at);
  if (!start_at) return usage_error("--start-at " + start_at.error().what);
  const Result<Duration> idle_timeout = config::parse_duration(o.idle_timeout);
  if (!idle_timeout) return usage_error("--idle-timeout " + idle_timeout.error().what);
  const Result<sim::Scenario> scenario = sim::load_scenario_file(o.scenario);
  if (!scenario) return usage_error(scenario.error().message());
  if (*start_at >= scenario->duration) {
    return usage_error("--start-at " + o.start_at + " is not before the scenario's end (" +
                       duration_text(scenario->duration) + ")");
  }
  serve::FleetOptions options;
  options.host = listen->first;
  options.port = listen->second;
  options.tls_cert_file = o.tls_cert;
  options.tls_key_file = o.tls_key;
  options.time_scale = o.time_scale;
  options.start_at = *start_at;
  options.idle_timeout = *idle_timeout;
  options.seed = o.seed.value_or(scenario->seeds.front());

  boost::asio::io_context io;
  Result<std::unique_ptr<serve::FleetServer>> server = serve::FleetServer::start(io, *scenario, options);
  if (!server) {
    std::fprintf(stderr, "error: %s\n", server.error().message().c_str());
    return 1;
  }
  serve::FleetServer& fleet = **server;
  std::printf("seed %llu\n", static_cast<unsigned long long>(options.seed));
  std::printf("scenario %s: time scale %lld, starting at %s of %s\n", scenario->name.c_str(),
              static_cast<long long>(options.time_scale), duration_text(options.start_at).c_str(),
              duration_text(scenario->duration).c_str());
  for (const ProviderConfig& p : scenario->policies.front().config.providers) {
    std::printf("provider %s %s %s\n", p.name.c_str(), protocol_name(p.protocol), fleet.base_url(p.name).c_str());
  }
  const std::string url = fleet.base_url("");
  std::printf("listening on %s\n", url.substr(0, url.size() - 1).c_str());
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    fleet.stop();
  });
  io.run();
  print_counts(fleet);
  return 0;
}

}  // namespace

void add_fleet_command(CLI::App& app) {
  auto o = std::make_shared<FleetCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fleet", "Serve a scenario's fake providers over HTTP(S) on loopback, following its fault timeline in real time");
  cmd->add_option("SCENARIO", o->scenario, "scenario file (schema: docs/scenarios.md)")->required();
  cmd->add_option("--listen", o->listen, "loopback HOST:PORT to listen on; port 0 picks a free port (printed)")
      ->required();
  CLI::Option* cert = cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS");
  CLI::Option* key = cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  cmd->add_option("--time-scale", o->time_scale, "K: scenario time runs K times faster than real time")
      ->check(CLI::Range(std::int64_t{1}, serve::kTimeScaleMax));
  cmd->add_option("--start-at", o->start_at, "scenario time when the server starts, e.g. 23m (default 0)");
  cmd->add_option("--idle-timeout", o->idle_timeout,
                  "real time a connection may sit with no answer under way before it is closed; 0: never "
                  "(default 60s)");
  cmd->add_option("--seed", o->seed, "the fleet's seed, as a simulation seed (default: the scenario's first)")
      ->check(seed_text());
  cmd->callback([o] { set_exit_code(serve_fleet(*o)); });
}

}  // namespace failover::cli
