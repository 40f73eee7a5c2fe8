// A scenario over a live config (scenario_config.h): the live file is parsed and loaded
// alone first, so that a scenario can only point at a file production would accept;
// then the scenario's tables move into its tree. toml++ may throw (allocation); the
// entry point catches.
#include "sim/scenario_config.h"

#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/config/load.h"
#include "core/config/toml_reader.h"
#include "core/config/toml_values.h"
#include "core/engine/assert.h"

namespace failover::sim {
namespace {

using config::element;
using config::join;
using config::Reader;

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

class Merge {
 public:
  Merge(const std::string& source, const toml::node& config_node, std::string live_path)
      : r_(source), config_node_(config_node), live_path_(std::move(live_path)) {}

  Result<toml::table> run(toml::table& root, toml::table& live);

 private:
  void refuse_own(const toml::table& root, std::string_view key);
  void merge_providers(toml::table& root, toml::table& live);
  void merge_provider(toml::table& entry, const std::string& path, toml::array& live_providers,
                      std::set<std::string>& seen);
  void merge_policy(toml::table& root, toml::table& live);
  [[nodiscard]] std::string from_live() const {
    return "comes from the live config " + live_path_ + " (scenario.config)";
  }

  Reader r_;
  const toml::node& config_node_;
  std::string live_path_;
};

Result<toml::table> Merge::run(toml::table& root, toml::table& live) {
  refuse_own(root, "routes");
  refuse_own(root, "tiers");
  merge_providers(root, live);
  merge_policy(root, live);
  if (r_.failed()) return r_.error();
  for (auto&& [k, v] : root) {
    if (k.str() == "providers" || k.str() == "policy") continue;
    live.insert_or_assign(toml::key(k.str(), k.source()), std::move(v));
  }
  return std::move(live);
}

void Merge::refuse_own(const toml::table& root, std::string_view key) {
  if (const toml::node* n = r_.get(root, key)) {
    r_.fail(*n, std::string(key), from_live() + ": change it there, or drop scenario.config and define it here");
  }
}

// Each live provider needs its fake provider's model, and a scenario entry may add
// nothing else: a second source for base_url or prices would let the two worlds differ.
void Merge::merge_providers(toml::table& root, toml::table& live) {
  toml::array* live_providers = live.get("providers") != nullptr ? live.get("providers")->as_array() : nullptr;
  if (live_providers == nullptr) return;  // validate() refused the live file already
  std::set<std::string> seen;
  if (const toml::array* providers = r_.tables(root, "providers", "")) {
    toml::array& own = *root.get("providers")->as_array();
    FAILOVER_ASSERT(&own == providers);
    for (std::size_t i = 0; i < own.size() && !r_.failed(); ++i) {
      if (r_.table_at(own, i, "providers") == nullptr) return;
      merge_provider(*own.get(i)->as_table(), element("providers", i), *live_providers, seen);
    }
  }
  for (std::size_t i = 0; i < live_providers->size() && !r_.failed(); ++i) {
    const toml::table& p = *live_providers->get(i)->as_table();  // the live load checked the shape
    const std::string name = p.get("name")->as_string()->get();
    if (seen.count(name) == 0) {
      r_.fail(config_node_, "scenario.config",
              "the live config's provider " + in_quotes(name) + " needs a [[providers]] entry here with name = " +
                  in_quotes(name) + " and its sim table (the fake provider's model)");
    }
  }
}

void Merge::merge_provider(toml::table& entry, const std::string& path, toml::array& live_providers,
                           std::set<std::string>& seen) {
  for (const auto& [k, v] : entry) {
    if (k.str() != "name" && k.str() != "sim") {
      r_.fail(k.source(), join(path, k.str()),
              from_live() + "; a scenario's [[providers]] entry then holds only name and sim");
      return;
    }
  }
  if (!r_.require(entry, "name", path) || !r_.require(entry, "sim", path)) return;
  const std::optional<std::string> name = r_.text(entry, "name", path);
  if (!name) return;
  if (!seen.insert(*name).second) {
    r_.fail(*entry.get("name"), join(path, "name"), "repeats provider " + in_quotes(*name));
    return;
  }
  for (std::size_t i = 0; i < live_providers.size(); ++i) {
    toml::table& p = *live_providers.get(i)->as_table();
    if (p.get("name")->as_string()->get() != *name) continue;
    toml::node& sim = *entry.get("sim");
    p.insert_or_assign(toml::key("sim", entry.find("sim")->first.source()), std::move(sim));
    return;
  }
  r_.fail(*entry.get("name"), join(path, "name"),
          "names provider " + in_quotes(*name) + ", which " + live_path_ + " (scenario.config) does not define");
}

void Merge::merge_policy(toml::table& root, toml::table& live) {
  const toml::table* own = r_.table(root, "policy", "");
  if (own == nullptr || r_.failed()) return;
  if (live.get("policy") == nullptr) live.insert("policy", toml::table{});
  FAILOVER_ASSERT(live.get("policy")->is_table());  // the live load checked it
  if (!merge_into(*live.get("policy")->as_table(), *root.get("policy")->as_table())) {
    r_.fail(*own, "policy", "nests tables too deeply");
  }
}

Result<toml::table> merge(toml::table& root, const std::string& source) {
  Reader r(source);
  const toml::table* scenario = r.table(root, "scenario", "");
  const toml::node* config_node = scenario != nullptr ? r.get(*scenario, "config") : nullptr;
  if (r.failed()) return r.error();
  if (config_node == nullptr) return std::move(root);
  const std::optional<std::string> written = r.text_of(*config_node, "scenario.config");
  if (written && written->empty()) r.fail(*config_node, "scenario.config", "must name a live config file");
  if (r.failed()) return r.error();
  const std::string path = live_config_path(source, *written);
  Result<toml::table> live = parse_toml_file(path);
  if (!live) {
    return Error{live.error().where, live.error().what + " (the live config named by " +
                                         config::where(source, config_node->source()) + " scenario.config)"};
  }
  // The gateway's [serve] table may sit in the file (one file for `failover serve` and
  // the scenarios that test its policy): it means nothing to a simulation.
  const Result<Config> alone = config_from_table(*live, path, LoadOptions{{"serve"}, false});
  if (!alone) return alone.error();  // it names the live file's line
  live->erase("serve");
  return Merge(source, *config_node, path).run(root, *live);
}

}  // namespace

std::string live_config_path(std::string_view scenario_source, std::string_view config) {
  const std::filesystem::path written{std::string(config)};
  if (written.is_absolute()) return written.string();
  return (std::filesystem::path(std::string(scenario_source)).parent_path() / written).lexically_normal().string();
}

Result<toml::table> with_live_config(toml::table root, const std::string& scenario_source) {
  try {
    return merge(root, scenario_source);
  } catch (const std::exception& e) {
    return Error{scenario_source, std::string("could not merge the live config: ") + e.what()};
  } catch (...) {
    return Error{scenario_source, "could not merge the live config: unknown exception"};
  }
}

bool merge_into(toml::table& dst, toml::table& src) {
  constexpr std::size_t kTablesMax = 4'096;
  std::vector<std::pair<toml::table*, toml::table*>> work{{&dst, &src}};
  for (std::size_t step = 0; !work.empty(); ++step) {
    if (step >= kTablesMax) return false;
    const auto [d, s] = work.back();
    work.pop_back();
    for (auto&& [k, v] : *s) {
      toml::node* existing = d->get(k.str());
      if (existing != nullptr && existing->is_table() && v.is_table()) {
        work.emplace_back(existing->as_table(), v.as_table());
      } else {
        d->insert_or_assign(toml::key(k.str(), k.source()), std::move(v));  // the key keeps its place too
      }
    }
  }
  return true;
}

}  // namespace failover::sim
