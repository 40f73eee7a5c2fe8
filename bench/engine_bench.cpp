// engine_bench: what one request costs the engine on its hot path -- nanoseconds per
// full request cycle (submit -> SendAttempt -> on_response -> Complete) and heap
// allocations per request, counted by replacing the global operator new/delete of
// this binary. It measures the engine's decisions only: the driver below answers
// every attempt itself 1 us after the previous input (a silent target is left to time
// out: time jumps to the engine's deadline), so time only ever moves forward. Results
// and how to read them: reports/bench-engine.md; how to run: scripts/bench.sh.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <variant>

#include "bench/alloc_counter.h"
#include "core/engine/action.h"
#include "core/engine/breaker.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"
#include "core/engine/outcome.h"
#include "core/engine/prng.h"
#include "core/engine/request.h"
#include "core/engine/time.h"

namespace failover::bench {
namespace {

constexpr std::uint64_t kSeed = 20'240'601;
constexpr int kWarmupRequests = 10'000;  // breakers trip, EWMAs settle, tables are touched
constexpr int kStepsPerRequestMax = 64;  // a driver loop bound, far above attempts_max

// ---- configuration -----------------------------------------------------------------

// "p3", "P3_KEY": built with append, because GCC 12 at -O3 reports a false -Wrestrict
// on `"p" + std::to_string(i)` (GCC bug 105329).
std::string numbered(const char* prefix, int i, const char* suffix = "") {
  std::string s(prefix);
  s.append(std::to_string(i)).append(suffix);
  return s;
}

// `n` providers p0..p{n-1}, one model each, and one route over them. `same_priority`:
// one priority level with weight 1 each (weighted choice); otherwise priority = i.
Config bench_config(int n, bool same_priority = false) {
  Config c;
  RouteConfig route;
  route.name = "main";
  for (int i = 0; i < n; ++i) {
    ProviderConfig p;
    p.name = numbered("p", i);
    p.base_url = numbered("https://p", i, ".example");
    p.api_key_env = numbered("P", i, "_KEY");
    ModelConfig m;
    m.id = numbered("m", i);
    m.input_micro_usd_per_mtok = (i + 1) * 1'000'000;
    m.output_micro_usd_per_mtok = (i + 1) * 1'000'000;
    p.models.push_back(m);
    c.providers.push_back(p);
    const Index t = c.intern_target(static_cast<Index>(i), 0);
    route.targets.push_back(RouteTarget{t, same_priority ? 0 : i, 1});
  }
  c.routes.push_back(route);
  c.policy.queue.depth_max = 1'000;
  c.policy.queue.requests_max = 2'000;
  c.policy.concurrency.inflight_max = 1'000;
  return c;
}

// Both trip rules off: the breaker records but never opens.
void disable_breaker(Config& c) {
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
}

// One retry token per request, so that a fallback on every request is steady state
// rather than a slow drain of the shared retry budget (20% by default).
void fund_one_retry_per_request(Config& c) {
  c.policy.retry.budget_ratio = Ratio{1, 1};
}

// ---- the driver ----------------------------------------------------------------------

enum class Reply : std::uint8_t { ok, http_503, silent };  // silent: let the attempt time out

struct Rig {
  explicit Rig(const Config& config) : engine(config, Prng(kSeed)) { reply.fill(Reply::ok); }

