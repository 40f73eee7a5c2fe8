#include "serve/gateway_routes.h"

#include "core/engine/assert.h"

namespace failover::serve {
namespace {

std::size_t slot(Protocol p) {
  return p == Protocol::openai ? 0 : 1;
}

// The targets of `route` that speak `protocol`.
std::vector<RouteTarget> targets_of(const Config& c, const RouteConfig& route, Protocol protocol) {
  std::vector<RouteTarget> out;
  for (const RouteTarget& t : route.targets) {
    if (c.provider_of(t.target).protocol == protocol) out.push_back(t);
  }
  return out;
}

std::string cross_of(const Config& c, const RouteConfig& route, Protocol caller) {
  std::string out;
  for (const RouteTarget& t : route.targets) {
    const ProviderConfig& p = c.provider_of(t.target);
    if (p.protocol == caller) continue;
    if (!out.empty()) out += ", ";
    out += p.name + "/" + c.model(t.target).id + " (" + protocol_name(p.protocol) + ")";
  }
  return out;
}

// Per user tier and protocol slot, the engine tier a request that is not translated
// takes: over its route's targets of that protocol (choices), downgrading to what its
// downgrade tier becomes -- kNoIndex when that tier has no such targets: no downgrade,
// rather than one to targets the request cannot be sent to. The user's own tier when
// nothing differs, else a new tier "name@protocol" appended to `engine`. A chain
// resolves from its end, one tier per pass; validate() has refused loops.
std::vector<std::array<Index, 2>> split_tiers(const Config& user, Config& engine,
                                              const std::vector<std::array<RouteChoice, 2>>& choices) {
  constexpr Index kUnresolved = kNoIndex - 1;
  const std::size_t n = user.tiers.size();
  std::vector<std::array<Index, 2>> out(n, {kUnresolved, kUnresolved});
  for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
    const std::size_t s = slot(p);
    for (std::size_t pass = 0; pass <= n; ++pass) {
      for (std::size_t t = 0; t < n; ++t) {
        const TierConfig& tier = user.tiers[t];
        if (out[t][s] != kUnresolved) continue;
        const Index down = tier.downgrade_to == kNoIndex ? kNoIndex : out[tier.downgrade_to][s];
        if (down == kUnresolved) continue;
        const Index route = choices[tier.route][s].route;
        if (route == kNoIndex) {
          out[t][s] = kNoIndex;
        } else if (route == tier.route && down == tier.downgrade_to) {
          out[t][s] = static_cast<Index>(t);
        } else {
          engine.tiers.push_back(TierConfig{tier.name + "@" + protocol_name(p), route, down});
          out[t][s] = static_cast<Index>(engine.tiers.size() - 1);
        }
      }
    }
  }
  for (const auto& both : out) {
    FAILOVER_ASSERT(both[0] != kUnresolved);
    FAILOVER_ASSERT(both[1] != kUnresolved);
  }
  return out;
}

// The other protocol's targets of every route a tier's downgrades may reach, for a caller of `caller`.
std::string chain_cross(const Config& user, Index tier, Protocol caller) {
  std::string out;
  for (std::size_t hops = 0; tier != kNoIndex && hops < kTiersMax; ++hops) {
    const std::string mine = cross_of(user, user.routes[user.tiers[tier].route], caller);
    if (!mine.empty() && out.find(mine) == std::string::npos) out += (out.empty() ? "" : ", ") + mine;
    tier = user.tiers[tier].downgrade_to;
  }
  return out;
}

}  // namespace

const char* protocol_name(Protocol p) noexcept {
  return p == Protocol::openai ? "openai" : "anthropic";
}

