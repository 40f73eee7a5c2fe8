// The TOML loader: walks the parsed table with the shared reader (toml_reader.h),
// converts each key to its Config field, and finally runs validate(), whose key-path
// errors the reader points back at file:line:col. toml++ may throw; every call
// into it that can is wrapped here, so nothing escapes into core/.
#include "core/config/load.h"

#include <array>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config/schema_names.h"
#include "core/config/toml_reader.h"
#include "core/config/toml_values.h"
#include "core/config/url.h"
#include "core/engine/assert.h"

namespace failover {
namespace {

using config::element;
using config::join;
using config::kBackoffs;
using config::kDiscipline;
using config::kOnExhausted;
using config::kProtocols;
using config::kSelections;
using config::kWhenUnavailable;
using config::Names;
using config::Position;
using config::position;
using config::RatioRule;
using config::Reader;
using config::where;

// Every ratio of a policy: its range is validate()'s to judge, and a number with more
// than 6 decimals is rounded to a millionth (docs/config.md).
constexpr RatioRule kPolicyRatio{.non_negative = false, .at_most_one = false, .exact = false};

constexpr std::size_t kEnvNameBytesMax = 255;

// ---- the schema -------------------------------------------------------------------

class Loader {
 public:
  Loader(std::string_view source, const LoadOptions& options) : r_(std::string(source)), options_(options) {
    r_.explain_unknown_key("sim", "a sim table belongs in a scenario file");
  }

  Result<Config> load(const toml::table& root) {
    r_.only_keys(root, "", {"providers", "routes", "tiers", "policy"}, options_.extra_top_level_keys);
    read_providers(root);
    read_routes(root);
    read_tiers(root);
    if (const toml::table* policy = r_.table(root, "policy", "")) read_policy(*policy);
    if (r_.failed()) return r_.error();
    const Status valid = validate(config_);
    if (!valid) return r_.locate(valid.error());
    return std::move(config_);
  }

 private:
  void read_providers(const toml::table& root);
  void read_provider(const toml::table& t, const std::string& path);
  void read_model(const toml::table& t, const std::string& path, ModelConfig& m);
  void read_routes(const toml::table& root);
  void read_route(const toml::table& t, const std::string& path, RouteConfig& route);
  void read_route_target(const toml::table& t, const std::string& path, RouteConfig& route);
  void read_tiers(const toml::table& root);
  // A reference by name to an entry of a table that may come later in the file.
  // The error reads: `<path>.<key>: names <noun> "<name>" <missing>`.
  template <typename Lookup>
  void resolve(const toml::table& t, std::string_view key, const std::string& path, std::string_view noun,
               std::string_view missing, Lookup lookup, Index& out);
  void read_policy(const toml::table& t);
  void read_breaker(const toml::table& t, const std::string& path);
  void read_retry(const toml::table& t, const std::string& path);
  void read_limits(const toml::table& t);
  void read_classify(const toml::table& t, const std::string& path);
  void read_effects(const toml::table& t, const std::string& path);
  void read_status_overrides(const toml::array& a, const std::string& path);
  void check_wire_strings(const toml::table& t, const std::string& path, const ProviderConfig& p);

