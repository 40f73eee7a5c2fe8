#include "sim/simulation.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/cost.h"
#include "core/engine/outcome.h"
#include "sim/event_queue.h"

namespace failover::sim {
namespace {

enum class EventKind : std::uint32_t { arrival = 1, first_byte, done, redeliver };

// A request of the application, from its first arrival to its end (requeues included).
struct Message {
  Time arrived;
  Index class_index = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int32_t deliveries = 0;
  Time delivered_at;  // the last delivery
};

struct InFlight {
  Index provider = kNoIndex;
  Index target = kNoIndex;
  std::uint32_t probe_period = 0;  // a probe: its target's half-open period (1, 2, ...); 0: none
  Reply reply;
  Time sent = kTimeZero;
};

// The messages held, by request id: an open-addressing table (linear probing,
// backward-shift deletion). Request ids are arrival numbers, so the live ones are
// mostly consecutive: Fibonacci hashing scatters them, because with `id & mask` they
// would form one long run that every deletion walks to its end. It doubles when half
// full, so it allocates only when the number held reaches a new peak, never in steady
// state (an unordered_map allocated a node per message). Lookup only; never iterated.
class MessageTable {
 public:
  static constexpr RequestId kEmpty = ~RequestId{0};

  explicit MessageTable(std::size_t capacity) : slots_(capacity) {
    FAILOVER_ASSERT(capacity >= 2);
    FAILOVER_ASSERT((capacity & (capacity - 1)) == 0);
    while ((std::size_t{1} << bits_) < capacity) ++bits_;
  }

  [[nodiscard]] Message* find(RequestId id) noexcept {
    const std::size_t mask = slots_.size() - 1;
    // Bounded: the table is at most half full, so an empty slot ends the probe.
    for (std::size_t i = home(id), n = 0; n < slots_.size(); i = (i + 1) & mask, ++n) {
      if (slots_[i].id == id) return &slots_[i].message;
      if (slots_[i].id == kEmpty) return nullptr;
    }
    return nullptr;
  }

  // Precondition: `id` is not held.
  void insert(RequestId id, const Message& message) {
    FAILOVER_ASSERT(id != kEmpty);
    if (2 * (size_ + 1) > slots_.size()) grow();
    place(id, message);
    ++size_;
  }

  // Precondition: `id` is held.
  void erase(RequestId id) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(id);
    for (std::size_t n = 0; slots_[i].id != id; i = (i + 1) & mask, ++n) {
      FAILOVER_ASSERT(n < slots_.size());
      FAILOVER_ASSERT(slots_[i].id != kEmpty);  // erasing a message not held
    }
    // Backward shift: pull each later entry of the run into the hole when the hole lies
    // between its home slot and where it sits, so that no probe ever stops early.
    for (std::size_t j = (i + 1) & mask, n = 0; slots_[j].id != kEmpty; j = (j + 1) & mask, ++n) {
      FAILOVER_ASSERT(n < slots_.size());
      if (((j - home(slots_[j].id)) & mask) >= ((j - i) & mask)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].id = kEmpty;
    --size_;
  }

 private:
  struct Slot {
    RequestId id = kEmpty;
    Message message;
  };

