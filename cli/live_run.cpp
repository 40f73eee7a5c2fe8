// The live run (live_run.h): two threads. The fleet serves on its own io_context and
// thread (it keeps its own state; FleetServer::stop is posted to it); the arrivals, the
// application's buffer, the live driver and every measurement run on the calling
// thread's io_context, so that the record needs no lock. Every event is stamped with
// scenario time read from one clock: (steady now - the fleet's origin) x K.
#include "cli/live_run.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/cost.h"
#include "core/engine/prng.h"
#include "core/transport/live_driver.h"
#include "serve/fleet_server.h"
#include "serve/fleet_wire.h"
#include "serve/run_ca.h"
#include "sim/estimate.h"
#include "sim/traffic.h"

namespace failover::cli {
namespace {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;

// One message of the application, from its first arrival to its end (requeues included).
struct Message {
  Time arrived;  // scenario time it was first sent: latencies count from here
  Index class_index = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int32_t deliveries = 0;
};

// A user message the transport counts as exactly `tokens` prompt tokens
// (protocol::estimate_prompt_tokens: (role + content bytes) / 4, rounded up), so that the
// engine and the fleet see the arrival's size. One token is not expressible with the
// role's 4 bytes plus a non-empty content: it becomes 2.
std::string prompt_text(std::int64_t tokens) {
  const std::int64_t bytes = std::max<std::int64_t>(4 * tokens - 4, 1);
  return std::string(static_cast<std::size_t>(bytes), 'x');
}

// The arrivals, the buffer and the bookkeeping of one live run, on one io_context.
class LiveLoop {
 public:
  LiveLoop(asio::io_context& io, const sim::RunSpec& spec, std::int64_t k, Steady::time_point origin,
           sim::LiveRecord& record)
      : io_(io),
        spec_(spec),
        k_(k),
        origin_(origin),
        record_(record),
        traffic_(spec.traffic, Prng(spec.seed).fork("traffic")),  // as sim/simulation.cpp seeds it
        arrival_timer_(io),
        end_timer_(io) {}

  void attach(transport::LiveDriver& driver) { driver_ = &driver; }

  // Arms the first arrival and the end of the scenario.
  void start() {
    FAILOVER_ASSERT(driver_ != nullptr);
    pending_ = traffic_.next_arrival();
    arm_arrival();
    end_timer_.expires_at(steady_at(spec_.end));
    end_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  }

  void on_action(const Action& action) {
    if (finished_ || std::holds_alternative<Complete>(action)) return;  // ends come through on_done
    record_.action(scenario_now(), action);
  }

  [[nodiscard]] std::int64_t held() const noexcept { return held_; }
  [[nodiscard]] double late_mean_ms() const {
    return arrivals_ == 0 ? 0.0 : late_total_us_ / 1e3 / static_cast<double>(arrivals_);
  }
  [[nodiscard]] double late_max_ms() const { return late_max_us_ / 1e3; }

 private:
  [[nodiscard]] Time scenario_now() const {
    const auto real = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - origin_).count();
    return kTimeZero + us(std::max<std::int64_t>(real, 0) * k_);
  }
  [[nodiscard]] Steady::time_point steady_at(Time t) const {
    return origin_ + std::chrono::microseconds(to_us(sim::scaled_down(t - kTimeZero, k_)));
  }

