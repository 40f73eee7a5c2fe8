// Which engine route a caller's request takes. The request's `model` (or the
// x-failover-route header) names a route, a tier (its route), or a target's model id
// (the first route, in file order, that lists it). The gateway passes bodies through
// unchanged but for the model id, so a request may only go to targets that speak the
// caller's protocol unless the request is translated (gateway_translate.h: calls, streamed
// or not, whose every field has a counterpart): a route that mixes protocols gets, in the
// engine's config, one more route per protocol ("name@openai", "name@anthropic") over its
// targets of that protocol -- breaker, health and budget state stay per target, shared
// by all -- and a request that is not translated takes that one, its log line naming
// the targets skipped and why. A name that is a tier ([[tiers]]) is submitted as that
// tier, so that the engine downgrades it when the cost budget runs out, as in the
// simulator; tiers are split per protocol the same way ("name@openai"): a request that
// is not translated downgrades only to a tier with targets of its own protocol. It
// decides nothing else: the engine picks targets within the route or tier.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/result.h"

namespace failover::serve {

struct RouteChoice {
  Index route = kNoIndex;  // the engine route of the targets of the caller's protocol; kNoIndex: none
  Index any = kNoIndex;    // the engine route of all its targets, for a request that translates
  std::string name;        // the configured route's name
  // The route's targets that speak the other protocol ("an/claude-x (anthropic)"), empty
  // when there are none: a request that is not translated skips them, with its reason.
  // For a tier: those of every route its downgrades may take it to.
  std::string cross;
  // When the name is a tier: the engine tier for a request that is not translated (over
  // targets of the caller's protocol, downgrading only to tiers that have some), and the
  // user's own tier for one that is (every target). kNoIndex when the name is no tier.
  Index tier = kNoIndex;
  Index tier_any = kNoIndex;
  std::string tier_name;
};

class RouteTable {
 public:
  // Builds the engine's config from the user's: per-protocol variants of mixed routes,
  // and stream_resume off everywhere (a relayed stream cannot resume elsewhere: the
  // caller already holds the first target's bytes). The Error names a limit exceeded.
  static Result<RouteTable> build(const Config& user);

  // The route `name` stands for, for a caller of `protocol`; null when it names none.
  [[nodiscard]] const RouteChoice* find(std::string_view name, Protocol protocol) const;
  [[nodiscard]] const Config& engine_config() const noexcept { return engine_; }
  // Routes of the user's config whose stream_resume was turned off.
  [[nodiscard]] const std::vector<std::string>& resume_disabled() const noexcept { return resume_disabled_; }

 private:
  Config engine_;
  // What a name stands for: a user route, or a user tier (then `tier` is set).
  struct Named {
    Index route = kNoIndex;
    Index tier = kNoIndex;
  };
  std::vector<std::array<RouteChoice, 2>> choices_;       // per user route, per protocol
  std::vector<std::array<RouteChoice, 2>> tier_choices_;  // per user tier, per protocol
  std::unordered_map<std::string, Named> names_;          // route, tier or model id
  std::vector<std::string> resume_disabled_;
};

const char* protocol_name(Protocol p) noexcept;

}  // namespace failover::serve
