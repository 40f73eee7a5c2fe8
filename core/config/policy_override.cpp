// Policy overrides (policy_override.h): each key is checked to be a dotted path of
// names, each value parsed as one TOML scalar through parse_toml, and the tables on the
// way created or entered. toml++ may throw (allocation); both entry points catch.
#include "core/config/policy_override.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <sstream>
#include <utility>

#include "core/config/load.h"
#include "core/config/toml_values.h"
#include "core/engine/assert.h"

namespace failover::config {
namespace {

constexpr std::size_t kOverrideDepthMax = 8;
constexpr std::size_t kOverrideKeyLengthMax = 256;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// "breaker.open_base" -> {"breaker", "open_base"}; empty for a malformed key.
std::vector<std::string> key_parts(std::string_view key) {
  std::vector<std::string> parts;
  if (key.empty() || key.size() > kOverrideKeyLengthMax) return {};
  std::string part;
  for (const char c : key) {
    if (c == '.') {
      if (part.empty()) return {};
      parts.push_back(std::move(part));
      part.clear();
    } else if (is_name_char(c)) {
      part += c;
    } else {
      return {};
    }
  }
  if (part.empty() || parts.size() + 1 > kOverrideDepthMax) return {};
  parts.push_back(std::move(part));
  FAILOVER_ASSERT(parts.size() <= kOverrideDepthMax);
  return parts;
}

// The override's value: one TOML number, boolean or string, parsed through parse_toml.
Result<toml::table> override_value(const PolicyOverride& o) {
  Result<toml::table> parsed = parse_toml("v = " + o.value, "policy." + o.key);
  const toml::node* v = parsed ? parsed->get("v") : nullptr;
  if (v == nullptr || parsed->size() != 1) return Error{"policy." + o.key, "\"" + o.value + "\" is not one TOML value"};
  if (!v->is_integer() && !v->is_floating_point() && !v->is_boolean() && !v->is_string()) {
    return Error{"policy." + o.key, "must be a number, a boolean or a string, not " + std::string(type_name(*v))};
  }
  return parsed;
}

// Sets t[key] to a copy of the scalar `v`. A copy has no source position, so an error
// about it names the key path and the file, not the line of a one-line text the user
// never saw.
void set_copy(toml::table& t, const std::string& key, const toml::node& v) {
  if (const auto* i = v.as_integer()) t.insert_or_assign(key, i->get());
  if (const auto* f = v.as_floating_point()) t.insert_or_assign(key, f->get());
  if (const auto* b = v.as_boolean()) t.insert_or_assign(key, b->get());
  if (const auto* text = v.as_string()) t.insert_or_assign(key, text->get());
}

// Sets a provider limit: o.key is "providers.NAME.LIMIT".
Status apply_to_provider(toml::table& root, const PolicyOverride& o) {
  const std::vector<std::string> parts = key_parts(o.key);
  if (parts.size() != 3)
    return Error{o.key, "a provider key is providers.NAME.LIMIT, like providers.openai.concurrency_max"};
  const std::string& name = parts[1];
  const std::string& limit = parts[2];
  const bool known = std::find(std::begin(kProviderKeys), std::end(kProviderKeys), limit) != std::end(kProviderKeys);
  if (!known) {
    std::string keys;
    for (const std::string_view k : kProviderKeys) keys += (keys.empty() ? "" : ", ") + std::string(k);
    return Error{o.key, "is not a provider limit one can set; a provider's settable keys: " + keys};
  }
  const Result<toml::table> value = override_value(o);
  if (!value) return value.error();
  toml::array* providers = root["providers"].as_array();
  std::string names;
  for (std::size_t i = 0; providers != nullptr && i < providers->size(); ++i) {
    toml::table* p = providers->get(i)->as_table();
    const auto* n = p != nullptr ? p->get_as<std::string>("name") : nullptr;
    if (n == nullptr) continue;
    if (n->get() == name) {
      set_copy(*p, limit, *value->get("v"));
      return Ok{};
    }
    names += (names.empty() ? "" : ", ") + n->get();
  }
  return Error{o.key, "no [[providers]] entry is named \"" + name + "\"" +
                          (names.empty() ? std::string(" (there is none)") : " (the providers: " + names + ")")};
}

Status apply_one(toml::table& root, const PolicyOverride& o) {
  if (is_provider_key(o.key)) return apply_to_provider(root, o);
  std::vector<std::string> parts = key_parts(o.key);
  if (parts.empty()) {
    return Error{"policy." + o.key, "is not a dotted path of names like breaker.open_base (at most " +
                                        std::to_string(kOverrideDepthMax) + " parts)"};
  }
  const Result<toml::table> value = override_value(o);
  if (!value) return value.error();
  const std::string leaf = parts.back();
  parts.pop_back();
  parts.insert(parts.begin(), "policy");
  toml::table* t = &root;
  std::string path;
  for (const std::string& part : parts) {
    path = join(path, part);
    toml::node* next = t->get(part);
    if (next == nullptr) next = &t->insert_or_assign(part, toml::table{}).first->second;
    if (!next->is_table())
      return Error{path, "is " + std::string(type_name(*next)) + ", not a table: cannot set policy." + o.key};
    t = next->as_table();
  }
  set_copy(*t, leaf, *value->get("v"));
  return Ok{};
}

}  // namespace

bool is_provider_key(std::string_view key) {
  return key.starts_with("providers.");
}

Status apply_policy_overrides(toml::table& root, const std::vector<PolicyOverride>& overrides) {
  if (overrides.size() > kOverridesMax)
    return Error{"", "more than " + std::to_string(kOverridesMax) + " policy overrides"};
  try {
    for (const PolicyOverride& o : overrides) {
      const Status applied = apply_one(root, o);
      if (!applied) return applied;
    }
    return Ok{};
  } catch (const std::exception& e) {
    return Error{"policy", std::string("could not apply the overrides: ") + e.what()};
  } catch (...) {
    return Error{"policy", "could not apply the overrides: unknown exception"};
  }
}

Result<std::string> policy_toml(std::string_view text, std::string_view name,
                                const std::vector<PolicyOverride>& overrides) {
  try {
    Result<toml::table> root = parse_toml(text, name);
    if (!root) return root.error();
    std::vector<PolicyOverride> policy_only;
    std::copy_if(overrides.begin(), overrides.end(), std::back_inserter(policy_only),
                 [](const PolicyOverride& o) { return !is_provider_key(o.key); });
    const Status applied = apply_policy_overrides(*root, policy_only);
    if (!applied) return applied.error();
    toml::table out;
    if (toml::node* policy = root->get("policy"); policy != nullptr && policy->is_table())
      out.insert("policy", std::move(*policy->as_table()));
    std::ostringstream text_out;
    text_out << toml::toml_formatter(out, toml::format_flags::none);
    return text_out.str() + "\n";
  } catch (const std::exception& e) {
    return Error{std::string(name), std::string("could not write the policy: ") + e.what()};
  } catch (...) {
    return Error{std::string(name), "could not write the policy: unknown exception"};
  }
}

}  // namespace failover::config