  void arm_arrival() {
    if (!pending_ || finished_) return;
    arrival_timer_.expires_at(steady_at(pending_->at));
    arrival_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) on_arrivals();
    });
  }

  // Every arrival already due, a bounded number per handler so that answers are read
  // between them when the machine falls behind.
  void on_arrivals() {
    constexpr int kPerHandlerMax = 256;
    for (int n = 0; n < kPerHandlerMax && pending_ && !finished_ && steady_at(pending_->at) <= Steady::now(); ++n) {
      arrive(*pending_);
      pending_ = traffic_.next_arrival();
    }
    arm_arrival();
  }

  std::int64_t plan_cost(const sim::Arrival& a) const {
    const sim::TrafficClass& cls = spec_.traffic.classes[a.class_index];
    const Config& config = spec_.config;
    const Index route = cls.tier != kNoIndex ? config.tiers[cls.tier].route : cls.route;
    const std::vector<RouteTarget>& targets = config.routes[route].targets;
    const RouteTarget* primary = &targets.front();
    for (const RouteTarget& t : targets) primary = t.priority < primary->priority ? &t : primary;
    return call_cost_micro_usd(config.model(primary->target), a.prompt_tokens, a.output_tokens);
  }

  void arrive(const sim::Arrival& a) {
    const double late_us = static_cast<double>(
        std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - steady_at(a.at)).count());
    late_total_us_ += std::max(late_us, 0.0);
    late_max_us_ = std::max(late_max_us_, late_us);
    ++arrivals_;
    const Time now = scenario_now();
    record_.arrived(now, plan_cost(a));
    if (spec_.buffer.capacity > 0 && held_ >= spec_.buffer.capacity) {
      record_.dropped_full(now);
      return;
    }
    ++held_;
    record_.admitted(now);
    messages_.emplace(a.number, Message{now, a.class_index, a.prompt_tokens, a.output_tokens, 0});
    deliver(a.number);
  }

  void deliver(std::uint64_t id) {
    Message& m = messages_.at(id);
    if (++m.deliveries > 1) record_.requeued();
    const sim::TrafficClass& cls = spec_.traffic.classes[m.class_index];
    transport::LiveRequest r;
    r.messages.push_back(protocol::Message{"user", prompt_text(m.prompt_tokens)});
    r.max_tokens = std::clamp<std::int64_t>(m.output_tokens, 1, serve::kAnswerTokensMax);
    r.stream = cls.stream;
    r.route = cls.tier != kNoIndex ? kNoIndex : cls.route;
    r.tier = cls.tier;
    submitting_ = true;
    driver_->submit(std::move(r), [this, id](transport::LiveResult&& result) { on_done(id, result); });
    submitting_ = false;
  }

  // As sim/simulation.cpp's on_complete: what is requeued, dead-lettered or ends.
  void on_done(std::uint64_t id, const transport::LiveResult& r) {
    if (finished_ || r.aborted) return;  // cut off at the scenario's end: still in flight
    const Time now = scenario_now();
    const auto it = messages_.find(id);
    FAILOVER_ASSERT(it != messages_.end());
    Complete c;
    c.status = r.status;
    c.reason = r.reason;
    c.target = r.target;
    c.attempts = r.attempts;
    c.downgraded = r.downgraded;
    const sim::BufferSpec& buffer = spec_.buffer;
    if (r.status != RequestStatus::succeeded) {
      // Ended inside submit, with no redelivery delay: it would fail again at once forever.
      const bool instant = submitting_ && buffer.redelivery_delay == Duration{0};
      const bool redeliverable = ((r.status == RequestStatus::failed && r.reason != EndReason::caller_error) ||
                                  r.reason == EndReason::deadline) &&
                                 !instant;
      const bool requeue = buffer.mode == sim::BufferMode::requeue && redeliverable;
      const bool dead_letter = requeue && it->second.deliveries >= buffer.max_deliveries;
      if (requeue && !dead_letter) {
        redeliver_later(id);
        return;
      }
      record_.ended(now, c, Duration{0}, dead_letter);
    } else {
      record_.ended(now, c, now - it->second.arrived, false);
    }
    messages_.erase(it);
    --held_;
  }

  void redeliver_later(std::uint64_t id) {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    timer->expires_after(std::chrono::microseconds(to_us(sim::scaled_down(spec_.buffer.redelivery_delay, k_))));
    timer->async_wait([this, id, timer](const boost::system::error_code& ec) {
      if (!ec && !finished_) deliver(id);
    });
  }

  void finish() {
    finished_ = true;
    arrival_timer_.cancel();
    driver_->abort();  // the unfinished stay counted in held_: in flight at the end
    io_.stop();
  }

  asio::io_context& io_;
  const sim::RunSpec& spec_;
  std::int64_t k_;
  Steady::time_point origin_;
  sim::LiveRecord& record_;
  sim::Traffic traffic_;
  std::optional<sim::Arrival> pending_;
  asio::steady_timer arrival_timer_;
  asio::steady_timer end_timer_;
  transport::LiveDriver* driver_ = nullptr;
  std::unordered_map<std::uint64_t, Message> messages_;  // by arrival number; lookup only
  std::int64_t held_ = 0;
  bool submitting_ = false;
  bool finished_ = false;
  std::int64_t arrivals_ = 0;
  double late_total_us_ = 0.0;
  double late_max_us_ = 0.0;
};

