// Loads a config with the installed TOML loader (failover::core), then submits one
// request to an engine built from it and answers it: proves the installed headers,
// under their <failover/...> paths, and the libraries are usable from another project.
#include <cstdio>
#include <variant>

#include <failover/config/load.h>
#include <failover/engine/engine.h>

namespace {

constexpr const char* kConfig = R"toml(
[[providers]]
name = "primary"
base_url = "https://primary.example"
api_key_env = "PRIMARY_KEY"

[[providers.models]]
id = "model-a"
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0

[[routes]]
name = "main"
targets = [{ provider = "primary", model = "model-a" }]
)toml";

}  // namespace

int main() {
  using namespace failover;
  const Result<Config> config = load_config_string(kConfig, "consumer.toml");
  if (!config) {
    std::fprintf(stderr, "consumer: %s\n", config.error().message().c_str());
    return 1;
  }
  Engine engine(*config, Prng(7));
  ActionBuffer out;
  Request r;
  r.id = 1;
  r.route = 0;
  r.prompt_tokens = 10;
  r.output_tokens_max = 10;
  engine.submit(Time{}, r, out);
  if (out.size() != 1 || !std::holds_alternative<SendAttempt>(out[0])) return 2;
  const AttemptId attempt = std::get<SendAttempt>(out[0]).attempt;
  out.clear();
  engine.on_response(Time{} + ms(5), attempt, Outcome::ok({10, 10, true}), out);
  if (out.size() < 1 || !std::holds_alternative<Complete>(out[out.size() - 1])) return 3;
  std::printf("consumer: a config loaded and a request completed through the installed failover package\n");
  return 0;
}