  Engine engine;
  ActionBuffer out;  // reused: cleared after every input, never reallocated
  Time now = kTimeZero;
  RequestId next_id = 1;
  std::array<Reply, kTargetsMax> reply{};  // by target index
  std::array<SendAttempt, 8> live{};       // attempts sent and not yet answered, oldest first
  std::size_t live_count = 0;
  std::int64_t attempts = 0;
  std::int64_t completed = 0;
  std::int64_t succeeded = 0;
  const Outcome ok = Outcome::ok(Usage{100, 100, true});
  const Outcome unavailable = Outcome::http(503);
};

Request make_request(RequestId id) {
  Request r;
  r.id = id;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  return r;
}

void forget_live(Rig& rig, AttemptId attempt) {
  for (std::size_t i = 0; i < rig.live_count; ++i) {
    if (rig.live[i].attempt != attempt) continue;
    std::copy(rig.live.begin() + static_cast<std::ptrdiff_t>(i + 1),
              rig.live.begin() + static_cast<std::ptrdiff_t>(rig.live_count),
              rig.live.begin() + static_cast<std::ptrdiff_t>(i));
    --rig.live_count;
    return;
  }
}

// Drains the action buffer as a driver would; true when request `id` completed.
bool drain(Rig& rig, RequestId id) {
  bool done = false;
  for (const Action& a : rig.out) {
    if (const auto* send = std::get_if<SendAttempt>(&a)) {
      ++rig.attempts;
      if (rig.live_count < rig.live.size()) rig.live[rig.live_count++] = *send;
    } else if (const auto* cancel = std::get_if<CancelAttempt>(&a)) {
      forget_live(rig, cancel->attempt);
    } else if (const auto* complete = std::get_if<Complete>(&a)) {
      ++rig.completed;
      if (complete->status == RequestStatus::succeeded) ++rig.succeeded;
      done |= complete->request == id;
    }
  }
  rig.out.clear();
  return done;
}

// Lets time jump to the engine's next deadline (never backwards) and fires it.
void fire_next_deadline(Rig& rig) {
  const std::optional<Time> due = rig.engine.next_deadline();
  rig.now = std::max(rig.now + us(1), due.value_or(rig.now));
  rig.engine.on_timeout(rig.now, rig.out);
}

// Answers the oldest live attempt as its target is scripted to.
void answer_oldest(Rig& rig) {
  const SendAttempt a = rig.live[0];
  const Reply reply = rig.reply[a.target];
  if (reply == Reply::silent) {
    fire_next_deadline(rig);  // the engine cancels it at its deadline
    return;
  }
  forget_live(rig, a.attempt);
  rig.now += us(1);
  rig.engine.on_response(rig.now, a.attempt, reply == Reply::ok ? rig.ok : rig.unavailable, rig.out);
}

// One request from submit to Complete, answering every attempt it makes.
void run_request(Rig& rig) {
  const RequestId id = rig.next_id++;
  rig.now += us(1);
  rig.engine.submit(rig.now, make_request(id), rig.out);
  bool done = drain(rig, id);
  for (int step = 0; !done && step < kStepsPerRequestMax; ++step) {
    if (rig.live_count == 0) {
      fire_next_deadline(rig);  // queued or backing off
    } else {
      answer_oldest(rig);
    }
    done = drain(rig, id);
  }
}

// ---- reporting -----------------------------------------------------------------------

struct Snapshot {
  std::uint64_t allocs = 0;
  std::uint64_t bytes = 0;
  std::int64_t attempts = 0;
  std::int64_t completed = 0;
  std::int64_t succeeded = 0;
};

Snapshot snapshot(const Rig* rig) {
  const AllocCount now = alloc_count();
  Snapshot s{now.allocs, now.bytes};
  if (rig != nullptr) {
    s.attempts = rig->attempts;
    s.completed = rig->completed;
    s.succeeded = rig->succeeded;
  }
  return s;
}

void report(benchmark::State& state, const Snapshot& before, const Rig* rig, const char* unit) {
  const Snapshot after = snapshot(rig);
  using benchmark::Counter;
  auto name = [unit](const char* what) { return std::string(what).append("_per_").append(unit); };
  state.counters[name("allocs")] = Counter(static_cast<double>(after.allocs - before.allocs), Counter::kAvgIterations);
  state.counters[name("bytes")] = Counter(static_cast<double>(after.bytes - before.bytes), Counter::kAvgIterations);
  if (rig == nullptr) return;
  // Not assertions: these show that each benchmark measures the path it claims to.
  state.counters[name("attempts")] =
      Counter(static_cast<double>(after.attempts - before.attempts), Counter::kAvgIterations);
  const auto completed = static_cast<double>(after.completed - before.completed);
  state.counters["ok_ratio"] = completed > 0 ? static_cast<double>(after.succeeded - before.succeeded) / completed : 0;
}

// Warm-up, then the timed loop: one request cycle per iteration.
void run_cycles(benchmark::State& state, Rig& rig) {
  for (int i = 0; i < kWarmupRequests; ++i) run_request(rig);
  const Snapshot before = snapshot(&rig);
  for (auto _ : state) run_request(rig);
  report(state, before, &rig, "request");
}

// ---- (1) the healthy cycle -----------------------------------------------------------

// 4 targets in priority order, every attempt succeeds: one attempt per request, p0.
void BM_CycleHealthy(benchmark::State& state) {
  Rig rig(bench_config(4));
  run_cycles(state, rig);
}
BENCHMARK(BM_CycleHealthy);

// ---- (2) a failing primary -----------------------------------------------------------

// p0 answers 503 to every attempt. Its breaker opens on the 5th failure (during the
// warm-up) for 30 s of virtual time, ~15M requests at 2 us each, longer than a run,
// so requests go straight to p1: what a breaker saves. (A half-open probe, should a
// run last that long, gets its 503 like any other attempt.)
void BM_CycleFailingPrimaryBreakerOpen(benchmark::State& state) {
  Rig rig(bench_config(4));
  rig.reply[0] = Reply::http_503;
  run_cycles(state, rig);
}
BENCHMARK(BM_CycleFailingPrimaryBreakerOpen);

// The same with the breaker's trip rules off: every request is p0 -> 503 -> fallback
// -> p1 -> success, two attempts and one retry token per request.
void BM_CycleFailingPrimaryNoBreaker(benchmark::State& state) {
  Config c = bench_config(4);
  disable_breaker(c);
  fund_one_retry_per_request(c);
  Rig rig(c);
  rig.reply[0] = Reply::http_503;
  run_cycles(state, rig);
}
BENCHMARK(BM_CycleFailingPrimaryNoBreaker);

// ---- (5) the timeout path ------------------------------------------------------------

// p0 never answers: on_timeout at the attempt deadline (30 s; the first-byte timer is
// off so that the attempt's own deadline is the one that fires) cancels it, charges it
// as possibly billed, and falls back to p1, which succeeds. Breaker off, as above.
void BM_CycleTimeoutPrimary(benchmark::State& state) {
  Config c = bench_config(4);
  disable_breaker(c);
  fund_one_retry_per_request(c);
  c.policy.timeouts.first_byte = Duration{0};
  Rig rig(c);
  rig.reply[0] = Reply::silent;
  run_cycles(state, rig);
}
BENCHMARK(BM_CycleTimeoutPrimary);

// ---- (4) route selection -------------------------------------------------------------
// evaluate() and pick() cannot be called alone (they are private to EngineImpl), and a
// submit measured alone either queues (evaluate runs, pick does not, and the queue
// grows until it rejects) or dispatches (the attempt must then be answered, which is
// the full cycle). So route selection is isolated by difference: the same healthy
// cycle over routes of 1, 4 and 16 targets. Everything else is constant, so the slope
// is the per-target cost of evaluate + pick.
void BM_RouteWidth(benchmark::State& state) {
  Rig rig(bench_config(static_cast<int>(state.range(0))));
  run_cycles(state, rig);
}
BENCHMARK(BM_RouteWidth)->Arg(1)->Arg(4)->Arg(16);

// 4 targets in one priority level, weight 1 each: pick() draws from the PRNG.
void BM_RouteWeighted4(benchmark::State& state) {
  Rig rig(bench_config(4, true));
  run_cycles(state, rig);
}
BENCHMARK(BM_RouteWeighted4);

// Full concurrency: each provider takes one attempt at a time and 4 are in flight, so
// every submit queues (evaluate finds all 4 targets busy) and the next response
// dispatches it from the queue. Per iteration: one queued submit + one response that
// completes the oldest request and dispatches the queued one.
void BM_CycleSaturatedQueue(benchmark::State& state) {
  Config c = bench_config(4);
  for (ProviderConfig& p : c.providers) p.concurrency_max = 1;
  Rig rig(c);
  auto submit = [&rig] {
    const RequestId id = rig.next_id++;
    rig.now += us(1);
    rig.engine.submit(rig.now, make_request(id), rig.out);
    (void)drain(rig, id);
  };
  auto step = [&rig, &submit] {
    submit();            // queued behind the 4 attempts in flight
    answer_oldest(rig);  // completes the oldest request; the queued one goes out
    (void)drain(rig, 0);
  };
  for (int i = 0; i < 4; ++i) submit();  // fill every provider's one slot
  for (int i = 0; i < kWarmupRequests; ++i) step();
  const Snapshot before = snapshot(&rig);
  for (auto _ : state) step();
  report(state, before, &rig, "request");
}
BENCHMARK(BM_CycleSaturatedQueue);

// ---- (3) the breaker decision --------------------------------------------------------

// A closed breaker recording a success and answering admits(): the per-response cost.
void BM_BreakerRecordSuccess(benchmark::State& state) {
  Breaker breaker{BreakerPolicy{}};
  Time now = kTimeZero;
  const Snapshot before = snapshot(nullptr);
  for (auto _ : state) {
    now += us(1);
    benchmark::DoNotOptimize(breaker.record(now, {.failure = false, .slow = false, .trip_allowed = true}));
    benchmark::DoNotOptimize(breaker.admits());
  }
  report(state, before, nullptr, "op");
}
BENCHMARK(BM_BreakerRecordSuccess);

// One failure in four: below both trip rules (5 consecutive, 50% of >= 20 calls), so
// it stays closed, but every failure evaluates the sliding window.
void BM_BreakerRecordMixed(benchmark::State& state) {
  Breaker breaker{BreakerPolicy{}};
  Time now = kTimeZero;
  std::uint32_t n = 0;
  const Snapshot before = snapshot(nullptr);
  for (auto _ : state) {
    now += us(1);
    benchmark::DoNotOptimize(breaker.record(now, {.failure = (++n & 3U) == 0, .slow = false, .trip_allowed = true}));
    benchmark::DoNotOptimize(breaker.admits());
  }
  report(state, before, nullptr, "op");
}
BENCHMARK(BM_BreakerRecordMixed);

}  // namespace
}  // namespace failover::bench

BENCHMARK_MAIN();