  Reader r_;
  const LoadOptions& options_;
  Config config_;
};

void Loader::read_providers(const toml::table& root) {
  const toml::array* providers = r_.tables(root, "providers", "");
  if (providers == nullptr) return;
  for (std::size_t i = 0; i < providers->size() && !r_.failed(); ++i) {
    if (const toml::table* t = r_.table_at(*providers, i, "providers")) {
      read_provider(*t, element("providers", i));
    }
  }
}

void Loader::read_provider(const toml::table& t, const std::string& path) {
  const bool sim = options_.allow_sim_tables;
  r_.only_keys(t, path,
               {"name", "base_url", "protocol", "api_key_env", "concurrency_max", "rpm_max", "tpm_max", "models"},
               sim ? std::vector<std::string>{"sim"} : std::vector<std::string>{});
  if (sim) (void)r_.table(t, "sim", path);  // its type is checked; its contents are not ours
  ProviderConfig& p = config_.providers.emplace_back();
  if (r_.require(t, "name", path)) r_.read(t, "name", path, p.name);
  r_.read(t, "base_url", path, p.base_url);
  r_.read_choice(t, "protocol", path, kProtocols, p.protocol);
  r_.read(t, "api_key_env", path, p.api_key_env);
  check_wire_strings(t, path, p);
  r_.read(t, "concurrency_max", path, p.concurrency_max);
  r_.read(t, "rpm_max", path, p.rpm_max);
  r_.read(t, "tpm_max", path, p.tpm_max);
  const std::string models_path = join(path, "models");
  const toml::array* models = r_.tables(t, "models", path);
  if (models == nullptr) return;
  for (std::size_t i = 0; i < models->size() && !r_.failed(); ++i) {
    if (const toml::table* m = r_.table_at(*models, i, models_path)) {
      read_model(*m, element(models_path, i), p.models.emplace_back());
    }
  }
}

// What goes onto the wire: base_url (the request line and Host) must be a URL that
// live mode accepts -- the one parser in core/config/url.h -- and api_key_env an
// environment variable name, so that no CR or LF can add a header line.
void Loader::check_wire_strings(const toml::table& t, const std::string& path, const ProviderConfig& p) {
  if (r_.failed()) return;
  if (!p.base_url.empty()) {
    const Result<config::Url> url = config::parse_url(p.base_url);
    if (!url) r_.fail(*t.get("base_url"), join(path, "base_url"), url.error().what);
  }
  if (p.api_key_env.empty() || r_.failed()) return;
  bool name_ok = p.api_key_env.size() <= kEnvNameBytesMax && !(p.api_key_env[0] >= '0' && p.api_key_env[0] <= '9');
  for (const char c : p.api_key_env) {
    name_ok = name_ok && (c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
  }
  if (!name_ok) {
    r_.fail(*t.get("api_key_env"), join(path, "api_key_env"),
            "must name an environment variable: letters, digits and '_', not starting with a digit, at most " +
                std::to_string(kEnvNameBytesMax) + " characters");
  }
}

void Loader::read_model(const toml::table& t, const std::string& path, ModelConfig& m) {
  r_.only_keys(t, path, {"id", "input_usd_per_mtok", "output_usd_per_mtok", "context_window"});
  if (r_.require(t, "id", path)) r_.read(t, "id", path, m.id);
  r_.read_scaled(t, "input_usd_per_mtok", path, 6, m.input_micro_usd_per_mtok);
  r_.read_scaled(t, "output_usd_per_mtok", path, 6, m.output_micro_usd_per_mtok);
  r_.read(t, "context_window", path, m.context_window_tokens);
}

template <typename Lookup>
void Loader::resolve(const toml::table& t, std::string_view key, const std::string& path, std::string_view noun,
                     std::string_view missing, Lookup lookup, Index& out) {
  std::string name;
  r_.read(t, key, path, name);
  if (r_.failed() || !t.contains(key)) return;
  const std::optional<Index> found = lookup(name);
  if (!found) {
    r_.fail(*t.get(key), join(path, key), "names " + std::string(noun) + " \"" + name + "\" " + std::string(missing));
    return;
  }
  out = *found;
}

void Loader::read_routes(const toml::table& root) {
  const toml::array* routes = r_.tables(root, "routes", "");
  if (routes == nullptr) return;
  std::vector<const toml::table*> tables;
  for (std::size_t i = 0; i < routes->size() && !r_.failed(); ++i) {
    const toml::table* t = r_.table_at(*routes, i, "routes");
    if (t == nullptr) return;
    tables.push_back(t);
    read_route(*t, element("routes", i), config_.routes.emplace_back());
  }
  // Capability fallbacks may name a route defined further down.
  for (std::size_t i = 0; i < tables.size() && !r_.failed(); ++i) {
    resolve(
        *tables[i], "capability_fallback", element("routes", i), "a route", "that is not defined",
        [&](std::string_view n) { return config_.route_index(n); }, config_.routes[i].capability_fallback);
  }
}

void Loader::read_route(const toml::table& t, const std::string& path, RouteConfig& route) {
  r_.only_keys(t, path, {"name", "selection", "hedge_after", "stream_resume", "capability_fallback", "targets"});
  if (r_.require(t, "name", path)) r_.read(t, "name", path, route.name);
  r_.read_choice(t, "selection", path, kSelections, route.selection);
  r_.read(t, "hedge_after", path, route.hedge_after);
  r_.read(t, "stream_resume", path, route.stream_resume);
  if (!r_.require(t, "targets", path)) return;
  const std::string targets_path = join(path, "targets");
  const toml::array* targets = r_.tables(t, "targets", path);
  if (targets == nullptr) return;
  for (std::size_t i = 0; i < targets->size() && !r_.failed(); ++i) {
    if (const toml::table* target = r_.table_at(*targets, i, targets_path)) {
      read_route_target(*target, element(targets_path, i), route);
    }
  }
}

void Loader::read_route_target(const toml::table& t, const std::string& path, RouteConfig& route) {
  r_.only_keys(t, path, {"provider", "model", "priority", "weight"});
  if (!r_.require(t, "provider", path) || !r_.require(t, "model", path)) return;
  Index provider = kNoIndex;
  resolve(
      t, "provider", path, "a provider", "that is not defined",
      [&](std::string_view n) { return config_.provider_index(n); }, provider);
  if (r_.failed()) return;
  Index model = kNoIndex;
  const ProviderConfig& p = config_.providers[provider];
  resolve(
      t, "model", path, "a model", "that provider \"" + p.name + "\" does not list",
      [&](std::string_view n) { return p.model_index(n); }, model);
  if (r_.failed()) return;
  RouteTarget& target = route.targets.emplace_back();
  target.target = config_.intern_target(provider, model);
  r_.read(t, "priority", path, target.priority);
  r_.read(t, "weight", path, target.weight);
}

void Loader::read_tiers(const toml::table& root) {
  const toml::array* tiers = r_.tables(root, "tiers", "");
  if (tiers == nullptr) return;
  std::vector<const toml::table*> tables;
  for (std::size_t i = 0; i < tiers->size() && !r_.failed(); ++i) {
    const toml::table* t = r_.table_at(*tiers, i, "tiers");
    if (t == nullptr) return;
    const std::string path = element("tiers", i);
    r_.only_keys(*t, path, {"name", "route", "downgrade_to"});
    TierConfig& tier = config_.tiers.emplace_back();
    if (r_.require(*t, "name", path)) r_.read(*t, "name", path, tier.name);
    if (r_.require(*t, "route", path)) {
      resolve(
          *t, "route", path, "a route", "that is not defined",
          [&](std::string_view n) { return config_.route_index(n); }, tier.route);
    }
    tables.push_back(t);
  }
  // A tier may downgrade to one defined further down.
  for (std::size_t i = 0; i < tables.size() && !r_.failed(); ++i) {
    resolve(
        *tables[i], "downgrade_to", element("tiers", i), "a tier", "that is not defined",
        [&](std::string_view n) { return config_.tier_index(n); }, config_.tiers[i].downgrade_to);
  }
}

void Loader::read_policy(const toml::table& t) {
  const std::string path = "policy";
  r_.only_keys(t, path, {"breaker", "retry", "timeouts", "queue", "concurrency", "cost", "health", "classify"});
  if (const toml::table* b = r_.table(t, "breaker", path)) read_breaker(*b, "policy.breaker");
  if (const toml::table* r = r_.table(t, "retry", path)) read_retry(*r, "policy.retry");
  read_limits(t);
  if (const toml::table* c = r_.table(t, "classify", path)) read_classify(*c, "policy.classify");
}

void Loader::read_breaker(const toml::table& t, const std::string& path) {
  r_.only_keys(
      t, path,
      {"consecutive_failures", "failure_rate", "window_calls_min", "window", "slow_call_threshold", "slow_call_rate",
       "open_base", "open_max", "healthy_period", "half_open_probes", "min_available_targets"});
  BreakerPolicy& b = config_.policy.breaker;
  r_.read(t, "consecutive_failures", path, b.consecutive_failures);
  r_.read(t, "failure_rate", path, b.failure_rate, kPolicyRatio);
  r_.read(t, "window_calls_min", path, b.window_calls_min);
  r_.read(t, "window", path, b.window);
  r_.read(t, "slow_call_threshold", path, b.slow_call_threshold);
  r_.read(t, "slow_call_rate", path, b.slow_call_rate, kPolicyRatio);
  r_.read(t, "open_base", path, b.open_base);
  r_.read(t, "open_max", path, b.open_max);
  r_.read(t, "healthy_period", path, b.healthy_period);
  r_.read(t, "half_open_probes", path, b.half_open_probes);
  r_.read(t, "min_available_targets", path, b.min_available_targets);
}

void Loader::read_retry(const toml::table& t, const std::string& path) {
  r_.only_keys(
      t, path,
      {"attempts_max", "backoff", "backoff_base", "backoff_max", "budget_ratio", "budget_min_per_second", "budget_max",
       "retry_after_max", "retry_after_jitter", "adaptive_throttle", "throttle_k", "throttle_window"});
  RetryPolicy& r = config_.policy.retry;
  r_.read(t, "attempts_max", path, r.attempts_max);
  r_.read_choice(t, "backoff", path, kBackoffs, r.backoff);
  r_.read(t, "backoff_base", path, r.backoff_base);
  r_.read(t, "backoff_max", path, r.backoff_max);
  r_.read(t, "budget_ratio", path, r.budget_ratio, kPolicyRatio);
  r_.read(t, "budget_min_per_second", path, r.budget_min_per_second);
  r_.read(t, "budget_max", path, r.budget_max);
  r_.read(t, "retry_after_max", path, r.retry_after_max);
  r_.read(t, "retry_after_jitter", path, r.retry_after_jitter, kPolicyRatio);
  r_.read(t, "adaptive_throttle", path, r.adaptive_throttle);
  std::int64_t k_milli = r.throttle_k_milli;
  r_.read_scaled(t, "throttle_k", path, 3, k_milli);
  if (k_milli < std::numeric_limits<std::int32_t>::min() || k_milli > std::numeric_limits<std::int32_t>::max()) {
    r_.fail(*t.get("throttle_k"), join(path, "throttle_k"), "is out of range");
  }
  r.throttle_k_milli = static_cast<std::int32_t>(k_milli);
  r_.read(t, "throttle_window", path, r.throttle_window);
}

// The small blocks: timeouts, queue, concurrency, cost, health.
void Loader::read_limits(const toml::table& policy) {
  Policy& p = config_.policy;
  if (const toml::table* t = r_.table(policy, "timeouts", "policy")) {
    const std::string path = "policy.timeouts";
    r_.only_keys(*t, path, {"request", "attempt", "first_byte", "connect"});
    r_.read(*t, "request", path, p.timeouts.request);
    r_.read(*t, "attempt", path, p.timeouts.attempt);
    r_.read(*t, "first_byte", path, p.timeouts.first_byte);
    r_.read(*t, "connect", path, p.timeouts.connect);
  }
  if (const toml::table* t = r_.table(policy, "queue", "policy")) {
    const std::string path = "policy.queue";
    r_.only_keys(*t, path, {"depth_max", "requests_max", "when_unavailable", "discipline", "lifo_share", "lifo_after"});
    r_.read(*t, "depth_max", path, p.queue.depth_max);
    r_.read(*t, "requests_max", path, p.queue.requests_max);
    r_.read_choice(*t, "when_unavailable", path, kWhenUnavailable, p.queue.when_unavailable);
    r_.read_choice(*t, "discipline", path, kDiscipline, p.queue.discipline);
    r_.read(*t, "lifo_share", path, p.queue.lifo_share, kPolicyRatio);
    r_.read(*t, "lifo_after", path, p.queue.lifo_after);
  }
  if (const toml::table* t = r_.table(policy, "concurrency", "policy")) {
    r_.only_keys(*t, "policy.concurrency", {"inflight_max", "adaptive"});
    r_.read(*t, "inflight_max", "policy.concurrency", p.concurrency.inflight_max);
    r_.read(*t, "adaptive", "policy.concurrency", p.concurrency.adaptive);
  }
  if (const toml::table* t = r_.table(policy, "cost", "policy")) {
    const std::string path = "policy.cost";
    r_.only_keys(*t, path, {"budget_usd", "budget_window", "on_exhausted"});
    r_.read_scaled(*t, "budget_usd", path, 6, p.cost.budget_micro_usd);
    r_.read(*t, "budget_window", path, p.cost.budget_window);
    r_.read_choice(*t, "on_exhausted", path, kOnExhausted, p.cost.on_exhausted);
  }
  if (const toml::table* t = r_.table(policy, "health", "policy")) {
    const std::string path = "policy.health";
    r_.only_keys(*t, path, {"ewma_weight", "ewma_idle_half_life", "misconfigured_cooldown"});
    r_.read(*t, "ewma_weight", path, p.health.ewma_weight, kPolicyRatio);
    r_.read(*t, "ewma_idle_half_life", path, p.health.ewma_idle_half_life);
    r_.read(*t, "misconfigured_cooldown", path, p.health.misconfigured_cooldown);
  }
}

void Loader::read_classify(const toml::table& t, const std::string& path) {
  r_.only_keys(t, path, {"effects", "status"});
  if (const toml::table* effects = r_.table(t, "effects", path)) {
    read_effects(*effects, join(path, "effects"));
  }
  if (const toml::array* status = r_.tables(t, "status", path)) {
    read_status_overrides(*status, join(path, "status"));
  }
}

void Loader::read_effects(const toml::table& t, const std::string& path) {
  for (const auto& [k, v] : t) {
    if (r_.failed()) return;
    const std::string name(k.str());
    const std::string class_path = join(path, name);
    const std::optional<OutcomeClass> cls = outcome_class_from(name);
    if (!cls) {
      r_.fail(k.source(), class_path,
              "is not an outcome class (success, transient, rate_limited, timeout, "
              "caller_error, capability, credential, malformed, cancelled)");
      return;
    }
    const toml::table* effect = r_.table(t, name, path);
    if (effect == nullptr) return;
    r_.only_keys(*effect, class_path, {"retry", "health", "fallback"});
    ClassEffect& e = config_.policy.classify.effects[static_cast<std::size_t>(*cls)];
    r_.read(*effect, "retry", class_path, e.retry);
    r_.read(*effect, "health", class_path, e.health);
    r_.read(*effect, "fallback", class_path, e.fallback);
  }
}

void Loader::read_status_overrides(const toml::array& a, const std::string& path) {
  for (std::size_t i = 0; i < a.size() && !r_.failed(); ++i) {
    const toml::table* t = r_.table_at(a, i, path);
    if (t == nullptr) return;
    const std::string item = element(path, i);
    r_.only_keys(*t, item, {"code", "class"});
    if (!r_.require(*t, "code", item) || !r_.require(*t, "class", item)) return;
    StatusOverride& o = config_.policy.classify.status_overrides.emplace_back();
    r_.read(*t, "code", item, o.status);
    std::string name;
    r_.read(*t, "class", item, name);
    if (r_.failed()) return;
    const std::optional<OutcomeClass> cls = outcome_class_from(name);
    if (!cls) {
      r_.fail(*t->get("class"), join(item, "class"), "\"" + name + "\" is not an outcome class");
      return;
    }
    o.cls = *cls;
  }
}

Error syntax_error(std::string_view source, const toml::parse_error& e) {
  return Error{where(source, position(e.source())), "TOML syntax error: " + std::string(e.description())};
}

// toml++ 3.3 reaches __builtin_unreachable in is_non_ascii_horizontal_whitespace() for
// most non-ASCII code points (marzer/tomlplusplus#190 and #295, found again by
// tests/fuzz/config_fuzz). The parser asks that question only outside strings and
// comments -- where TOML allows no non-ASCII character anyway -- and after a backslash
// in a multi-line basic string. This scan finds both before the parser runs.
class UnsafeTextScan {
 public:
  explicit UnsafeTextScan(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) i_ = 3;  // a UTF-8 byte-order mark
  }

  // The first unsafe character and why, if any.
  std::optional<std::pair<Position, std::string>> find() {
    // Each step advances by at least one byte, or leaves `bare` without advancing.
    const std::size_t steps_max = 2 * text_.size() + 2;
    for (std::size_t steps = 0; i_ < text_.size() && steps <= steps_max; ++steps) {
      const auto c = static_cast<unsigned char>(text_[i_]);
      const char* why = nullptr;
      switch (state_) {
        case State::outside:
          why = step_outside(c);
          break;
        case State::bare:
          why = step_bare(c);
          break;
        case State::ml_basic:
          if (c == '\\') {
            advance(1);
            why = unsafe_after_backslash();
            break;
          }
          [[fallthrough]];
        case State::ml_literal:
          step_multi_line();
          break;
        default:
          step_line(c);
          break;
      }
      if (why != nullptr) return std::pair<Position, std::string>{at_, why};
    }
    return std::nullopt;
  }

 private:
  // bare: a value that is not a string, array or inline table (a number, date, bool);
  // toml++ reads it up to a value terminator, quotes included.
  enum class State { outside, bare, comment, basic, literal, ml_basic, ml_literal };
  static constexpr std::string_view kBlank = " \t\r\n";
  static constexpr std::string_view kValueEnd = " \t\r\n\v\f]},#";
  static constexpr std::size_t kNestingMax = 1'024;

  const char* step_outside(unsigned char c) {
    if (c >= 0x80) return "a non-ASCII character outside a string or comment";
    const char top = nesting_.empty() ? '\0' : nesting_.back();
    if (c == '#') state_ = State::comment;
    if (c == '"') state_ = at("\"\"\"") ? State::ml_basic : State::basic;
    if (c == '\'') state_ = at("'''") ? State::ml_literal : State::literal;
    if (c == '=' && in_key_) in_key_ = false;
    if (c == '\n' && nesting_.empty()) in_key_ = true;
    if (c == ',' && top == '{') in_key_ = true;
    if ((c == '}' && top == '{') || (c == ']' && top == '[' && !in_key_)) nesting_.pop_back();
    if (c == '}') in_key_ = false;
    if ((c == '{' || (c == '[' && !in_key_))) {
      if (nesting_.size() >= kNestingMax) return "values nested too deeply";
      nesting_.push_back(static_cast<char>(c));
      in_key_ = c == '{';
    }
    const bool punctuation = std::string_view("\"'[]{},=#").find(static_cast<char>(c)) != std::string_view::npos ||
                             kBlank.find(static_cast<char>(c)) != std::string_view::npos;
    if (state_ == State::outside && !in_key_ && !punctuation) {
      state_ = State::bare;
      return nullptr;  // step_bare reads it, this character included
    }
    advance(state_ == State::ml_basic || state_ == State::ml_literal ? 3 : 1);
    return nullptr;
  }

  const char* step_bare(unsigned char c) {
    if (kValueEnd.find(static_cast<char>(c)) != std::string_view::npos) {
      state_ = State::outside;  // the terminator is read outside
      return nullptr;
    }
    if (c >= 0x80) return "a non-ASCII character in a value that is not a string";
    advance(1);
    return nullptr;
  }

  // Inside a comment or a one-line string. The newline that ends it is read outside,
  // where it starts a new key.
  void step_line(unsigned char c) {
    if (c == '\n') {
      state_ = State::outside;
      return;
    }
    const bool ends = (state_ == State::basic && c == '"') || (state_ == State::literal && c == '\'');
    if (state_ == State::basic && c == '\\') advance(1);  // the escaped character
    advance(1);
    if (ends) state_ = State::outside;
  }

  void step_multi_line() {
    const char quote = state_ == State::ml_basic ? '"' : '\'';
    if (!at(std::string(3, quote))) {
      advance(1);
      return;
    }
    advance(3);  // a closing delimiter may be preceded by up to two more quotes
    for (int extra = 0; extra < 2 && i_ < text_.size() && text_[i_] == quote; ++extra) advance(1);
    state_ = State::outside;
  }

  [[nodiscard]] bool at(std::string_view s) const { return text_.substr(i_).starts_with(s); }
  [[nodiscard]] bool blank_here() const {
    return i_ < text_.size() && kBlank.find(text_[i_]) != std::string_view::npos;
  }
  [[nodiscard]] bool non_ascii_here() const {
    return i_ < text_.size() && static_cast<unsigned char>(text_[i_]) >= 0x80;
  }

  void advance(std::size_t n) {
    for (std::size_t k = 0; k < n && i_ < text_.size(); ++k) {
      const auto c = static_cast<unsigned char>(text_[i_++]);
      if (c == '\n') {
        ++at_.line;
        at_.column = 1;
      } else if ((c & 0xC0U) != 0x80U) {  // count code points, not continuation bytes
        ++at_.column;
      }
    }
  }

  // After a backslash in a multi-line basic string: an escape, or a line-ending
  // backslash followed by blanks. Either way the next non-blank must be ASCII.
  const char* unsafe_after_backslash() {
    if (non_ascii_here()) return "a non-ASCII character right after a backslash";
    if (!blank_here()) {
      advance(1);  // the escaped character
      return nullptr;
    }
    while (blank_here()) advance(1);
    if (non_ascii_here()) {
      return "a non-ASCII character first on the line after a line-ending backslash "
             "(toml++ 3.3 cannot parse it safely)";
    }
    return nullptr;
  }

  std::string_view text_;
  std::size_t i_ = 0;
  Position at_{1, 1};
  State state_ = State::outside;
  bool in_key_ = true;         // left of '=' (or in a table header): no bare values
  std::vector<char> nesting_;  // '[' arrays and '{' inline tables around the value
};

// The file's bytes, or an error. Bounded because toml++ holds some 40 bytes per byte of
// dense small values ("x = [0,0,0,...]"): 1 MiB keeps a parse under ~64 MB, while the
// largest real config or scenario is a few KiB.
Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Error{path, "could not read: it is a directory, not a file"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path, "could not read: cannot open the file"};
  std::string text;
  std::array<char, 65'536> chunk{};
  while (in && text.size() <= kFileBytesMax) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (text.size() > kFileBytesMax) {
    return Error{path, "could not read: larger than " + std::to_string(kFileBytesMax >> 20U) +
                           " MiB, the limit of a config or scenario file"};
  }
  if (in.bad()) return Error{path, "could not read: an I/O error occurred"};
  return text;
}

}  // namespace

