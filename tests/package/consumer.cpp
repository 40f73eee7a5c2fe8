// Submits one request to an installed engine and answers it: proves the installed
// headers and library are usable from another project.
#include <cstdio>
#include <variant>

#include "core/engine/engine.h"

int main() {
  using namespace failover;
  Config config;
  ProviderConfig p;
  p.name = "primary";
  p.api_key_env = "PRIMARY_KEY";
  p.models.push_back(ModelConfig{"model-a", 1'000'000, 2'000'000, 0});
  config.providers.push_back(p);
  RouteConfig route;
  route.name = "main";
  route.targets.push_back(RouteTarget{config.intern_target(0, 0), 0, 1});
  config.routes.push_back(route);
  if (!validate(config)) return 1;
  Engine engine(config, Prng(7));
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
  std::printf("consumer: request completed through the installed failover::engine\n");
  return 0;
}
