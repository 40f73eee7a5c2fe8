// EngineHarness: drives an Engine by hand in tests -- explicit virtual times, scripted
// outcomes, and every action the engine emitted kept for assertions. It plays the
// driver's part faithfully: it drains the action buffer after each input and fires
// on_timeout at next_deadline() whenever time moves past it.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"
#include "core/engine/prng.h"

namespace failover {
// GoogleTest printers (found by argument-dependent lookup), so that a failed
// expectation names the value instead of dumping its bytes.
inline void PrintTo(BreakerState s, std::ostream* os) {
  *os << to_string(s);
}
inline void PrintTo(RequestStatus s, std::ostream* os) {
  *os << to_string(s);
}
inline void PrintTo(EndReason r, std::ostream* os) {
  *os << to_string(r);
}
}  // namespace failover

namespace failover::test {

// A config with `n` providers p0..p{n-1}, each with one model m{i} priced
// (i+1) $/1M in and out, and one route "main" over them in priority order.
Config make_config(int n, const std::string& route = "main");

class EngineHarness {
 public:
  explicit EngineHarness(const Config& config, std::uint64_t seed = 1);

  // Moves time to `t` (from zero), firing every timer due on the way in order.
  EngineHarness& at(Duration t);
  [[nodiscard]] Time now() const { return now_; }

  // Inputs; each returns the actions that input (and the timers it made due) produced.
  std::vector<Action> submit(const Request& r);
  std::vector<Action> submit(RequestId id, Index route = 0);
  std::vector<Action> outcome(AttemptId attempt, const Outcome& o);
  std::vector<Action> first_byte(AttemptId attempt);
  std::vector<Action> cancel(RequestId id);  // the request's caller went away

  // Every action so far, and filtered views.
  [[nodiscard]] const std::vector<Action>& log() const { return log_; }
  [[nodiscard]] std::vector<SendAttempt> sends() const;
  [[nodiscard]] std::vector<Complete> completes() const;
  [[nodiscard]] std::vector<CancelAttempt> cancels() const;
  [[nodiscard]] std::vector<Charge> charges() const;
  [[nodiscard]] std::vector<BreakerChanged> breaker_changes() const;
  [[nodiscard]] std::optional<Complete> completion_of(RequestId id) const;
  // The SendAttempts not yet answered, cancelled or timed out, in send order.
  [[nodiscard]] std::vector<SendAttempt> outstanding() const;
  [[nodiscard]] SendAttempt last_send() const;
  // The SendAttempts of one request, in send order.
  [[nodiscard]] std::vector<SendAttempt> sends_of(RequestId id) const;

  // Answers every outstanding attempt with `o`, and then those that the answers
  // started at once, until none is left at this time (attempts started later by
  // timers stay outstanding). Returns the actions.
  std::vector<Action> answer_all(const Outcome& o);

  Engine& engine() { return engine_; }

 private:
  std::vector<Action> drain();
  void fire_due(std::vector<Action>& acc);

  Engine engine_;
  ActionBuffer buffer_;
  Time now_{};
  std::vector<Action> log_;
  std::unordered_set<AttemptId> done_;  // answered or cancelled; lookup only
};

}  // namespace failover::test
