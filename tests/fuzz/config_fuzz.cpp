// libFuzzer entry for the config loader: any byte string either loads into a Config
// that validate() accepts again, or yields an Error -- never a crash, a leak, an
// escaped exception or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config/load.h"
#include "core/engine/assert.h"
#include "core/engine/config.h"

namespace {

void check(std::string_view text, const failover::LoadOptions& options) {
  using failover::Index;
  const failover::Result<failover::Config> r = failover::load_config_string(text, "fuzz.toml", options);
  if (!r.has_value()) {
    FAILOVER_ASSERT(!r.error().what.empty());
    FAILOVER_ASSERT(r.error().where.starts_with("fuzz.toml"));
    return;
  }
  const failover::Config& config = *r;
  FAILOVER_ASSERT(failover::validate(config).has_value());
  // Every lookup the engine makes on a loaded Config must stay in range.
  for (Index t = 0; t < config.targets.size(); ++t) {
    FAILOVER_ASSERT(!config.model(t).id.empty());
    FAILOVER_ASSERT(!config.provider_of(t).name.empty());
  }
  for (const failover::TierConfig& tier : config.tiers) {
    FAILOVER_ASSERT(config.tier_index(tier.name).has_value());
    FAILOVER_ASSERT(tier.route < config.routes.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(text, failover::LoadOptions{});
  failover::LoadOptions scenario;
  scenario.extra_top_level_keys = {"scenario", "traffic", "faults", "expect"};
  scenario.allow_sim_tables = true;
  check(text, scenario);
  return 0;
}
