// Each fault kind of the fleet, run through the production engine in a short simulated
// run, shows up as the outcome the engine should see: a 503 storm trips the primary's
// breaker and fallbacks succeed; a rate_limit cut is back-pressure that blocks the
// target without tripping it; a brownout raises latency; a hang is cancelled by the
// engine's own timer; a refused connection fails over at once; malformed bodies and cut
// streams never count as successes. Every run conserves its requests, and the digest
// depends on the seed and only on it.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "sim/simulation.h"

namespace failover::sim {
namespace {

constexpr Time kFaultStart = kTimeZero + minutes(1);
constexpr Duration kFaultLength = minutes(3);
constexpr Duration kRunLength = minutes(6);
constexpr std::int64_t kRatePerMinute = 1'200;

// `targets` providers p0..p{n-1} (p0 first in the one route), 1,200 requests/minute
// for 6 minutes, failed requests end failed (no requeue), and `fault` on p0.
RunSpec fault_spec(int targets, std::optional<Fault> fault, bool stream = false) {
  RunSpec s;
  RouteConfig route;
  route.name = "main";
  const char* names[] = {"p0", "p1", "p2"};
  for (int i = 0; i < targets; ++i) {
    ProviderConfig p;
    p.name = names[i];
    p.base_url = "https://example.invalid";
    p.api_key_env = "KEY";
    p.concurrency_max = 500;
    p.models.push_back(ModelConfig{"m", 1'000'000, 4'000'000, 100'000});
    s.config.providers.push_back(p);
    route.targets.push_back(RouteTarget{s.config.intern_target(static_cast<Index>(i), 0), i, 1});
    ProviderSpec ps;
    ps.name = names[i];
    ps.latency.first_token = LatencyDist::lognormal(ms(300), ms(1'000));
    ps.latency.per_output_token = ms(2);
    ps.models = p.models;
    s.providers.push_back(ps);
  }
  s.config.routes.push_back(route);
  s.config.policy.timeouts.attempt = sec(30);
  s.config.policy.timeouts.first_byte = sec(15);
  if (fault) s.providers[0].faults.push_back(*fault);
  TrafficClass cls;
  cls.name = "all";
  cls.route = 0;
  cls.prompt_tokens = TokenDist::constant(200);
  cls.output_tokens = TokenDist::constant(100);
  cls.stream = stream;
  s.traffic.rate = RateSchedule::steady(kRatePerMinute);
  s.traffic.process = ArrivalProcess::poisson;
  s.traffic.end = kTimeZero + kRunLength;
  s.traffic.classes.push_back(cls);
  s.buffer.mode = BufferMode::fail;
  s.end = kTimeZero + kRunLength;
  s.seed = 7;
  return s;
}

bool in_fault(Time t) {
  return t >= kFaultStart && t < kFaultStart + kFaultLength;
}

// What the trace says about attempts: each send's target and time, each response's
// kind and status, each cancel's reason, and for each request that completed as
// succeeded the attempt whose response completed it (the response traced just before).
struct TraceView {
  struct Attempt {
    Index target = kNoIndex;
    Time sent;
    std::optional<Time> cancelled;
    std::optional<CancelReason> cancel_reason;
    std::optional<OutcomeKind> outcome;
    std::int32_t status = 0;
  };
  std::map<AttemptId, Attempt> attempts;
  std::vector<AttemptId> served_by;  // one per succeeded request, in completion order
  std::int64_t arrivals_in_fault = 0;

  // Attempts sent to `target` during the fault window.
  [[nodiscard]] std::int64_t sent_in_fault(Index target) const {
    return std::count_if(attempts.begin(), attempts.end(),
                         [&](const auto& kv) { return kv.second.target == target && in_fault(kv.second.sent); });
  }
  // Succeeded requests whose serving attempt went to `target` during the fault window.
  [[nodiscard]] std::int64_t successes_in_fault(Index target) const {
    return std::count_if(served_by.begin(), served_by.end(), [&](AttemptId id) {
      const Attempt& a = attempts.at(id);
      return a.target == target && in_fault(a.sent);
    });
  }
  // Responses of `kind` from attempts to `target`.
  [[nodiscard]] std::int64_t responses(Index target, OutcomeKind kind) const {
    return std::count_if(attempts.begin(), attempts.end(),
                         [&](const auto& kv) { return kv.second.target == target && kv.second.outcome == kind; });
  }
};

TraceView view_of(const TraceRecorder& recorder) {
  EXPECT_FALSE(recorder.truncated());
  TraceView v;
  std::optional<AttemptId> last_response;
  for (const TraceEvent& e : recorder.events()) {
    switch (static_cast<TraceKind>(e.kind)) {
      case TraceKind::arrival:
        if (in_fault(e.at)) ++v.arrivals_in_fault;
        break;
      case TraceKind::send:
        v.attempts[e.a] = TraceView::Attempt{static_cast<Index>(e.b), e.at, {}, {}, {}, 0};
        break;
      case TraceKind::response:
        v.attempts.at(e.a).outcome = static_cast<OutcomeKind>(e.b >> 16);
        v.attempts.at(e.a).status = static_cast<std::int32_t>(e.b & 0xffff);
        last_response = e.a;
        break;
      case TraceKind::cancel:
        v.attempts.at(e.a).cancelled = e.at;
        v.attempts.at(e.a).cancel_reason = static_cast<CancelReason>(e.b);
        break;
      case TraceKind::complete:
        if ((e.b >> 8) == static_cast<std::uint64_t>(RequestStatus::succeeded)) {
          EXPECT_TRUE(last_response.has_value());
          if (last_response) v.served_by.push_back(*last_response);
        }
        break;
      default:
        break;
    }
  }
  return v;
}

struct Traced {
  RunResult result;
  TraceView view;
};

Traced run_traced(const RunSpec& spec) {
  EXPECT_TRUE(validate(spec.config).has_value());
  TraceRecorder recorder(2'000'000);
  Traced t{run_simulation(spec, &recorder), {}};
  t.view = view_of(recorder);
  return t;
}

TEST(FaultKinds, A503StormTripsThePrimaryAndFallbacksSucceed) {
  const Traced t = run_traced(fault_spec(2, Fault::http_error(kFaultStart, kFaultLength, 503, Ratio{94, 100})));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  EXPECT_GT(t.view.responses(0, OutcomeKind::http_status), 0);
  EXPECT_GE(r.trips_by_target[0], 1);
  EXPECT_EQ(r.trips_by_target[1], 0);
  // The primary's breaker opened during the storm and closed again after it.
  const auto opened = std::find_if(r.transitions.begin(), r.transitions.end(),
                                   [](const Transition& x) { return x.target == 0 && x.to == BreakerState::open; });
  ASSERT_NE(opened, r.transitions.end());
  EXPECT_TRUE(in_fault(opened->at));
  EXPECT_EQ(r.breaker_end[0], BreakerState::closed);
  // Most of the storm's requests were served by the fallback.
  EXPECT_GT(t.view.successes_in_fault(1), t.view.arrivals_in_fault * 8 / 10);
  EXPECT_GE(r.availability(), 0.99);
}

TEST(FaultKinds, ARateLimitCutBlocksTheTargetWithoutTrippingIt) {
  RunSpec spec = fault_spec(2, Fault::rate_limit(kFaultStart, kFaultLength, Ratio{9, 10}));
  spec.providers[0].rpm_max = 2 * kRatePerMinute;  // cut to a fifth of the traffic
  const Traced t = run_traced(spec);
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  const std::int64_t refused = std::count_if(t.view.attempts.begin(), t.view.attempts.end(), [](const auto& kv) {
    return kv.second.target == 0 && kv.second.status == 429 && in_fault(kv.second.sent);
  });
  EXPECT_GT(refused, 0);
  // Blocked by Retry-After, p0 gets far fewer attempts than arrivals, and few of them are
  // refused: the engine does not keep knocking on a target that said "later".
  EXPECT_LT(t.view.sent_in_fault(0), t.view.arrivals_in_fault / 2);
  EXPECT_LT(refused, t.view.arrivals_in_fault / 10);
  EXPECT_GT(t.view.successes_in_fault(1), t.view.arrivals_in_fault / 2);
  // 429 is back-pressure, not ill health.
  EXPECT_EQ(r.trips_by_target[0], 0);
  EXPECT_GE(r.availability(), 0.99);
}

TEST(FaultKinds, ABrownoutRaisesLatencyOnASingleTargetRoute) {
  const RunResult calm = run_simulation(fault_spec(1, std::nullopt));
  const RunResult brown = run_simulation(fault_spec(1, Fault::latency_factor(kFaultStart, kFaultLength, 4'000)));
  EXPECT_TRUE(calm.conserved);
  EXPECT_TRUE(brown.conserved);
  // Half the run is four times slower: its p99 comes from the brownout.
  const auto p99 = [](const RunResult& r) { return to_us(r.latency.percentile(Ratio{99, 100})); };
  EXPECT_GT(p99(brown), 3 * p99(calm));
  // Slower, not failing: nothing timed out at these latencies.
  EXPECT_EQ(brown.succeeded, brown.arrived - brown.in_flight_end);
}

TEST(FaultKinds, AHangIsCancelledByTheEnginesFirstByteTimeout) {
  // Streamed: the first-byte timeout bounds the wait for the first token.
  const Traced t = run_traced(fault_spec(2, Fault::hang(kFaultStart, kFaultLength, Ratio{1, 2}), true));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  std::int64_t timed_out = 0;
  for (const auto& [id, a] : t.view.attempts) {
    if (a.target != 0 || !in_fault(a.sent) || a.outcome) continue;
    // No answer ever came: the engine's timer ended the attempt, 15 s after the send
    // (or the run ended first).
    if (!a.cancelled) {
      EXPECT_GE(r.end - a.sent, sec(15));
      continue;
    }
    ++timed_out;
    EXPECT_EQ(a.cancel_reason, CancelReason::timeout);
    EXPECT_EQ(*a.cancelled - a.sent, sec(15));
  }
  EXPECT_GT(timed_out, 100);
  EXPECT_GT(r.possibly_billed_micro_usd, 0);  // a hung attempt may still be billed
  EXPECT_GE(r.availability(), 0.99);          // the fallback served them after the timeout
}

TEST(FaultKinds, ARefusedConnectionFailsOverAtOnce) {
  const RunResult calm = run_simulation(fault_spec(2, std::nullopt));
  const Traced t = run_traced(fault_spec(2, Fault::connect_error(kFaultStart, kFaultLength, kRatioOne)));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_GT(t.view.responses(0, OutcomeKind::connect_error), 0);
  EXPECT_GT(t.view.successes_in_fault(1), t.view.arrivals_in_fault * 9 / 10);
  // Nothing lost to it: every request was served or is still in flight at the end, as on
  // a calm run (which of them are still in flight depends on which provider drew them).
  EXPECT_EQ(r.failed + r.dropped, 0);
  EXPECT_EQ(calm.failed + calm.dropped, 0);
  EXPECT_LE(r.in_flight_end, calm.in_flight_end + 5);
  // Nothing waited on a timer: the failover costs milliseconds, not a timeout.
  for (const auto& [id, a] : t.view.attempts) EXPECT_FALSE(a.cancelled.has_value());
  const auto p99 = [](const RunResult& x) { return to_us(x.latency.percentile(Ratio{99, 100})); };
  EXPECT_LT(p99(r), p99(calm) + to_us(ms(250)));
}

TEST(FaultKinds, AMalformedBodyIsNeverASuccessOnThatProvider) {
  const Traced t = run_traced(fault_spec(2, Fault::malformed(kFaultStart, kFaultLength, kRatioOne)));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  EXPECT_GT(t.view.responses(0, OutcomeKind::malformed), 0);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_GT(t.view.successes_in_fault(1), t.view.arrivals_in_fault * 9 / 10);
  EXPECT_GE(r.trips_by_target[0], 1);  // a 200 that does not decode is ill health
  EXPECT_GE(r.availability(), 0.99);
}

TEST(FaultKinds, ACutStreamIsNeverASuccess) {
  const Traced t = run_traced(fault_spec(2, Fault::truncated(kFaultStart, kFaultLength, kRatioOne), true));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  EXPECT_GT(t.view.responses(0, OutcomeKind::truncated), 0);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  // A stream that already reached the caller cannot resume elsewhere (the route does not
  // allow it): it fails as interrupted. One cut before its first token fails over.
  EXPECT_GT(r.failed_by[static_cast<std::size_t>(EndReason::stream_interrupted)], 0);
  EXPECT_GT(t.view.successes_in_fault(1), 0);
  EXPECT_GE(r.trips_by_target[0], 1);
}

// The stream faults, each as the live transport classifies what it puts on the wire: an
// error event is the status it names, a stream without its end marker is truncated, a
// stall that resumes is a late success and one whose connection dies is truncated too. Content before the
// fault commits the stream to its attempt: it then fails as interrupted.
TEST(FaultKinds, AnErrorEventBeforeAnyContentFailsOverAsItsStatus) {
  const Traced t = run_traced(fault_spec(2, Fault::stream_error(kFaultStart, kFaultLength, kRatioOne, 529, 0), true));
  const RunResult& r = t.result;
  EXPECT_TRUE(r.conserved);
  std::int64_t overloaded = 0;
  for (const auto& [id, a] : t.view.attempts) overloaded += a.target == 0 && a.status == 529 ? 1 : 0;
  EXPECT_GT(overloaded, 0);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_EQ(r.failed_by[static_cast<std::size_t>(EndReason::stream_interrupted)], 0);
  EXPECT_GT(t.view.successes_in_fault(1), t.view.arrivals_in_fault * 9 / 10);
  EXPECT_GE(r.trips_by_target[0], 1);
}

TEST(FaultKinds, AnErrorEventAfterContentInterruptsTheStream) {
  const Traced t = run_traced(fault_spec(2, Fault::stream_error(kFaultStart, kFaultLength, kRatioOne, 529, 10), true));
  EXPECT_TRUE(t.result.conserved);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_GT(t.result.failed_by[static_cast<std::size_t>(EndReason::stream_interrupted)], 0);
}

TEST(FaultKinds, AStreamEndingWithoutItsEndMarkerIsTruncated) {
  const Traced t = run_traced(fault_spec(2, Fault::unterminated(kFaultStart, kFaultLength, kRatioOne, 10), true));
  EXPECT_TRUE(t.result.conserved);
  EXPECT_GT(t.view.responses(0, OutcomeKind::truncated), 0);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_GT(t.result.failed_by[static_cast<std::size_t>(EndReason::stream_interrupted)], 0);
}

TEST(FaultKinds, AStallThatResumesIsALateSuccess) {
  const RunResult calm = run_simulation(fault_spec(1, std::nullopt, true));
  const Traced t =
      run_traced(fault_spec(1, Fault::stall_for(kFaultStart, kFaultLength, kRatioOne, sec(5), 10, false), true));
  EXPECT_TRUE(t.result.conserved);
  EXPECT_EQ(t.view.successes_in_fault(0), t.view.arrivals_in_fault);
  EXPECT_EQ(t.result.failed, 0);
  EXPECT_GT(t.result.latency.percentile(Ratio{9, 10}), calm.latency.percentile(Ratio{9, 10}) + sec(4));
}

TEST(FaultKinds, AStallThatDiesIsATruncatedCommittedStream) {
  const Traced t =
      run_traced(fault_spec(2, Fault::stall_for(kFaultStart, kFaultLength, kRatioOne, sec(2), 10, true), true));
  EXPECT_TRUE(t.result.conserved);
  EXPECT_GT(t.view.responses(0, OutcomeKind::truncated), 0);
  EXPECT_EQ(t.view.successes_in_fault(0), 0);
  EXPECT_GT(t.result.failed_by[static_cast<std::size_t>(EndReason::stream_interrupted)], 0);
}

TEST(FaultKinds, StreamFaultsLeaveNonStreamedCallsAlone) {
  for (const Fault& f : {Fault::stream_error(kFaultStart, kFaultLength, kRatioOne, 529, 0),
                         Fault::unterminated(kFaultStart, kFaultLength, kRatioOne, 0),
                         Fault::stall_for(kFaultStart, kFaultLength, kRatioOne, sec(2), 0, true)}) {
    const Traced t = run_traced(fault_spec(1, f, false));
    EXPECT_EQ(t.view.successes_in_fault(0), t.view.arrivals_in_fault) << to_string(f.kind);
    EXPECT_EQ(t.result.failed, 0) << to_string(f.kind);
  }
}

TEST(FaultKinds, StreamFaultsConserveRequestsWhenRequeued) {
  for (const Fault& f : {Fault::stream_error(kFaultStart, kFaultLength, Ratio{1, 5}, 429, 5),
                         Fault::unterminated(kFaultStart, kFaultLength, Ratio{1, 5}, 0),
                         Fault::stall_for(kFaultStart, kFaultLength, Ratio{1, 5}, sec(3), 50, true)}) {
    RunSpec spec = fault_spec(2, f, true);
    spec.buffer.mode = BufferMode::requeue;
    spec.buffer.capacity = 2'000;
    spec.buffer.redelivery_delay = sec(5);
    const RunResult r = run_simulation(spec);
    EXPECT_TRUE(r.conserved) << to_string(f.kind);
    EXPECT_EQ(r.arrived, r.succeeded + r.failed + r.dropped + r.in_flight_end) << to_string(f.kind);
    EXPECT_GT(r.succeeded, r.arrived * 9 / 10) << to_string(f.kind);
  }
}

// Every kind at once on the primary, overlapping, and a second outage on the fallback.
RunSpec every_kind_spec(std::uint64_t seed) {
  RunSpec spec = fault_spec(3, std::nullopt, true);
  const Time start = kFaultStart;
  spec.providers[0].rpm_max = kRatePerMinute;
  spec.providers[0].faults = {Fault::http_error(start, kFaultLength, 503, Ratio{1, 5}),
                              Fault::rate_limit(start, kFaultLength, Ratio{1, 2}).ramped(sec(30), sec(30)),
                              Fault::latency_factor(start, kFaultLength, 3'000),
                              Fault::hang(start + sec(30), kFaultLength, Ratio{1, 10}),
                              Fault::connect_error(start, kFaultLength, Ratio{1, 10}),
                              Fault::malformed(start, kFaultLength, Ratio{1, 10}),
                              Fault::truncated(start, kFaultLength, Ratio{1, 10})};
  spec.providers[1].faults = {Fault::http_error(start + minutes(1), minutes(1), 503, Ratio{1, 2})};
  spec.seed = seed;
  return spec;
}

TEST(FaultKinds, EveryKindConservesRequests) {
  const FaultKind kinds[] = {FaultKind::http_error,    FaultKind::rate_limit, FaultKind::latency,  FaultKind::hang,
                             FaultKind::connect_error, FaultKind::malformed,  FaultKind::truncated};
  for (const FaultKind kind : kinds) {
    // In requeue mode too: what fails goes back to the buffer and comes again.
    for (const BufferMode mode : {BufferMode::fail, BufferMode::requeue}) {
      RunSpec spec = every_kind_spec(11);
      std::vector<Fault>& faults = spec.providers[0].faults;
      faults.erase(std::remove_if(faults.begin(), faults.end(), [&](const Fault& f) { return f.kind != kind; }),
                   faults.end());
      ASSERT_EQ(faults.size(), 1U);
      spec.buffer.mode = mode;
      spec.buffer.capacity = 2'000;
      spec.buffer.redelivery_delay = sec(5);
      const RunResult r = run_simulation(spec);
      EXPECT_TRUE(r.conserved) << to_string(kind);
      EXPECT_EQ(r.arrived, r.succeeded + r.failed + r.dropped + r.in_flight_end) << to_string(kind);
      EXPECT_GT(r.succeeded, r.arrived * 9 / 10) << to_string(kind);
    }
  }
  const RunResult all = run_simulation(every_kind_spec(11));
  EXPECT_TRUE(all.conserved);
  EXPECT_GT(all.attempts, all.arrived);  // the faults made the engine retry and fail over
}

TEST(FaultKinds, TheSameSeedGivesTheSameDigestAndAnotherSeedAnother) {
  const RunResult a = run_simulation(every_kind_spec(11));
  const RunResult b = run_simulation(every_kind_spec(11));
  const RunResult c = run_simulation(every_kind_spec(12));
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.succeeded, b.succeeded);
  EXPECT_NE(a.digest, c.digest);
  EXPECT_EQ(a.digest.size(), 16U);
}

}  // namespace
}  // namespace failover::sim
