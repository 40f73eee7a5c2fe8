// `failover check-config FILE [--print-live]`: loads a live config, or a scenario (a file
// with a [scenario] table, which is loaded whole, live config it names included), and
// prints the routes of the config -- for a scenario, of its policy under test. With
// --print-live it prints instead the live config that config amounts to, every key
// spelt out (core/config/write.h): the file to deploy for what the scenario tested.
// Exit codes: 0 loaded, 2 not (the error names file:line:col).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/config/load.h"
#include "core/config/write.h"
#include "serve/gateway_config.h"
#include "sim/scenario_load.h"

namespace failover::cli {
namespace {
int g_exit_code = 0;

const char* protocol_name(Protocol p) {
  return p == Protocol::openai ? "openai" : "anthropic";
}

void print_config(const Config& c) {
  std::printf("providers: %zu, targets: %zu, routes: %zu, tiers: %zu\n", c.providers.size(), c.targets.size(),
              c.routes.size(), c.tiers.size());
  for (const RouteConfig& r : c.routes) {
    std::printf("route %s:", r.name.c_str());
    for (const RouteTarget& rt : r.targets) {
      const ProviderConfig& p = c.provider_of(rt.target);
      const ModelConfig& m = c.model(rt.target);
      std::printf("  [p%d] %s/%s (%s, $%.2f/$%.2f per 1M)", rt.priority, p.name.c_str(), m.id.c_str(),
                  protocol_name(p.protocol), static_cast<double>(m.input_micro_usd_per_mtok) / 1e6,
                  static_cast<double>(m.output_micro_usd_per_mtok) / 1e6);
    }
    std::printf("\n");
  }
}
}  // namespace

int exit_code() {
  return g_exit_code;
}
void set_exit_code(int code) {
  g_exit_code = code;
}

namespace {

struct CheckOptions {
  std::string path;
  bool print_live = false;
};

// The config FILE amounts to: the file itself (with the gateway's [serve] table, checked
// too: docs/serve.md), or a scenario's policy under test. A scenario is told apart by
// its [scenario] table, which a live config never has.
Result<Config> load_any(const std::string& path, bool& is_scenario, serve::ServeConfig& serve_table) {
  const Result<toml::table> root = parse_toml_file(path);
  if (!root) return root.error();
  is_scenario = root->contains("scenario");
  if (!is_scenario) {
    Result<serve::GatewayConfig> gateway = serve::load_gateway_config(path);
    if (!gateway) return gateway.error();
    serve_table = gateway->serve;
    return std::move(gateway->config);
  }
  Result<sim::Scenario> s = sim::load_scenario_file(path);
  if (!s) return s.error();
  if (!s->config_path.empty())
    std::fprintf(stderr, "%s: providers, routes and policy from %s\n", path.c_str(), s->config_path.c_str());
  return std::move(s->policies.front().config);  // the policy under test comes first
}

int check(const CheckOptions& o) {
  bool is_scenario = false;
  serve::ServeConfig table;
  const Result<Config> config = load_any(o.path, is_scenario, table);
  if (!config) {
    std::fprintf(stderr, "error: %s\n", config.error().message().c_str());
    return 2;
  }
  if (!o.print_live) {
    if (is_scenario) std::printf("scenario %s: the policy under test\n", o.path.c_str());
    print_config(*config);
    if (table.present) {
      std::printf("serve: listen %s, %zu key digests%s, %d connections (%d per client)\n",
                  table.listen.empty() ? std::string(serve::kDefaultListen).c_str() : table.listen.c_str(),
                  table.key_sha256.size(), table.allow_unauthenticated ? ", unauthenticated allowed on loopback" : "",
                  table.connections_max, table.connections_per_client_max);
    }
    return 0;
  }
  const Result<std::string> text = config::config_toml(*config);
  if (!text) {
    std::fprintf(stderr, "error: %s\n", text.error().message().c_str());
    return 2;
  }
  std::printf("# The live config %s amounts to (failover check-config --print-live; docs/config.md).\n%s",
              o.path.c_str(), text->c_str());
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check-config", "Load and validate a live config or a scenario, then print its routes (or --print-live)");
  cmd->add_option("FILE", o->path, "TOML live config (docs/config.md) or scenario (docs/scenarios.md)")->required();
  cmd->add_flag("--print-live", o->print_live,
                "print the live config FILE amounts to (for a scenario: its policy under test), every key spelt out");
  cmd->callback([o] { set_exit_code(check(*o)); });
}

}  // namespace failover::cli