  // Fibonacci hashing (Knuth 6.4): the top bits of id x 2^64 / phi.
  [[nodiscard]] std::size_t home(RequestId id) const noexcept {
    return static_cast<std::size_t>((id * 0x9e37'79b9'7f4a'7c15ULL) >> (64 - bits_));
  }

  void place(RequestId id, const Message& message) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(id);
    for (std::size_t n = 0; slots_[i].id != kEmpty; i = (i + 1) & mask, ++n) {
      FAILOVER_ASSERT(n < slots_.size());
      FAILOVER_ASSERT(slots_[i].id != id);  // held already
    }
    slots_[i] = Slot{id, message};
  }

  void grow() {
    std::vector<Slot> old(2 * slots_.size());
    old.swap(slots_);
    ++bits_;
    for (const Slot& slot : old) {
      if (slot.id != kEmpty) place(slot.id, slot.message);
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  int bits_ = 0;  // slots_.size() == 2^bits_
};

// The attempts in flight, by AttemptId: its low 32 bits are the engine's slot index,
// below concurrency.inflight_max and reused lowest-first, so a vector indexed by it is
// a perfect table. The full id is kept to tell a stale answer (an attempt cancelled
// before its answer came, its slot since reused) from the live one. Grows to the
// highest slot seen; lookup only.
class AttemptTable {
 public:
  explicit AttemptTable(std::size_t slots_max)
      : slots_max_(slots_max), slots_(std::min<std::size_t>(slots_max, 1'024)) {
    FAILOVER_ASSERT(slots_max > 0);
    FAILOVER_ASSERT(slots_max <= static_cast<std::size_t>(kInflightMax));
  }

  [[nodiscard]] InFlight* find(AttemptId id) noexcept {
    const std::size_t slot = slot_of(id);
    if (slot >= slots_.size() || slots_[slot].id != id) return nullptr;
    return &slots_[slot].in_flight;
  }

  // Precondition: no attempt is in flight in id's slot.
  void insert(AttemptId id, const InFlight& in_flight) {
    const std::size_t slot = slot_of(id);
    FAILOVER_ASSERT(slot < slots_max_);  // the engine issues slots below inflight_max
    if (slot >= slots_.size()) slots_.resize(std::min(slots_max_, std::max(slot + 1, 2 * slots_.size())));
    FAILOVER_ASSERT(slots_[slot].id == kEmpty);
    slots_[slot] = Entry{id, in_flight};
  }

  // Precondition: `id` is in flight.
  void erase(AttemptId id) noexcept {
    const std::size_t slot = slot_of(id);
    FAILOVER_ASSERT(slot < slots_.size());
    FAILOVER_ASSERT(slots_[slot].id == id);
    slots_[slot].id = kEmpty;
  }

 private:
  static constexpr AttemptId kEmpty = ~AttemptId{0};  // slot 2^32 - 1 is never issued
  struct Entry {
    AttemptId id = kEmpty;
    InFlight in_flight;
  };
  static std::size_t slot_of(AttemptId id) noexcept { return static_cast<std::size_t>(id & 0xffff'ffffU); }

  std::size_t slots_max_;
  std::vector<Entry> slots_;
};

class Loop {
 public:
  Loop(const RunSpec& spec, TraceRecorder* recorder);
  RunResult run();

 private:
  void on_arrival(Time now);
  void deliver(Time now, RequestId id);
  void apply(Time now);
  void on_send(Time now, const SendAttempt& s);
  void on_cancel(Time now, const CancelAttempt& c);
  void on_complete(Time now, const Complete& c);
  void on_breaker(const BreakerChanged& b);
  void note_breakers_at_end(std::size_t reason);
  void add_breaker_time(Index target, Time until);
  void attempt_started(Time now, Index provider);
  void attempt_ended(Time now, Index provider);
  void on_attempt_event(Time now, EventKind kind, AttemptId id);
  void note_answer(Time now, const InFlight& f);
  Bucket& bucket(Time t);
  void close_buckets(Time upto);
  [[nodiscard]] std::size_t chart_bin(Time t) const;
  void note_in_flight(std::size_t bin);
  void trace(Time at, TraceKind kind, std::uint64_t a, std::uint64_t b) {
    digest_.add(at, static_cast<std::uint32_t>(kind), a, b);
  }
  void finish_message(RequestId id);
  [[nodiscard]] std::int64_t plan_cost(const Arrival& a) const;
  void violate(Time now, const std::string& what);
  void check_send(Time now, const SendAttempt& s, std::uint32_t& probe_period);
  void end_probe(const InFlight& f);
  void check_idle(Time now);

  const RunSpec& spec_;
  Prng run_prng_;
  Engine engine_;
  Fleet fleet_;
  Traffic traffic_;
  EventQueue<SimEvent> events_;
  ActionBuffer out_;
  TraceDigest digest_;
  MessageTable messages_;
  AttemptTable attempts_;
  std::int64_t held_ = 0;
  std::int64_t redeliveries_pending_ = 0;
  RunResult result_;
  Histogram bucket_latency_;
  std::size_t bucket_latency_index_ = 0;
  Time bucket_closes_at_ = kTimeZero;  // when time leaves the open bucket
  std::int64_t held_at_open_ = 0;      // buffer occupancy when the open bucket opened
  std::vector<BreakerState> breaker_;
  std::vector<Time> breaker_since_;  // when each target's breaker entered its state
  // Per provider: attempts in flight, and since when they stand at concurrency_max.
  std::vector<std::int32_t> provider_inflight_;
  std::vector<Time> saturated_since_;
  std::vector<std::size_t> first_fault_;  // per provider: its first fault's index in calls_in_fault
  // Liveness invariants, checked as the run goes (see violate()): per target, its
  // current half-open period and the probes of that period in flight.
  std::vector<std::uint32_t> half_open_period_;
  std::vector<std::int32_t> probes_in_flight_;
  std::optional<Arrival> pending_arrival_;  // the next arrival, already scheduled
};

Loop::Loop(const RunSpec& spec, TraceRecorder* recorder)
    : spec_(spec),
      run_prng_(spec.seed),
      engine_(spec.config, run_prng_.fork("engine")),
      fleet_(spec.providers, run_prng_),
      traffic_(spec.traffic, run_prng_.fork("traffic")),
      events_(16'000'000, 4'096),
      out_(1'024),
      digest_(recorder),
      messages_(1'024),
      attempts_(static_cast<std::size_t>(spec.config.policy.concurrency.inflight_max)),
      breaker_(spec.config.targets.size(), BreakerState::closed),
      breaker_since_(spec.config.targets.size(), kTimeZero),
      provider_inflight_(spec.providers.size(), 0),
      saturated_since_(spec.providers.size(), kTimeZero),
      half_open_period_(spec.config.targets.size(), 0),
      probes_in_flight_(spec.config.targets.size(), 0) {
  FAILOVER_ASSERT(spec.providers.size() == spec.config.providers.size());
  result_ = empty_result(spec);
  std::size_t faults = 0;
  for (const ProviderSpec& p : spec.providers) {
    first_fault_.push_back(faults);
    faults += p.faults.size();
  }
}

}  // namespace

RunResult empty_result(const RunSpec& spec) {
  FAILOVER_ASSERT(to_us(spec.bucket) > 0);
  RunResult r;
  const std::size_t targets = spec.config.targets.size();
  r.seed = spec.seed;
  r.end = spec.end;
  r.bucket = spec.bucket;
  r.attempts_by_target.assign(targets, 0);
  r.cost_by_target_micro_usd.assign(targets, 0);
  r.trips_by_target.assign(targets, 0);
  r.successes_by_target.assign(targets, 0);
  r.open_time_by_target.assign(targets, Duration{0});
  r.half_open_time_by_target.assign(targets, Duration{0});
  r.ended_while_open.assign(kEndReasonCount * targets, 0);
  r.ended_while_half_open.assign(kEndReasonCount * targets, 0);
  r.saturated_time_by_provider.assign(spec.providers.size(), Duration{0});
  std::size_t faults = 0;
  for (const ProviderSpec& p : spec.providers) faults += p.faults.size();
  r.calls_in_fault.assign(faults, 0);
  const std::int64_t buckets = (to_us(spec.end) + to_us(spec.bucket) - 1) / to_us(spec.bucket);
  r.series.assign(static_cast<std::size_t>(std::max<std::int64_t>(buckets, 1)), Bucket{});
  ChartSeries& chart = r.chart;
  const std::size_t per_bin = (r.series.size() + kChartBinsMax - 1) / kChartBinsMax;
  chart.bin = spec.bucket * static_cast<std::int64_t>(per_bin);
  chart.bins = (r.series.size() + per_bin - 1) / per_bin;
  chart.targets = targets;
  chart.providers = spec.providers.size();
  chart.by_target.assign(chart.bins * targets, TargetBin{});
  chart.by_class.assign(chart.bins, {});
  chart.in_flight_max.assign(chart.bins * chart.providers, 0);
  FAILOVER_ASSERT(chart.bins >= 1 && chart.bins <= kChartBinsMax);
  FAILOVER_ASSERT(to_us(chart.bin) * static_cast<std::int64_t>(chart.bins) >= to_us(spec.end));
  return r;
}

namespace {

std::size_t Loop::chart_bin(Time t) const {
  const auto i = static_cast<std::size_t>(to_us(t) / to_us(result_.chart.bin));
  return std::min(i, result_.chart.bins - 1);
}

// Raises a bin's in-flight peaks to what each provider has in flight now.
void Loop::note_in_flight(std::size_t bin) {
  ChartSeries& chart = result_.chart;
  FAILOVER_ASSERT(bin < chart.bins);
  for (std::size_t p = 0; p < chart.providers; ++p) {
    std::int32_t& peak = chart.in_flight_max[bin * chart.providers + p];
    peak = std::max(peak, provider_inflight_[p]);
  }
}

Bucket& Loop::bucket(Time t) {
  const auto i = static_cast<std::size_t>(to_us(t) / to_us(spec_.bucket));
  return result_.series[std::min(i, result_.series.size() - 1)];
}

// Latency percentiles of a bucket are computed when time leaves it, from one
// histogram reused bucket after bucket: memory stays flat whatever the duration.
void Loop::close_buckets(Time upto) {
  if (upto < bucket_closes_at_) return;  // still in the open bucket: every step but one per bucket
  const auto i = std::min(static_cast<std::size_t>(to_us(upto) / to_us(spec_.bucket)), result_.series.size());
  const std::size_t first = bucket_latency_index_;
  for (; bucket_latency_index_ < i; ++bucket_latency_index_) {
    Bucket& b = result_.series[bucket_latency_index_];
    b.latency_p50_us = to_us(bucket_latency_.percentile(Ratio{50, 100}));
    b.latency_p99_us = to_us(bucket_latency_.percentile(Ratio{99, 100}));
    bucket_latency_ = Histogram{};
    // Admissions raise held_max as they happen; what a bucket held from its start and at
    // its end is added here, so a bucket with no admission still shows what it held.
    // (A bucket closed after the first in one call saw no event: it held held_ throughout.)
    b.held_max = std::max({b.held_max, held_, bucket_latency_index_ == first ? held_at_open_ : held_});
    for (std::size_t t = 0; t < breaker_.size() && t < 32; ++t) {
      if (breaker_[t] == BreakerState::open) b.open_targets |= 1U << t;
    }
    // Like held_max: a bin with no send still shows the attempts it carried.
    note_in_flight(chart_bin(kTimeZero + spec_.bucket * static_cast<std::int64_t>(bucket_latency_index_)));
  }
  const std::size_t open = bucket_latency_index_;
  FAILOVER_ASSERT(open <= result_.series.size());
  if (open < result_.series.size()) {
    note_in_flight(chart_bin(kTimeZero + spec_.bucket * static_cast<std::int64_t>(open)));
  }
  held_at_open_ = held_;  // the events at `upto` come after this
  bucket_closes_at_ =
      open < result_.series.size() ? kTimeZero + spec_.bucket * static_cast<std::int64_t>(open + 1) : kTimeNever;
}

std::int64_t Loop::plan_cost(const Arrival& a) const {
  const TrafficClass& cls = spec_.traffic.classes[a.class_index];
  const Config& config = spec_.config;
  const Index route = cls.tier != kNoIndex ? config.tiers[cls.tier].route : cls.route;
  // The route's primary: its first target of the highest priority (lowest value).
  const std::vector<RouteTarget>& targets = config.routes[route].targets;
  const RouteTarget* primary = &targets.front();
  for (const RouteTarget& t : targets) primary = t.priority < primary->priority ? &t : primary;
  return call_cost_micro_usd(config.model(primary->target), a.prompt_tokens, a.output_tokens);
}

void Loop::on_arrival(Time now) {
  const std::optional<Arrival> a = pending_arrival_;
  FAILOVER_ASSERT(a.has_value());
  FAILOVER_ASSERT(a->at == now);
  ++result_.arrived;
  ++bucket(now).arrived;
  result_.plan_cost_micro_usd += plan_cost(*a);
  trace(now, TraceKind::arrival, a->number, a->class_index);
  pending_arrival_ = traffic_.next_arrival();
  if (pending_arrival_) {
    events_.push(pending_arrival_->at, SimEvent{static_cast<std::uint32_t>(EventKind::arrival), 0, 0});
  }
  if (spec_.buffer.capacity > 0 && held_ >= spec_.buffer.capacity) {
    if (!result_.overflow_at) result_.overflow_at = now;
    ++result_.dropped;
    ++result_.dropped_buffer_full;
    ++bucket(now).dropped;
    trace(now, TraceKind::dropped_full, a->number, 0);
    return;
  }
  ++held_;
  result_.held_peak = std::max(result_.held_peak, held_);
  Bucket& b = bucket(now);
  b.held_max = std::max(b.held_max, held_);
  messages_.insert(a->number, Message{now, a->class_index, a->prompt_tokens, a->output_tokens, 0, now});
  deliver(now, a->number);
}

void Loop::deliver(Time now, RequestId id) {
  Message* held = messages_.find(id);
  FAILOVER_ASSERT(held != nullptr);
  Message& m = *held;
  const TrafficClass& cls = spec_.traffic.classes[m.class_index];
  if (++m.deliveries > 1) ++result_.requeued;
  m.delivered_at = now;
  Request r;
  r.id = id;
  r.route = cls.route;
  r.tier = cls.tier;
  r.prompt_tokens = m.prompt_tokens;
  r.output_tokens_max = m.output_tokens;
  r.stream = cls.stream;
  engine_.submit(now, r, out_);
  apply(now);
}

void Loop::apply(Time now) {
  // Actions are carried out in the order the engine emitted them.
  for (const Action& action : out_) {
    if (const auto* s = std::get_if<SendAttempt>(&action))
      on_send(now, *s);
    else if (const auto* c = std::get_if<CancelAttempt>(&action))
      on_cancel(now, *c);
    else if (const auto* d = std::get_if<Complete>(&action))
      on_complete(now, *d);
    else if (const auto* g = std::get_if<Charge>(&action)) {
      result_.cost_by_target_micro_usd[g->target] += g->cost_micro_usd;
      bucket(now).cost_micro_usd += g->cost_micro_usd;
      trace(now, TraceKind::charge, g->attempt, static_cast<std::uint64_t>(g->cost_micro_usd));
    } else if (const auto* b = std::get_if<BreakerChanged>(&action)) {
      on_breaker(*b);
      trace(now, TraceKind::breaker, b->target, static_cast<std::uint64_t>(b->to));
    }
  }
  out_.clear();
  check_idle(now);
}

// The first broken liveness invariant ends up in the result; the run goes on, so that
// its figures still describe what happened.
void Loop::violate(Time now, const std::string& what) {
  if (!result_.violation.empty()) return;
  result_.violation = "at " + std::to_string(to_us(now) / 1'000) + " ms: " + what;
}

// Sends follow the breaker: none to an open target; to a half-open one only probes, at
// most half_open_probes of them in flight for the period; probes only to half-open ones.
void Loop::check_send(Time now, const SendAttempt& s, std::uint32_t& probe_period) {
  const BreakerState state = breaker_[s.target];
  // Named only when a check fails: this runs on every send.
  const auto target = [&s] { return "target " + std::to_string(s.target); };
  if (state == BreakerState::open) violate(now, "a send to " + target() + ", whose breaker is open");
  if (s.probe != (state == BreakerState::half_open)) {
    violate(now, s.probe ? "a probe to " + target() + ", which is not half-open"
                         : "a send that is no probe to " + target() + ", which is half-open");
  }
  if (!s.probe) return;
  probe_period = half_open_period_[s.target];
  FAILOVER_ASSERT(probe_period > 0);
  if (++probes_in_flight_[s.target] > spec_.config.policy.breaker.half_open_probes) {
    violate(now, std::to_string(probes_in_flight_[s.target]) + " probes in flight to " + target() +
                     " (half_open_probes = " + std::to_string(spec_.config.policy.breaker.half_open_probes) + ")");
  }
}

void Loop::end_probe(const InFlight& f) {
  if (f.probe_period == 0 || f.probe_period != half_open_period_[f.target]) return;
  --probes_in_flight_[f.target];
  FAILOVER_ASSERT(probes_in_flight_[f.target] >= 0);
}

// No target may idle while a request it could serve at once waits (Engine::idle_target).
void Loop::check_idle(Time now) {
  if (!result_.violation.empty()) return;
  const std::optional<Index> idle = engine_.idle_target(now);
  if (idle) violate(now, "target " + std::to_string(*idle) + " idles while a request of its route waits for it");
}

void Loop::on_send(Time now, const SendAttempt& s) {
  const Message* held = messages_.find(s.request);
  FAILOVER_ASSERT(held != nullptr);  // the engine sends only requests it was given
  const Message& m = *held;
  FakeProvider& p = fleet_.provider(s.provider);
  const bool stream = spec_.traffic.classes[m.class_index].stream;
  std::uint32_t probe_period = 0;
  check_send(now, s, probe_period);
  const Reply reply = p.start(now, AttemptSpec{s.model, m.prompt_tokens, m.output_tokens, stream});
  ++result_.attempts;
  ++result_.attempts_by_target[s.target];
  ++bucket(now).attempts;
  ++result_.chart.by_target[chart_bin(now) * result_.chart.targets + s.target].attempts;
  if (s.hedge) ++result_.hedges;
  trace(now, TraceKind::send, s.attempt, s.target);
  if (reply.first_byte_at != kTimeNever && reply.first_byte_at < reply.done_at) {
    events_.push(reply.first_byte_at, SimEvent{static_cast<std::uint32_t>(EventKind::first_byte), s.attempt, 0});
  }
  if (reply.done_at != kTimeNever) {
    events_.push(reply.done_at, SimEvent{static_cast<std::uint32_t>(EventKind::done), s.attempt, 0});
  }
  attempts_.insert(s.attempt, InFlight{s.provider, s.target, probe_period, reply, now});
  attempt_started(now, s.provider);
}

// Saturation and fault coverage, for the preflight: O(the provider's faults) per send.
void Loop::attempt_started(Time now, Index provider) {
  const std::vector<Fault>& faults = spec_.providers[provider].faults;
  for (std::size_t k = 0; k < faults.size(); ++k) {
    if (now >= faults[k].start && now < faults[k].start + faults[k].duration) {
      ++result_.calls_in_fault[first_fault_[provider] + k];
    }
  }
  const std::int64_t limit = spec_.config.providers[provider].concurrency_max;
  if (++provider_inflight_[provider] == limit) saturated_since_[provider] = now;
  std::int32_t& peak = result_.chart.in_flight_max[chart_bin(now) * result_.chart.providers + provider];
  peak = std::max(peak, provider_inflight_[provider]);
}

void Loop::attempt_ended(Time now, Index provider) {
  FAILOVER_ASSERT(provider_inflight_[provider] > 0);
  const std::int64_t limit = spec_.config.providers[provider].concurrency_max;
  if (provider_inflight_[provider]-- == limit) {
    result_.saturated_time_by_provider[provider] += now - saturated_since_[provider];
  }
}

void Loop::on_cancel(Time now, const CancelAttempt& c) {
  const InFlight* f = attempts_.find(c.attempt);
  FAILOVER_ASSERT(f != nullptr);  // the engine cancels only attempts in flight
  if (f->reply.holds_slot) fleet_.provider(f->provider).finish(now);
  end_probe(*f);
  attempt_ended(now, f->provider);
  ++result_.chart.by_class[chart_bin(now)][static_cast<std::size_t>(OutcomeClass::cancelled)];
  attempts_.erase(c.attempt);
  trace(now, TraceKind::cancel, c.attempt, static_cast<std::uint64_t>(c.reason));
}

void Loop::finish_message(RequestId id) {
  messages_.erase(id);
  --held_;
  FAILOVER_ASSERT(held_ >= 0);
}

void Loop::on_complete(Time now, const Complete& c) {
  trace(now, TraceKind::complete, c.request,
        static_cast<std::uint64_t>(c.status) << 8 | static_cast<std::uint64_t>(c.reason));
  const Message* held = messages_.find(c.request);
  if (held == nullptr) return;  // never admitted: counted as dropped at arrival
  // Every request progresses or ends by its deadline (the engine's default: the sim
  // gives none of its own).
  if (now - held->delivered_at > spec_.config.policy.timeouts.request) {
    violate(now, "request " + std::to_string(c.request) + " ended after its deadline");
  }
  Bucket& b = bucket(now);
  if (c.status == RequestStatus::succeeded) {
    const Duration latency = now - held->arrived;
    result_.latency.record(latency);
    bucket_latency_.record(latency);
    ++result_.succeeded;
    ++b.succeeded;
    if (c.target != kNoIndex) ++result_.successes_by_target[c.target];
    if (c.downgraded) ++result_.downgraded;
    finish_message(c.request);
    return;
  }
  // Requeued: what failed, and what waited past its deadline. Not a poison message
  // (the provider called it malformed) and not what the engine refused to take
  // (queue full, cost budget): handing those straight back would spin at one instant.
  // For the same reason, nothing that failed at the very instant it was delivered when
  // redelivery is immediate (every target open with when_unavailable = fail; an
  // instant connect error with no breaker): it would fail again at that instant forever.
  const bool instant = now == held->delivered_at && spec_.buffer.redelivery_delay == Duration{0};
  const bool redeliverable =
      ((c.status == RequestStatus::failed && c.reason != EndReason::caller_error) || c.reason == EndReason::deadline) &&
      !instant;
  const bool requeue = spec_.buffer.mode == BufferMode::requeue && redeliverable;
  // A message delivered max_deliveries times goes to the dead-letter queue: it failed.
  const bool dead_letter = requeue && held->deliveries >= spec_.buffer.max_deliveries;
  if (requeue && !dead_letter) {
    // At-least-once delivery: the message goes back to the queue and comes again.
    ++redeliveries_pending_;
    trace(now, TraceKind::requeue, c.request, 0);
    events_.push(now + spec_.buffer.redelivery_delay,
                 SimEvent{static_cast<std::uint32_t>(EventKind::redeliver), c.request, 0});
    return;
  }
  const auto reason = static_cast<std::size_t>(c.reason);
  note_breakers_at_end(reason);
  if (dead_letter) ++result_.dead_lettered;
  if (c.status == RequestStatus::failed || dead_letter) {
    ++result_.failed;
    ++result_.failed_by[reason];
    ++b.failed;
  } else {
    ++result_.dropped;
    ++result_.dropped_by[reason];
    ++b.dropped;
  }
  finish_message(c.request);
}

// Counts a request that ended badly against every target whose breaker is not closed:
// O(targets) per failure, and failures are the rare end.
void Loop::note_breakers_at_end(std::size_t reason) {
  FAILOVER_ASSERT(reason < kEndReasonCount);
  const std::size_t targets = breaker_.size();
  for (std::size_t t = 0; t < targets; ++t) {
    if (breaker_[t] == BreakerState::open) ++result_.ended_while_open[reason * targets + t];
    if (breaker_[t] == BreakerState::half_open) ++result_.ended_while_half_open[reason * targets + t];
  }
}

void Loop::add_breaker_time(Index target, Time until) {
  FAILOVER_ASSERT(until >= breaker_since_[target]);
  const Duration spent = until - breaker_since_[target];
  if (breaker_[target] == BreakerState::open) result_.open_time_by_target[target] += spent;
  if (breaker_[target] == BreakerState::half_open) result_.half_open_time_by_target[target] += spent;
  breaker_since_[target] = until;
}

void Loop::on_breaker(const BreakerChanged& b) {
  add_breaker_time(b.target, b.at);
  breaker_[b.target] = b.to;
  if (b.to == BreakerState::half_open) {
    ++half_open_period_[b.target];  // probes of earlier periods no longer count
    probes_in_flight_[b.target] = 0;
  }
  if (b.to == BreakerState::open) {
    ++result_.trips_by_target[b.target];
    if (b.target < 32) bucket(b.at).open_targets |= 1U << b.target;
  }
  ++result_.transitions_total;
  if (result_.transitions.size() < kTransitionsKept) result_.transitions.push_back({b.at, b.target, b.from, b.to});
}

// The charts' view of an answer: its class (as the engine will decide it) and, for a
// success, how long its target took.
void Loop::note_answer(Time now, const InFlight& f) {
  const OutcomeClass cls = classify(f.reply.outcome, spec_.config.policy.classify);
  const std::size_t bin = chart_bin(now);
  ++result_.chart.by_class[bin][static_cast<std::size_t>(cls)];
  if (cls != OutcomeClass::success) return;
  TargetBin& t = result_.chart.by_target[bin * result_.chart.targets + f.target];
  ++t.successes;
  t.success_latency_us += to_us(now - f.sent);
}

void Loop::on_attempt_event(Time now, EventKind kind, AttemptId id) {
  const InFlight* in_flight = attempts_.find(id);
  if (in_flight == nullptr) return;  // cancelled before its answer came
  if (kind == EventKind::first_byte) {
    trace(now, TraceKind::first_byte, id, 0);
    engine_.on_first_byte(now, id, out_);
    apply(now);
    return;
  }
  const InFlight f = *in_flight;
  attempts_.erase(id);
  if (f.reply.holds_slot) fleet_.provider(f.provider).finish(now);
  end_probe(f);
  attempt_ended(now, f.provider);
  note_answer(now, f);
  trace(
      now, TraceKind::response, id,
      static_cast<std::uint64_t>(f.reply.outcome.kind) << 16 | static_cast<std::uint64_t>(f.reply.outcome.http_status));
  engine_.on_response(now, id, f.reply.outcome, out_);
  apply(now);
}

RunResult Loop::run() {
  pending_arrival_ = traffic_.next_arrival();
  if (pending_arrival_) {
    events_.push(pending_arrival_->at, SimEvent{static_cast<std::uint32_t>(EventKind::arrival), 0, 0});
  }
  // Bounded: every event is an arrival (finite), an answer to a send, a redelivery or
  // an engine timer, and each carries time forward or is one of finitely many at a time.
  for (std::uint64_t step = 0;; ++step) {
    FAILOVER_ASSERT(step < 4'000'000'000ULL);
    const Time t_event = events_.next_time();
    const Time t_engine = engine_.next_deadline().value_or(kTimeNever);
    const Time now = std::min(t_event, t_engine);
    if (now >= spec_.end) break;
    close_buckets(now);
    if (t_engine <= t_event) {
      engine_.on_timeout(now, out_);
      apply(now);
      continue;
    }
    const auto entry = events_.pop();
    const auto kind = static_cast<EventKind>(entry.event.kind);
    if (kind == EventKind::arrival) {
      on_arrival(now);
    } else if (kind == EventKind::redeliver) {
      --redeliveries_pending_;
      deliver(now, entry.event.a);
    } else {
      on_attempt_event(now, kind, entry.event.a);
    }
  }
  close_buckets(spec_.end);
  const EngineTotals totals = engine_.totals();
  result_.in_flight_end = held_;
  result_.conserved = result_.arrived == result_.succeeded + result_.failed + result_.dropped + held_ &&
                      held_ == totals.active + redeliveries_pending_;
  result_.cost_micro_usd = totals.cost_micro_usd;
  result_.possibly_billed_micro_usd = totals.possibly_billed_micro_usd;
  result_.retry_budget_denied = totals.retry_budget_denied;
  for (std::size_t t = 0; t < breaker_.size(); ++t) add_breaker_time(static_cast<Index>(t), spec_.end);
  for (std::size_t p = 0; p < provider_inflight_.size(); ++p) {
    const std::int64_t limit = spec_.config.providers[p].concurrency_max;
    if (limit > 0 && provider_inflight_[p] == limit) {
      result_.saturated_time_by_provider[p] += spec_.end - saturated_since_[p];
    }
  }
  result_.breaker_end = breaker_;
  result_.digest = digest_.hex();
  result_.events = digest_.events();
  return std::move(result_);
}

}  // namespace

RunResult run_simulation(const RunSpec& spec, TraceRecorder* recorder) {
  Loop loop(spec, recorder);
  return loop.run();
}

const char* to_string(TraceKind kind) noexcept {
  switch (kind) {
    case TraceKind::arrival:
      return "arrival";
    case TraceKind::dropped_full:
      return "dropped_full";
    case TraceKind::send:
      return "send";
    case TraceKind::first_byte:
      return "first_byte";
    case TraceKind::response:
      return "response";
    case TraceKind::cancel:
      return "cancel";
    case TraceKind::complete:
      return "complete";
    case TraceKind::requeue:
      return "requeue";
    case TraceKind::charge:
      return "charge";
    case TraceKind::breaker:
      return "breaker";
  }
  return "?";  // a code read from a trace that no kind has (0, or past the last)
}

std::string trace_event_text(const TraceEvent& event) {
  return std::string(to_string(static_cast<TraceKind>(event.kind))) + " at " + std::to_string(to_us(event.at)) +
         " us (a=" + std::to_string(event.a) + ", b=" + std::to_string(event.b) + ")";
}

}  // namespace failover::sim
