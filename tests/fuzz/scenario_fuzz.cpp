// libFuzzer entry for the scenario loader: any byte string either loads into a Scenario
// whose every policy validate() accepts and whose parts agree with each other, or
// yields an Error naming the file -- never a crash, a leak, an escaped exception or
// undefined behaviour. Nothing is simulated: the loader alone is under test.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/engine/assert.h"
#include "core/engine/config.h"
#include "sim/scenario.h"
#include "sim/scenario_load.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sim = failover::sim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const failover::Result<sim::Scenario> r = sim::load_scenario_string(text, "fuzz.toml");
  if (!r.has_value()) {
    FAILOVER_ASSERT(!r.error().what.empty());
    FAILOVER_ASSERT(r.error().where.starts_with("fuzz.toml"));
    return 0;
  }
  const sim::Scenario& s = *r;
  FAILOVER_ASSERT(s.name == "fuzz");
  FAILOVER_ASSERT(s.duration > failover::Duration{0});
  FAILOVER_ASSERT(!s.seeds.empty() && s.seeds.size() <= sim::kSeedsMax);
  FAILOVER_ASSERT(!s.policies.empty() && s.policies.size() <= sim::kPoliciesMax);
  FAILOVER_ASSERT(s.policies.front().name == "policy");
  FAILOVER_ASSERT(s.expectations.size() <= sim::kExpectationsMax);
  for (const sim::NamedPolicy& p : s.policies) {
    FAILOVER_ASSERT(failover::validate(p.config).has_value());
    FAILOVER_ASSERT(p.config.providers.size() == s.providers.size());
    FAILOVER_ASSERT(s.find_policy(p.name) == &p);
  }
  for (const sim::Expectation& e : s.expectations) FAILOVER_ASSERT(s.find_policy(e.policy) != nullptr);
  // What a run is built from, for every policy: the spec alone, nothing simulated.
  for (const sim::NamedPolicy& p : s.policies) {
    const sim::RunSpec spec = s.run_spec(p, s.seeds.front());
    FAILOVER_ASSERT(spec.providers.size() == spec.config.providers.size());
  }
  return 0;
}