Result<RouteTable> RouteTable::build(const Config& user) {
  RouteTable table;
  table.engine_ = user;
  Config& engine = table.engine_;
  const std::size_t user_routes = user.routes.size();
  table.choices_.resize(user_routes);
  for (std::size_t r = 0; r < user_routes; ++r) {
    const RouteConfig& route = user.routes[r];
    if (route.stream_resume) table.resume_disabled_.push_back(route.name);
    engine.routes[r].stream_resume = false;
    for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
      RouteChoice& choice = table.choices_[r][slot(p)];
      choice.name = route.name;
      choice.cross = cross_of(user, route, p);
      choice.any = static_cast<Index>(r);
      std::vector<RouteTarget> mine = targets_of(user, route, p);
      if (mine.empty()) continue;  // no target for this caller: route stays kNoIndex
      if (mine.size() == route.targets.size()) {
        choice.route = static_cast<Index>(r);
        continue;
      }
      RouteConfig variant = engine.routes[r];
      variant.name = route.name + "@" + protocol_name(p);
      variant.targets = std::move(mine);
      choice.route = static_cast<Index>(engine.routes.size());
      engine.routes.push_back(std::move(variant));
    }
  }
  // A variant's capability fallback is the fallback route's variant for the same protocol.
  for (std::size_t r = 0; r < user_routes; ++r) {
    const Index fallback = user.routes[r].capability_fallback;
    for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
      const Index mine = table.choices_[r][slot(p)].route;
      if (mine == kNoIndex) continue;
      engine.routes[mine].capability_fallback =
          fallback == kNoIndex ? kNoIndex : table.choices_[fallback][slot(p)].route;
    }
  }
  if (engine.routes.size() > kRoutesMax) {
    return Error{"routes",
                 "routes that mix openai and anthropic targets are split per protocol for the gateway, "
                 "which makes " +
                     std::to_string(engine.routes.size()) + " routes, more than " + std::to_string(kRoutesMax)};
  }
  const std::vector<std::array<Index, 2>> tiers = split_tiers(user, engine, table.choices_);
  if (engine.tiers.size() > kTiersMax) {
    return Error{"tiers",
                 "tiers over routes that mix openai and anthropic targets are split per protocol for the gateway, "
                 "which makes " +
                     std::to_string(engine.tiers.size()) + " tiers, more than " + std::to_string(kTiersMax)};
  }
  const Status valid = validate(engine);
  if (!valid) return valid.error();
  table.tier_choices_.resize(user.tiers.size());
  for (std::size_t t = 0; t < user.tiers.size(); ++t) {
    for (const Protocol p : {Protocol::openai, Protocol::anthropic}) {
      RouteChoice& choice = table.tier_choices_[t][slot(p)];
      choice = table.choices_[user.tiers[t].route][slot(p)];
      choice.cross = chain_cross(user, static_cast<Index>(t), p);
      choice.tier = tiers[t][slot(p)];
      choice.tier_any = static_cast<Index>(t);
      choice.tier_name = user.tiers[t].name;
    }
  }
  // Names: routes first, then tiers, then model ids; the first claim wins.
  for (std::size_t r = 0; r < user_routes; ++r) table.names_.emplace(user.routes[r].name, Named{static_cast<Index>(r)});
  for (std::size_t t = 0; t < user.tiers.size(); ++t) {
    table.names_.emplace(user.tiers[t].name, Named{user.tiers[t].route, static_cast<Index>(t)});
  }
  for (std::size_t r = 0; r < user_routes; ++r) {
    for (const RouteTarget& t : user.routes[r].targets)
      table.names_.emplace(user.model(t.target).id, Named{static_cast<Index>(r)});
  }
  return table;
}

const RouteChoice* RouteTable::find(std::string_view name, Protocol protocol) const {
  const auto it = names_.find(std::string(name));
  if (it == names_.end()) return nullptr;
  if (it->second.tier != kNoIndex) {
    FAILOVER_ASSERT(it->second.tier < tier_choices_.size());
    return &tier_choices_[it->second.tier][slot(protocol)];
  }
  FAILOVER_ASSERT(it->second.route < choices_.size());
  return &choices_[it->second.route][slot(protocol)];
}

}  // namespace failover::serve
