#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/config/load.h"
#include "serve/gateway_config.h"

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

void add_config_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check-config", "Load and validate a config file, then print its routes");
  cmd->add_option("FILE", *path, "TOML config (the schema of docs/config.md)")->required();
  cmd->callback([path] {
    // A live config may carry the gateway's [serve] table (docs/serve.md), checked too.
    Result<serve::GatewayConfig> config = serve::load_gateway_config(*path);
    if (!config) {
      std::fprintf(stderr, "error: %s\n", config.error().message().c_str());
      set_exit_code(2);
      return;
    }
    print_config(config->config);
    const serve::ServeConfig& s = config->serve;
    if (s.present) {
      std::printf("serve: listen %s, %zu key digests%s, %d connections (%d per client)\n",
                  s.listen.empty() ? std::string(serve::kDefaultListen).c_str() : s.listen.c_str(), s.key_sha256.size(),
                  s.allow_unauthenticated ? ", unauthenticated allowed on loopback" : "", s.connections_max,
                  s.connections_per_client_max);
    }
  });
}

}  // namespace failover::cli
