// `failover serve --config FILE [--listen HOST:PORT] [--tls-cert F --tls-key F]
// [--threads N] [--log FILE.jsonl] [--ca-file F] [--grace D]`: the production gateway
// (serve/gateway_server.h, docs/serve.md) -- OpenAI and Anthropic endpoints in front of
// the config's routes, run by the same engine as `failover live`. It prints any notes
// about the config, then "listening on URL" with the actual port (scripts parse it when
// --listen asks for port 0); on SIGHUP it reloads the config file (a bad one is refused
// with its file:line:col and the gateway goes on as it was); on SIGINT or SIGTERM it
// stops accepting, lets requests in flight finish for up to --grace, and exits 0. `failover serve --hash-key` prints
// the SHA-256 digest of a key (read from --key-env's variable, else from stdin) for the [serve] table's api_key_sha256.
// Exit code: 1 when the server cannot start (address in use, unreadable certificate), 2 on a usage or config error.
#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "core/config/toml_values.h"
#include "serve/gateway_server.h"

namespace failover::cli {
namespace {

struct ServeCommandOptions {
  std::string config;
  std::string listen;
  std::string tls_cert;
  std::string tls_key;
  std::int32_t threads = 0;
  std::string log;
  std::string ca_file;
  std::string grace = "10s";
  bool hash_key = false;
  std::string key_env;
  bool allow_core_dump = false;
};

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

int hash_key(const ServeCommandOptions& o) {
  std::string key;
  if (!o.key_env.empty()) {
    const char* value = std::getenv(o.key_env.c_str());
    if (value == nullptr || *value == '\0')
      return fail(2, "the environment variable " + o.key_env + " is unset or empty");
    key = value;
  } else if (!std::getline(std::cin, key)) {
    return fail(2, "--hash-key reads the key from stdin (one line) or from --key-env's variable; got nothing");
  }
  while (!key.empty() && (key.back() == '\r' || key.back() == '\n')) key.pop_back();
  if (key.empty()) return fail(2, "the key is empty");
  const std::string digest = serve::sha256_hex(key);
  std::printf("%s\n# in the config's [serve] table:\n# api_key_sha256 = [\"%s\"]\n", digest.c_str(), digest.c_str());
  return 0;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// SIGHUP: the file is read and validated again; a bad one is refused with its error
// (file:line:col) and the gateway goes on with the config it has.
void reload(serve::Gateway& g, const std::string& path) {
  Result<serve::GatewayConfig> config = serve::load_gateway_config(path);
  Result<serve::ReloadReport> report = config ? g.reload(*config) : Result<serve::ReloadReport>(config.error());
  if (!config) g.reload_refused();
  if (!report) {
    std::fprintf(stderr, "error: reload refused, still serving the previous config: %s\n",
                 report.error().message().c_str());
    return;
  }
  for (const std::string& note : report->notes) std::printf("note: %s\n", note.c_str());
  std::printf("reloaded %s: %zu targets kept (%s), %zu fresh (%s); %lld requests finish on the previous config\n",
              path.c_str(), report->kept.size(), joined(report->kept).c_str(), report->fresh.size(),
              joined(report->fresh).c_str(), static_cast<long long>(report->draining));
  std::fflush(stdout);
}

int serve_gateway(const ServeCommandOptions& o) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the listening line must reach a pipe at once
  if (o.hash_key) return hash_key(o);
  if (o.config.empty()) return fail(2, "--config is required (or --hash-key)");
  (void)keep_secrets_out_of_core_dumps(o.allow_core_dump);
  const Result<Duration> grace = config::parse_duration(o.grace);
  if (!grace) return fail(2, "--grace " + grace.error().what);
  Result<serve::GatewayConfig> config = serve::load_gateway_config(o.config);
  if (!config) return fail(2, config.error().message());
  const std::string listen_text = !o.listen.empty()               ? o.listen
                                  : !config->serve.listen.empty() ? config->serve.listen
                                                                  : std::string(serve::kDefaultListen);
  const Result<serve::ListenAddress> listen = serve::parse_listen(listen_text);
  if (!listen) return fail(2, "--listen: " + listen.error().what);
  if (Status access = serve::check_access(config->serve, *listen); !access) return fail(2, access.error().message());

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log(nullptr, &std::fclose);
  if (!o.log.empty()) {
    log.reset(std::fopen(o.log.c_str(), "a"));
    if (!log) return fail(2, "--log " + o.log + ": cannot open for appending");
  }
  // Installed before the server starts: a signal right after the listening line stops
  // it cleanly (or reloads: SIGHUP's default would end the process).
  boost::asio::io_context signal_io;
  boost::asio::signal_set signals(signal_io, SIGINT, SIGTERM, SIGHUP);
  serve::GatewayOptions options;
  options.listen = *listen;
  options.tls_cert_file = o.tls_cert;
  options.tls_key_file = o.tls_key;
  options.threads = o.threads;
  options.core.tls.ca_file = o.ca_file;
  options.core.log = log.get();
  Result<std::unique_ptr<serve::Gateway>> gateway = serve::Gateway::start(*config, options);
  if (!gateway) {
    const bool usage = gateway.error().where != "listen" && gateway.error().where != "tls" &&
                       gateway.error().where != o.tls_cert && gateway.error().where != o.tls_key;
    return fail(usage ? 2 : 1, gateway.error().message());
  }
  serve::Gateway& g = **gateway;
  for (const std::string& note : g.notes()) std::printf("note: %s\n", note.c_str());
  std::printf("listening on %s\n", g.url().c_str());
  std::fflush(stdout);

  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec || signal != SIGHUP) return;  // SIGINT, SIGTERM: run() returns, the drain begins
      reload(g, o.config);
      wait_for_signal();
    });
  };
  wait_for_signal();
  signal_io.run();
  g.stop_accepting();
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(to_us(*grace));
  while (g.core_stats().unfinished > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a drain, not a test
  }
  const serve::CoreStats stats = g.core_stats();
  g.stop();
  std::printf("stopped: %lld requests, %lld attempts, %lld unfinished at the end of the grace period\n",
              static_cast<long long>(stats.requests), static_cast<long long>(stats.attempts),
              static_cast<long long>(stats.unfinished));
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Run the gateway: OpenAI- and Anthropic-compatible endpoints in front of the config's routes");
  cmd->add_option("--config", o->config, "TOML live config with an optional [serve] table (docs/serve.md)");
  cmd->add_option("--listen", o->listen, "HOST:PORT (default: [serve] listen, else 127.0.0.1:8080); port 0: any");
  CLI::Option* cert = cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS");
  CLI::Option* key = cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  cmd->add_option("--threads", o->threads, "connection threads (default: [serve] threads, 1); the engine has its own")
      ->check(CLI::Range(1, static_cast<int>(serve::kServeThreadsMax)));
  cmd->add_option("--log", o->log, "append one JSON line per request to this file (docs/serve.md)");
  cmd->add_option("--ca-file", o->ca_file, "PEM CA bundle trusted for providers, besides the system store");
  cmd->add_option("--grace", o->grace, "after SIGINT/SIGTERM, how long requests in flight may finish (\"10s\")");
  cmd->add_flag("--hash-key", o->hash_key, "print the SHA-256 digest of a key read from stdin (or --key-env) and exit");
  cmd->add_option("--key-env", o->key_env, "with --hash-key: read the key from this environment variable");
  cmd->add_flag("--allow-core-dump", o->allow_core_dump,
                "let a crash write a core dump (by default none is written: it would hold the provider keys)");
  cmd->callback([o] { set_exit_code(serve_gateway(*o)); });
}

}  // namespace failover::cli
