// sim_bench: how fast the simulator replays the headline outage, and whether its memory
// stays flat in the simulated duration. It builds the case study's shape in C++ (2,400
// requests/minute, four providers at the case study's prices, a two-hour 94% 503 storm
// on the primary from minute 23, a 43,200-message requeue buffer), runs the production
// engine against it for 3 simulated hours and for 24, and prints wall time, simulated
// requests and events per wall second, simulated seconds per wall second, peak and
// current RSS, heap allocations and the trace digest. The clock is read here, never in
// sim/. A plain main, not Google Benchmark: one run is seconds long and its figures
// are per run. Benchmarks never assert. Results: reports/bench-sim.md.
//
// Usage: sim_bench            3 h three times (median), then 24 h once
//        sim_bench --minutes M  one run of M simulated minutes (for a profiler)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "core/engine/config.h"
#include "core/engine/time.h"
#include "sim/distribution.h"
#include "sim/fleet.h"
#include "sim/simulation.h"
#include "sim/traffic.h"

namespace failover::bench {
namespace {

constexpr std::uint64_t kSeed = 20'260'508;  // the case study's date
constexpr std::int64_t kRatePerMinute = 2'400;
constexpr std::int64_t kBufferCapacity = 43'200;  // 18 minutes of arrivals
constexpr int kMedianRuns = 3;
constexpr std::int64_t kShortMinutes = 180;  // 3 h
constexpr std::int64_t kDayMinutes = 1'440;  // 24 h

// The headline shape: four providers as in the case study (prices per 1M tokens), one
// route in that priority order, the storm on the first from minute 23 for two hours.
sim::RunSpec headline_spec(Duration length) {
  sim::RunSpec s;
  const struct {
    const char* name;
    const char* model;
    std::int64_t in, out;
  } rows[] = {{"anthropic", "claude-sonnet-4-5", 3'000'000, 15'000'000},
              {"openai", "gpt-4.1", 2'000'000, 8'000'000},
              {"google", "gemini-2.5-flash", 350'000, 2'500'000},
              {"deepseek", "deepseek-chat", 70'000, 420'000}};
  RouteConfig route;
  route.name = "main";
  for (int i = 0; i < 4; ++i) {
    ProviderConfig p;
    p.name = rows[i].name;
    p.base_url = "https://example.invalid";
    p.api_key_env = "KEY";
    p.concurrency_max = 1'000;
    p.models.push_back(ModelConfig{rows[i].model, rows[i].in, rows[i].out, 200'000});
    s.config.providers.push_back(p);
    route.targets.push_back(RouteTarget{s.config.intern_target(static_cast<Index>(i), 0), i, 1});
    sim::ProviderSpec ps;
    ps.name = rows[i].name;
    ps.latency.first_token = sim::LatencyDist::lognormal(ms(600), ms(2'500));
    ps.latency.per_output_token = ms(3);
    ps.concurrency_max = 1'000;
    ps.models = p.models;
    s.providers.push_back(ps);
  }
  s.config.routes.push_back(route);
  s.config.policy.breaker.half_open_probes = 3;
  s.config.policy.queue.depth_max = static_cast<std::int32_t>(kBufferCapacity);
  s.config.policy.queue.requests_max = static_cast<std::int32_t>(kBufferCapacity);
  // The storm's 503s come back after 10 s: the gateway waits for its upstream first.
  sim::Fault storm = sim::Fault::http_error(kTimeZero + minutes(23), minutes(120), 503, Ratio{94, 100});
  storm.delay = sec(10);
  s.providers[0].faults.push_back(storm);
  sim::TrafficClass cls;
  cls.name = "search";
  cls.route = 0;
  cls.prompt_tokens = sim::TokenDist::lognormal(800, 4'000);
  // Non-streamed: the whole answer must arrive within the first-byte timeout (15 s).
  // With p99 600 tokens at 3 ms each, the longest of 3.5 million draws (about 3,000
  // tokens) takes about 9 s; a fatter tail would make a few answers that can never
  // arrive in time, requeued forever (a poison message, not a benchmark of the storm).
  cls.output_tokens = sim::TokenDist::lognormal(150, 600);
  s.traffic.rate = sim::RateSchedule::steady(kRatePerMinute);
  s.traffic.process = sim::ArrivalProcess::poisson;
  s.traffic.end = kTimeZero + length;
  s.traffic.classes.push_back(cls);
  s.buffer.capacity = kBufferCapacity;
  s.buffer.mode = sim::BufferMode::requeue;
  s.end = kTimeZero + length;
  s.seed = kSeed;
  return s;
}

// Peak RSS of the process so far (Linux: ru_maxrss is in KiB).
long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Resident set now, from /proc/self/statm (pages); -1 when unreadable.
long current_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0;
  long resident = -1;
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  std::fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Measured {
  double wall_s = 0;
  std::int64_t requests = 0;  // arrivals
  std::uint64_t events = 0;   // traced events
  double sim_s = 0;
  std::uint64_t allocs = 0;
  long peak_rss_kib = 0;
  long rss_kib = 0;
  sim::RunResult result;
};

Measured measure(Duration length) {
  const sim::RunSpec spec = headline_spec(length);
  if (const Status ok = validate(spec.config); !ok) {
    std::fprintf(stderr, "invalid config: %s\n", ok.error().message().c_str());
    std::exit(2);
  }
  Measured m;
  const std::uint64_t allocs_before = alloc_count().allocs;
  const auto t0 = std::chrono::steady_clock::now();
  m.result = sim::run_simulation(spec);
  const auto t1 = std::chrono::steady_clock::now();
  m.allocs = alloc_count().allocs - allocs_before;
  m.wall_s = std::chrono::duration<double>(t1 - t0).count();
  m.requests = m.result.arrived;
  m.events = m.result.events;
  m.sim_s = static_cast<double>(to_us(length)) / 1e6;
  m.peak_rss_kib = peak_rss_kib();
  m.rss_kib = current_rss_kib();
  return m;
}

void print(const char* label, const Measured& m) {
  const sim::RunResult& r = m.result;
  std::printf(
      "%-10s wall %7.3f s | requests %9lld  %10.0f req/s | events %10llu  %11.0f ev/s | "
      "sim-s/wall-s %9.0f | allocs/request %6.2f | peak RSS %6ld KiB, RSS %6ld KiB (series %4zu KiB) | "
      "digest %s\n",
      label, m.wall_s, static_cast<long long>(m.requests), static_cast<double>(m.requests) / m.wall_s,
      static_cast<unsigned long long>(m.events), static_cast<double>(m.events) / m.wall_s, m.sim_s / m.wall_s,
      static_cast<double>(m.allocs) / static_cast<double>(std::max<std::int64_t>(m.requests, 1)), m.peak_rss_kib,
      m.rss_kib, r.series.size() * sizeof(sim::Bucket) / 1024, r.digest.c_str());
  std::printf(
      "%-10s   availability %.5f, succeeded %lld, failed %lld, dropped %lld, requeued %lld, in flight %lld, "
      "attempts %lld, trips(primary) %lld, held peak %lld, overflow %s, conserved %s\n",
      "", r.availability(), static_cast<long long>(r.succeeded), static_cast<long long>(r.failed),
      static_cast<long long>(r.dropped), static_cast<long long>(r.requeued), static_cast<long long>(r.in_flight_end),
      static_cast<long long>(r.attempts), static_cast<long long>(r.trips_by_target.empty() ? 0 : r.trips_by_target[0]),
      static_cast<long long>(r.held_peak), r.overflow_at ? "yes" : "never", r.conserved ? "yes" : "NO");
}

int run_one(long minutes_length) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  const Measured m = measure(minutes(minutes_length));
  print(std::to_string(minutes_length).append(" min").c_str(), m);
  return 0;
}

int run_all() {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  std::printf(
      "headline: 2,400 req/min Poisson, 4 providers, 94%% 503 storm on the primary 00:23-02:23 "
      "(503s after 10 s), requeue buffer %lld\n",
      static_cast<long long>(kBufferCapacity));
  std::vector<Measured> short_runs;
  short_runs.reserve(kMedianRuns);
  for (int i = 0; i < kMedianRuns; ++i) {
    short_runs.push_back(measure(minutes(kShortMinutes)));
    print(std::string("3h run ").append(std::to_string(i + 1)).c_str(), short_runs.back());
  }
  const long rss_after_3h = current_rss_kib();
  const long peak_after_3h = peak_rss_kib();
  std::vector<double> walls(short_runs.size());
  std::transform(short_runs.begin(), short_runs.end(), walls.begin(), [](const Measured& m) { return m.wall_s; });
  std::sort(walls.begin(), walls.end());
  const double median = walls[walls.size() / 2];
  const Measured& first = short_runs.front();
  std::printf("3h median  wall %7.3f s | %10.0f req/s | %11.0f ev/s | sim-s/wall-s %9.0f\n", median,
              static_cast<double>(first.requests) / median, static_cast<double>(first.events) / median,
              first.sim_s / median);

  const Measured day = measure(minutes(kDayMinutes));
  print("24h", day);
  std::printf(
      "RSS after 3h runs: %ld KiB (peak %ld KiB); after 24h run: %ld KiB (peak %ld KiB); "
      "peak ratio 24h/3h %.3f\n",
      rss_after_3h, peak_after_3h, day.rss_kib, day.peak_rss_kib,
      static_cast<double>(day.peak_rss_kib) / static_cast<double>(peak_after_3h));
  return 0;
}

}  // namespace
}  // namespace failover::bench

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--minutes") == 0) {
    const long m = std::strtol(argv[2], nullptr, 10);
    if (m > 0) return failover::bench::run_one(m);
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--minutes M]\n", argv[0]);
    return 2;
  }
  return failover::bench::run_all();
}