// The policy as the live world runs it: scaled by K, its providers at the fleet's URLs,
// no API key (the fleet takes none), the connect timeout kept above the floor.
Config live_config(const sim::NamedPolicy& policy, std::int64_t k, const serve::FleetServer& fleet) {
  Config c = sim::scaled_config(policy.config, k);
  for (ProviderConfig& p : c.providers) {
    p.base_url = fleet.base_url(p.name);
    p.api_key_env.clear();
  }
  c.policy.timeouts.connect = std::max(c.policy.timeouts.connect, ms(kConnectFloorMs));
  return c;
}

// Runs `io` for the fleet on its own thread; stops and joins it when destroyed.
class FleetThread {
 public:
  FleetThread(asio::io_context& io, serve::FleetServer& fleet) : fleet_(fleet), thread_([&io] { io.run(); }) {}
  ~FleetThread() {
    fleet_.stop();
    thread_.join();
  }
  FleetThread(const FleetThread&) = delete;
  FleetThread& operator=(const FleetThread&) = delete;

 private:
  serve::FleetServer& fleet_;
  std::thread thread_;
};

}  // namespace

namespace {

// A replayed log's peak: the most of its requests in any one scenario second (a window
// of `speed` seconds on the log's clock), each coming `multiply` times. Jittered copies
// are counted at their request's time: an upper bound.
double replay_peak_per_second(const sim::ReplaySpec& r) {
  const std::vector<sim::ReplayRequest>& v = *r.requests;
  const std::int64_t window_us = std::max<std::int64_t>(1, 1'000'000 * r.speed.num / r.speed.den);
  std::size_t most = 0;
  for (std::size_t lo = 0, hi = 0; hi < v.size(); ++hi) {
    while (to_us(v[hi].at) - to_us(v[lo].at) >= window_us) ++lo;
    most = std::max(most, hi - lo + 1);
  }
  return static_cast<double>(most) * static_cast<double>(r.multiply);
}

}  // namespace

LiveEstimate estimate_live(const sim::Scenario& scenario, std::int64_t time_scale) {
  const double k = static_cast<double>(time_scale);
  LiveEstimate e;
  e.real_seconds = static_cast<double>(to_us(scenario.duration)) / 1e6 / k;
  e.peak_per_second = scenario.traffic.replay
                          ? replay_peak_per_second(*scenario.traffic.replay) * k
                          : static_cast<double>(scenario.traffic.rate.rate_mrpm_max()) / sim::kMilli / 60.0 * k;
  e.arrivals = sim::expected_arrivals(scenario.traffic);
  return e;
}

std::optional<std::string> live_refusal(const LiveEstimate& e, std::int64_t time_scale) {
  char figures[256];
  std::snprintf(figures, sizeof figures,
                "at time scale %lld it would take %.0f s of real time and send up to %.0f arrivals per real second "
                "(%.0f arrivals)",
                static_cast<long long>(time_scale), e.real_seconds, e.peak_per_second, e.arrivals);
  if (e.real_seconds > kLiveSecondsMax) {
    return std::string(figures) + "; a live run is limited to " + std::to_string(static_cast<int>(kLiveSecondsMax)) +
           " s: raise --time-scale";
  }
  if (e.peak_per_second > kLiveArrivalsPerSecondMax) {
    return std::string(figures) + "; the transport and the fleet together carry about " +
           std::to_string(static_cast<int>(kLiveArrivalsPerSecondMax)) +
           " arrivals per second on this machine class (reports/two-worlds.md): lower --time-scale";
  }
  return std::nullopt;
}