Result<toml::table> parse_toml(std::string_view text, std::string_view source_name) {
  try {
    if (const auto bad = UnsafeTextScan(text).find()) {
      return Error{where(source_name, bad->first), "TOML syntax error: " + bad->second};
    }
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return syntax_error(source_name, e);
  } catch (const std::exception& e) {
    return Error{std::string(source_name), std::string("could not parse: ") + e.what()};
  } catch (...) {
    return Error{std::string(source_name), "could not parse: unknown exception"};
  }
}

Result<toml::table> parse_toml_file(const std::string& path) {
  try {
    const Result<std::string> text = read_file(path);
    if (!text) return text.error();
    return parse_toml(*text, path);
  } catch (const std::exception& e) {
    return Error{path, std::string("could not read: ") + e.what()};
  } catch (...) {
    return Error{path, "could not read: unknown exception"};
  }
}

Result<Config> config_from_table(const toml::table& root, std::string_view source_name, const LoadOptions& options) {
  try {
    return Loader(source_name, options).load(root);
  } catch (const std::exception& e) {
    return Error{std::string(source_name), std::string("could not load: ") + e.what()};
  } catch (...) {
    return Error{std::string(source_name), "could not load: unknown exception"};
  }
}

Result<Config> load_config_string(std::string_view text, std::string_view source_name, const LoadOptions& options) {
  if (text.size() > kFileBytesMax) {
    return Error{std::string(source_name), "could not parse: larger than " + std::to_string(kFileBytesMax >> 20U) +
                                               " MiB, the limit of a config or scenario file"};
  }
  const Result<toml::table> root = parse_toml(text, source_name);
  if (!root) return root.error();
  return config_from_table(*root, source_name, options);
}

Result<Config> load_config_file(const std::string& path, const LoadOptions& options) {
  const Result<toml::table> root = parse_toml_file(path);
  if (!root) return root.error();
  return config_from_table(*root, path, options);
}

}  // namespace failover
