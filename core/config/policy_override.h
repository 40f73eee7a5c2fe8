// Overrides of the policy schema (docs/config.md) given on the command line -- `failover
// sweep --set breaker.open_base=30s` -- applied to a parsed TOML document before it is
// loaded, so that the one loader and validate() judge each value as if the file held
// it. This file decides what an override may say (a dotted path of names under
// [policy], or one of a provider's client-side limits, one TOML scalar) and where it
// goes; whether the value is a good one is left to the loader. Never throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/engine/result.h"

namespace failover::config {

// One value set on the policy: `key` is a dotted path under [policy], such as
// "breaker.consecutive_failures", or "providers.NAME.LIMIT" for one of the limits the
// engine keeps on the [[providers]] entry named NAME (kProviderKeys); `value` is one
// TOML value as text ("5", "0.5", "true", "\"30s\"").
struct PolicyOverride {
  std::string key;
  std::string value;
};
inline constexpr std::size_t kOverridesMax = 64;
// The keys of a [[providers]] entry an override may set: the limits the engine keeps on
// its own side. What a provider is (its name, URL, protocol, models) is not a policy.
inline constexpr std::string_view kProviderKeys[] = {"concurrency_max", "rpm_max", "tpm_max"};

// True for "providers.NAME.LIMIT" keys.
bool is_provider_key(std::string_view key);
// Sets every override in root's [policy] table, creating the tables on the way, or in
// the [[providers]] entry it names. A set value has no source position: an error the
// loader finds in it names the file and the key path. Errors name the override
// ("policy.<key>", or the provider key as given) in Error::where: more than
// kOverridesMax overrides, a key that is not a dotted path of names, a value that is
// not one TOML number, boolean or string, a key crossing a value that is not a table, a
// provider no [[providers]] entry is named, a provider key not in kProviderKeys.
Status apply_policy_overrides(toml::table& root, const std::vector<PolicyOverride>& overrides);

// The [policy.*] tables of the TOML `text` (`name` stands for it in errors) with
// `overrides` applied, as TOML ready to paste into a live config: every table and key
// the text sets, in name order. Provider overrides are not in it (they belong in the
// [[providers]] entries). Does not validate the policy; the loader does.
Result<std::string> policy_toml(std::string_view text, std::string_view name,
                                const std::vector<PolicyOverride>& overrides);

}  // namespace failover::config