Result<LiveRun> run_live(const sim::Scenario& scenario, const sim::NamedPolicy& policy, std::uint64_t seed,
                         std::int64_t time_scale) {
  Result<std::unique_ptr<serve::RunCa>> ca = serve::RunCa::make();
  if (!ca) return ca.error();
  serve::FleetOptions fo;
  fo.host = "127.0.0.1";
  fo.port = 0;
  fo.tls_cert_file = (*ca)->server_cert_file();
  fo.tls_key_file = (*ca)->server_key_file();
  fo.time_scale = time_scale;
  fo.seed = seed;
  fo.answer_max_tokens = true;
  fo.write_gap = ms(kWriteGapMs);
  // Everything comes from 127.0.0.1: the fleet must take every connection the policy's
  // pools may open (concurrency_max per provider), or it closes new ones as the
  // simulator's providers never do. Little's law holds in scenario time, so the
  // connections in use do not shrink with K: the headline holds several hundred.
  std::size_t pools = 0;
  for (const ProviderConfig& p : policy.config.providers) pools += static_cast<std::size_t>(p.concurrency_max);
  fo.connections_per_address_max =
      std::clamp<std::size_t>(pools + 64, fo.connections_per_address_max, serve::kFleetConnectionsLimit - 1);
  fo.connections_max = std::max(fo.connections_max, fo.connections_per_address_max + 1);
  asio::io_context fleet_io;
  Result<std::unique_ptr<serve::FleetServer>> fleet = serve::FleetServer::start(fleet_io, scenario, fo);
  if (!fleet) return fleet.error();
  const sim::RunSpec spec = scenario.run_spec(policy, seed);
  sim::LiveRecord record(spec);
  asio::io_context io;
  LiveLoop loop(io, spec, time_scale, (*fleet)->origin(), record);
  transport::LiveOptions lo;
  lo.tls.ca_file = (*ca)->ca_file();
  lo.tls.system_trust_store = false;  // only the run's CA: nothing else can answer
  lo.seed = seed;
  lo.engine_prng = Prng(seed).fork("engine");  // as sim/simulation.cpp seeds its engine
  lo.on_action = [&loop](const Action& a) { loop.on_action(a); };
  const Config config = live_config(policy, time_scale, **fleet);
  Result<std::unique_ptr<transport::LiveDriver>> driver = transport::LiveDriver::create(io, config, lo);
  if (!driver) return driver.error();
  loop.attach(**driver);

  LiveRun out;
  {
    const FleetThread serving(fleet_io, **fleet);
    const Steady::time_point wall_start = Steady::now();
    loop.start();
    try {
      io.run();
    } catch (const std::exception& e) {
      return Error{"live", std::string("the live run stopped: ") + e.what()};
    }
    out.notes.wall_seconds = std::chrono::duration<double>(Steady::now() - wall_start).count();
  }
  const EngineTotals totals = (*driver)->health().totals;
  for (std::size_t p = 0; p < config.providers.size(); ++p) {
    out.notes.connections += (*driver)->pool_stats(static_cast<Index>(p)).connections_made;
  }
  out.notes.time_scale = time_scale;
  out.notes.arrival_late_mean_ms = loop.late_mean_ms();
  out.notes.arrival_late_max_ms = loop.late_max_ms();
  out.notes.connect_floor_ms = kConnectFloorMs;
  out.notes.unfinished = loop.held();
  out.run = record.finish(spec.end, loop.held(), totals.cost_micro_usd, totals.possibly_billed_micro_usd,
                          totals.retry_budget_denied);
  return out;
}

}  // namespace failover::cli
