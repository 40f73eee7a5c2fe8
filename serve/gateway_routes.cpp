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
  const Status valid = validate(engine);
  if (!valid) return valid.error();
  // Names: routes first, then tiers, then model ids; the first claim wins.
  for (std::size_t r = 0; r < user_routes; ++r) table.names_.emplace(user.routes[r].name, static_cast<Index>(r));
  for (const TierConfig& tier : user.tiers) table.names_.emplace(tier.name, tier.route);
  for (std::size_t r = 0; r < user_routes; ++r) {
    for (const RouteTarget& t : user.routes[r].targets)
      table.names_.emplace(user.model(t.target).id, static_cast<Index>(r));
  }
  return table;
}

const RouteChoice* RouteTable::find(std::string_view name, Protocol protocol) const {
  const auto it = names_.find(std::string(name));
  if (it == names_.end()) return nullptr;
  FAILOVER_ASSERT(it->second < choices_.size());
  return &choices_[it->second][slot(protocol)];
}

}  // namespace failover::serve
