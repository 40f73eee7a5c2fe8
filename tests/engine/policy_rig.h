// Helpers shared by the engine's policy tests (tests/engine/policy_*_test.cpp): a
// config built up target by target and route by route, requests of each kind, times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "tests/support/engine_harness.h"

namespace failover::test {

// Adds a provider with the given models and returns the target of its model `use`.
inline Index add_target(Config& c, const std::string& name, const std::vector<std::string>& models,
                        std::int64_t micro_usd_per_mtok, Index use = 0) {
  ProviderConfig p;
  p.name = name;
  p.base_url = "https://" + name + ".example";
  for (const std::string& id : models) {
    ModelConfig m;
    m.id = id;
    m.input_micro_usd_per_mtok = micro_usd_per_mtok;
    m.output_micro_usd_per_mtok = micro_usd_per_mtok;
    p.models.push_back(m);
  }
  c.providers.push_back(p);
  return c.intern_target(static_cast<Index>(c.providers.size() - 1), use);
}

// Adds a route over `targets` in priority order and returns its index.
inline Index add_route(Config& c, const std::string& name, const std::vector<Index>& targets) {
  RouteConfig r;
  r.name = name;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    r.targets.push_back(RouteTarget{targets[i], static_cast<std::int32_t>(i), 1});
  }
  c.routes.push_back(r);
  return static_cast<Index>(c.routes.size() - 1);
}

inline Config empty_config() {
  Config c;
  c.policy.queue.depth_max = 1'000;
  c.policy.queue.requests_max = 2'000;
  c.policy.concurrency.inflight_max = 1'000;
  return c;
}

inline Request tier_request(RequestId id, Index tier) {
  Request r;
  r.id = id;
  r.tier = tier;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  return r;
}

inline Request stream_request(RequestId id) {
  Request r;
  r.id = id;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.stream = true;
  return r;
}

inline Time T(Duration d) {
  return kTimeZero + d;
}

inline const Outcome kOk = Outcome::ok({100, 100, true});

inline void disable_breaker(Config& c) {
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
}

}  // namespace failover::test
