// A fault timeline from a traffic log (derive.h). Each attempt is counted in the minute
// it started, on the scenario's clock (log time x time_scale from the first arrival);
// per provider, each way of failing is a series of (hits, attempts) per minute, turned
// into windows by one pass in time order. Maps keyed by name keep the output in a fixed
// order whatever the log's line order.
#include "sim/derive.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "core/config/toml_values.h"
#include "core/engine/assert.h"

namespace failover::sim {
namespace {

constexpr std::int64_t kPpm = 1'000'000;
// Successes a minute needs to judge its latency: a median of fewer is noise.
constexpr std::int64_t kLatencySuccessesMin = 10;

struct Count {
  std::int64_t hits = 0;
  std::int64_t attempts = 0;
};

// One way of failing on one provider: the fault kind and status it derives to.
struct Series {
  FaultKind kind = FaultKind::http_error;
  std::int32_t status = 0;
  friend bool operator<(const Series& a, const Series& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.status < b.status;
  }
};

struct ProviderMinutes {
  std::map<std::int64_t, std::int64_t> attempts;                    // minute -> attempts judged
  std::map<Series, std::map<std::int64_t, std::int64_t>> hits;      // series -> minute -> hits
  std::map<std::int64_t, std::vector<std::int64_t>> first_byte_us;  // minute -> successes' time to first byte
};

// The fault an attempt's end points to; empty for a success or an end that says nothing
// about the provider (the engine's own cancels for a deadline or a lost hedge, a request
// the caller got wrong).
std::optional<Series> series_of(const LogAttempt& a) {
  if (a.outcome == "transient") {
    return a.status >= 400 ? Series{FaultKind::http_error, a.status} : Series{FaultKind::connect_error, 0};
  }
  if (a.outcome == "rate_limited") return Series{FaultKind::http_error, a.status >= 400 ? a.status : 429};
  if (a.outcome == "timeout") return Series{FaultKind::hang, 0};
  if (a.outcome == "malformed") return Series{FaultKind::malformed, 0};
  return std::nullopt;
}

bool judged(const LogAttempt& a) {
  return a.outcome == "success" || series_of(a).has_value();
}

std::int64_t median(std::vector<std::int64_t> v) {
  FAILOVER_ASSERT(!v.empty());
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

std::int64_t quantile(std::vector<std::int64_t>& sorted, std::int64_t permille) {
  FAILOVER_ASSERT(!sorted.empty());
  const auto i = static_cast<std::size_t>((static_cast<std::int64_t>(sorted.size()) - 1) * permille / 1'000);
  return sorted[i];
}

// Whether a minute's share and a window's are "of similar intensity": within
// merge_within points, or not told apart by the counts -- within three standard errors
// of their difference (pooled share p: sqrt(p (1 - p) (1/n1 + 1/n2))). A minute of 200
// calls at 60% drifts by 3.5 points by chance alone, and a real storm does not restart
// with every such wobble.
bool similar(const Count& minute, const Count& window, const DeriveOptions& o) {
  FAILOVER_ASSERT(minute.attempts > 0 && window.attempts > 0);
  const double a = static_cast<double>(minute.hits) / static_cast<double>(minute.attempts);
  const double b = static_cast<double>(window.hits) / static_cast<double>(window.attempts);
  const double pooled =
      static_cast<double>(minute.hits + window.hits) / static_cast<double>(minute.attempts + window.attempts);
  const double se =
      std::sqrt(pooled * (1.0 - pooled) *
                (1.0 / static_cast<double>(minute.attempts) + 1.0 / static_cast<double>(window.attempts)));
  const double within = std::max(static_cast<double>(o.merge_within_ppm) / static_cast<double>(kPpm), 3.0 * se);
  return std::abs(a - b) <= within;
}

// Windows of one series: minutes at min_intensity or more, each joining the window
// before it when no judged minute lies between them (at most gap_minutes_max minutes
// without attempts do), and its share is similar() to the window's.
std::vector<DerivedFault> windows(const std::string& provider, const Series& series,
                                  const std::map<std::int64_t, std::int64_t>& hits, const ProviderMinutes& pm,
                                  const DeriveOptions& o) {
  std::vector<DerivedFault> out;
  std::optional<std::int64_t> first;
  std::int64_t last = 0;
  Count window;
  const auto close = [&] {
    if (!first) return;
    Fault f;
    f.kind = series.kind;
    f.status = series.kind == FaultKind::http_error ? series.status : 503;
    f.start = kTimeZero + o.bucket * *first;
    f.duration = o.bucket * (last - *first + 1);
    f.intensity = Ratio{window.hits * kPpm / window.attempts, kPpm};
    out.push_back({provider, f, window.attempts, window.hits});
    first.reset();
    window = {};
  };
  for (const auto& [minute, attempts] : pm.attempts) {
    const auto h = hits.find(minute);
    const std::int64_t n = h == hits.end() ? 0 : h->second;
    const std::int64_t share = n * kPpm / attempts;
    if (n == 0 || share < o.min_intensity_ppm) {
      close();
      continue;
    }
    const bool joins = first && minute - last - 1 <= o.gap_minutes_max && similar({n, attempts}, window, o);
    if (!joins) {
      close();
      first = minute;
    }
    last = minute;
    window.hits += n;
    window.attempts += attempts;
  }
  close();
  return out;
}

// Brownouts: minutes whose median time to first byte is latency_factor_min or more times
// the provider's (the median of its minutes' medians), merged while the factor stays
// within a quarter of the window's.
std::vector<DerivedFault> brownouts(const std::string& provider, const ProviderMinutes& pm, const DeriveOptions& o,
                                    std::set<std::int64_t>& slow) {
  std::map<std::int64_t, std::int64_t> medians;
  for (const auto& [minute, values] : pm.first_byte_us) {
    if (static_cast<std::int64_t>(values.size()) >= kLatencySuccessesMin) medians[minute] = median(values);
  }
  std::vector<DerivedFault> out;
  if (medians.empty()) return out;
  std::vector<std::int64_t> all;
  for (const auto& [m, v] : medians) all.push_back(v);
  const std::int64_t baseline = std::max<std::int64_t>(1, median(all));
  std::optional<std::int64_t> first;
  std::int64_t last = 0;
  std::int64_t factor_sum = 0;
  std::int64_t slow_minutes = 0;
  std::int64_t successes = 0;
  const auto close = [&] {
    if (!first) return;
    Fault f =
        Fault::latency_factor(kTimeZero + o.bucket * *first, o.bucket * (last - *first + 1), factor_sum / slow_minutes);
    out.push_back({provider, f, successes, successes});
    first.reset();
    factor_sum = slow_minutes = successes = 0;
  };
  for (const auto& [minute, value] : medians) {
    const std::int64_t factor = value * 1'000 / baseline;
    if (factor < o.latency_factor_min_permille) {
      close();
      continue;
    }
    slow.insert(minute);
    const bool joins = first && minute - last - 1 <= o.gap_minutes_max &&
                       std::abs(factor - factor_sum / slow_minutes) * 4 <= factor_sum / slow_minutes;
    if (!joins) {
      close();
      first = minute;
    }
    last = minute;
    factor_sum += factor;
    ++slow_minutes;
    successes += static_cast<std::int64_t>(pm.first_byte_us.at(minute).size());
  }
  close();
  return out;
}

}  // namespace

Derived derive_timeline(const TrafficLog& log, const DeriveOptions& o) {
  FAILOVER_ASSERT(o.time_scale >= 1);
  FAILOVER_ASSERT(o.bucket > Duration{0});
  FAILOVER_ASSERT(!log.requests.empty());
  Derived d;
  d.requests = static_cast<std::int64_t>(log.requests.size());
  const std::int64_t origin = o.origin_us.value_or(log.requests.front().arrived_us);
  FAILOVER_ASSERT(origin <= log.requests.front().arrived_us);
  d.span = us((log.requests.back().arrived_us - origin) * o.time_scale);
  d.lead = us((log.requests.front().arrived_us - origin) * o.time_scale);
  std::vector<std::string> order;  // providers as first seen
  std::map<std::string, ProviderMinutes> by_provider;
  std::map<std::string, DerivedProvider> providers;
  std::map<std::string, std::size_t> route_index;
  for (const LogRequest& q : log.requests) {
    for (const LogAttempt& a : q.attempts) {
      auto [it, added] = providers.try_emplace(a.provider);
      DerivedProvider& p = it->second;
      if (added) {
        p.name = a.provider;
        order.push_back(a.provider);
      }
      if (std::find(p.models.begin(), p.models.end(), a.model) == p.models.end()) p.models.push_back(a.model);
      if (!q.protocol.empty() && p.protocol.empty() && !q.translated) p.protocol = q.protocol;
      auto [r, route_added] = route_index.try_emplace(q.route, d.routes.size());
      if (route_added) d.routes.push_back({q.route, {}});
      auto& targets = d.routes[r->second].targets;
      if (std::find(targets.begin(), targets.end(), std::pair{a.provider, a.model}) == targets.end()) {
        targets.emplace_back(a.provider, a.model);
      }
      if (!judged(a)) continue;
      ++p.attempts;
      const std::int64_t minute = (q.arrived_us - origin + a.start_us) * o.time_scale / to_us(o.bucket);
      ProviderMinutes& pm = by_provider[a.provider];
      ++pm.attempts[minute];
      if (const std::optional<Series> s = series_of(a)) {
        ++pm.hits[*s][minute];
      } else {
        pm.first_byte_us[minute].push_back((a.first_byte_us >= 0 ? a.first_byte_us : a.duration_us) * o.time_scale);
      }
    }
  }
  for (const std::string& name : order) {
    DerivedProvider& p = providers.at(name);
    if (p.protocol.empty()) p.protocol = "openai";
    const ProviderMinutes& pm = by_provider[name];
    std::vector<DerivedFault> faults;
    for (const auto& [series, hits] : pm.hits) {
      std::vector<DerivedFault> w = windows(name, series, hits, pm, o);
      faults.insert(faults.end(), w.begin(), w.end());
    }
    std::set<std::int64_t> slow;
    std::vector<DerivedFault> b = brownouts(name, pm, o, slow);
    faults.insert(faults.end(), b.begin(), b.end());
    std::stable_sort(faults.begin(), faults.end(),
                     [](const DerivedFault& x, const DerivedFault& y) { return x.fault.start < y.fault.start; });
    d.faults.insert(d.faults.end(), faults.begin(), faults.end());
    std::vector<std::int64_t> calm;
    for (const auto& [minute, values] : pm.first_byte_us) {
      if (slow.count(minute) == 0) calm.insert(calm.end(), values.begin(), values.end());
    }
    if (!calm.empty()) {
      std::sort(calm.begin(), calm.end());
      p.latency = std::pair{us(std::max<std::int64_t>(1, quantile(calm, 500))),
                            us(std::max<std::int64_t>(1, quantile(calm, 990)))};
    }
    d.providers.push_back(std::move(p));
  }
  return d;
}

namespace {

// A TOML basic string.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string percent(const Ratio& r) {
  const std::int64_t ppm = r.num * kPpm / r.den;  // 4 decimals of a percent
  std::string fraction = std::to_string(ppm % 10'000 + 10'000).substr(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return std::to_string(ppm / 10'000) + (fraction.empty() ? "" : "." + fraction) + "%";
}

std::string dur(Duration d) {
  return toml_string(config::duration_text(d));
}

std::string sim_table(const DerivedProvider* p) {
  if (p == nullptr || !p->latency)
    return "{ latency = { p50 = \"1s\", p99 = \"5s\" } }  # no success in the log: a placeholder";
  return "{ latency = { p50 = " + dur(p->latency->first) + ", p99 = " + dur(p->latency->second) + " } }";
}

std::string fault_text(const DerivedFault& f) {
  const Fault& x = f.fault;
  std::string kind = x.kind == FaultKind::http_error      ? "http_error"
                     : x.kind == FaultKind::hang          ? "hang"
                     : x.kind == FaultKind::connect_error ? "connect_error"
                     : x.kind == FaultKind::malformed     ? "malformed"
                                                          : "latency";
  // Named, since two windows of one provider may start together (a 500 and a 503 series).
  const std::string name = f.provider + "/" + (x.kind == FaultKind::http_error ? std::to_string(x.status) : kind) +
                           "@" + config::duration_text(x.start - kTimeZero);
  std::string out = "[[faults]]\nname = " + toml_string(name) + "\nprovider = " + toml_string(f.provider) +
                    "\nkind = \"" + kind + "\"\n";
  if (x.kind == FaultKind::http_error) out += "status = " + std::to_string(x.status) + "\n";
  out += "start = " + dur(x.start - kTimeZero) + "\nduration = " + dur(x.duration) + "\n";
  if (x.kind == FaultKind::latency) {
    const std::int64_t f1000 = x.latency_factor_permille;
    out += "factor = " + std::to_string(f1000 / 1'000) + "." + std::to_string(f1000 % 1'000 + 1'000).substr(1) +
           "  # the median time to first byte of " + std::to_string(f.hits) + " successes, against the provider's\n";
  } else {
    out += "intensity = \"" + percent(x.intensity) + "\"  # " + std::to_string(f.hits) + " of " +
           std::to_string(f.attempts) + " attempts\n";
  }
  return out + "\n";
}

}  // namespace

Result<std::string> derived_scenario_text(const Derived& d, const DeriveText& t) {
  Time end = kTimeZero + d.span;
  for (const DerivedFault& f : d.faults) end = std::max(end, f.fault.start + f.fault.duration);
  // Five minutes to drain, rounded up to a whole minute.
  const Duration duration = minutes((to_us(end - kTimeZero) + to_us(minutes(1)) - 1) / to_us(minutes(1)) + 5);
  std::string out = "# Derived by `" + t.command + "` from the traffic log " + t.log_path + ":\n# " +
                    std::to_string(d.requests) + " requests over " + config::duration_text(d.span) +
                    (t.time_scale > 1 ? " (times x " + std::to_string(t.time_scale) + ": the log was recorded " +
                                            "against a fleet that fast)"
                                      : "") +
                    ".\n# Each [[faults]] window is what the log saw (docs/traffic-log.md): check them, then\n"
                    "# `failover run` this file.\n\n";
  out += "[scenario]\ntitle = " + toml_string(t.title) +
         "\nsource = " + toml_string("the traffic log " + t.log_path + ", derived by failover derive") + "\n";
  if (!t.config_path.empty()) out += "config = " + toml_string(t.config_path) + "\n";
  out += "duration = " + dur(duration) + "\nseeds = [1]\n\n[traffic]\nreplay = " + toml_string(t.log_path) + "\n";
  if (t.time_scale > 1) out += "speed = \"1/" + std::to_string(t.time_scale) + "\"\n";
  if (d.lead > Duration{0}) out += "arrivals_from = " + dur(d.lead) + "  # the first request, after --from\n";
  out += "\n";
  const auto seen = [&](const std::string& name) -> const DerivedProvider* {
    for (const DerivedProvider& p : d.providers) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  if (t.config) {
    for (const DerivedProvider& p : d.providers) {
      const bool known = std::any_of(t.config->providers.begin(), t.config->providers.end(),
                                     [&](const ProviderConfig& c) { return c.name == p.name; });
      if (!known) {
        return Error{t.config_path, "the traffic log names provider " + toml_string(p.name) +
                                        ", which this live config does not define: derive against the config "
                                        "the log was recorded with"};
      }
    }
    for (const ProviderConfig& c : t.config->providers) {
      out += "[[providers]]\nname = " + toml_string(c.name) + "\nsim = " + sim_table(seen(c.name)) + "\n\n";
    }
  } else {
    for (const DerivedProvider& p : d.providers) {
      out += "[[providers]]\nname = " + toml_string(p.name) + "\nprotocol = " + toml_string(p.protocol) +
             "\nsim = " + sim_table(&p) + "\n";
      for (const std::string& m : p.models) out += "[[providers.models]]\nid = " + toml_string(m) + "\n";
      out += "\n";
    }
    for (const DerivedRoute& r : d.routes) {
      out += "[[routes]]  # its targets in the order the log first tried them\nname = " + toml_string(r.name) +
             "\ntargets = [";
      for (std::size_t i = 0; i < r.targets.size(); ++i) {
        out += std::string(i == 0 ? "" : ", ") + "{ provider = " + toml_string(r.targets[i].first) +
               ", model = " + toml_string(r.targets[i].second) + ", priority = " + std::to_string(i) + " }";
      }
      out += "]\n\n";
    }
  }
  for (const DerivedFault& f : d.faults) out += fault_text(f);
  return out;
}

}  // namespace failover::sim
