// The fake provider fleet: models of LLM API endpoints that answer attempts with an
// Outcome at a virtual time -- latency from a distribution, 429s beyond concurrency,
// RPM and TPM limits, 400 beyond the context window, and a timeline of faults (503
// storms, rate limiting, brownouts, hangs, refused connections, malformed bodies, cut
// streams). It decides what a provider answers and when; scheduling the answer,
// timing it out and cancelling it is left to the event loop and the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/outcome.h"
#include "core/engine/prng.h"
#include "core/engine/ratio.h"
#include "core/engine/time.h"
#include "sim/distribution.h"

namespace failover::sim {

// Fault intensities are evaluated in parts per million so that a ramp interpolates in
// integers; a Ratio such as 94/100 converts exactly.
inline constexpr std::int64_t kPpm = 1'000'000;
inline constexpr std::size_t kFaultsPerProviderMax = 64;
inline constexpr std::size_t kFleetProvidersMax = kProvidersMax;
inline constexpr std::int64_t kLimitPerMinuteMax = 10'000'000'000;  // RPM or TPM
// Retry-After sent when a request can never fit the limit in force (more tokens than a
// minute's TPM, or a rate_limit fault at full intensity): one full window.
inline constexpr Duration kRetryAfterNeverFits = sec(60);

enum class FaultKind : std::uint8_t {
  http_error,     // a share of calls answered with `status` (the 503 storm)
  rate_limit,     // RPM/TPM limits cut by the intensity (1/2: half the limits)
  latency,        // brownout: TTFT and per-token time multiplied, or TTFT from another dist
  hang,           // a share of calls accepted and never answered: the client's timer decides
  connect_error,  // a share of calls refused (or reset: `reset`) at once, after `delay`
  malformed,      // a share of 200 answers whose body does not decode
  truncated,      // a share of answers cut mid-way, at a token drawn once per call
  // Stream faults: they change only streamed answers (a non-streamed call they hit is
  // answered as if they had not), each after `after_tokens` output tokens (0: before
  // any content).
  stream_error,  // an error event in the 200 stream (status 529, 429 or 500): the engine sees that status
  unterminated,  // the stream ends cleanly without its end marker: truncated
  stall,         // the deltas stop for `stall`, then resume (a slow success) or, with `reset`, the connection resets:
                 // truncated
};
const char* to_string(FaultKind kind) noexcept;

// One fault on one provider's timeline. Its intensity rises linearly from 0 over
// ramp_up after start, holds, and falls linearly to 0 over ramp_down before the end;
// outside [start, start + duration) the fault does nothing and draws nothing.
// Intensity means: the share of calls hit (http_error, hang, connect_error, malformed,
// truncated, and the stream faults); the share of the limits removed (rate_limit); the share of the brownout
// applied (latency: the multiplier becomes 1 + (factor - 1) x intensity, and a
// replacement TTFT moves that far from the normal TTFT toward its own at the same
// quantile).
struct Fault {
  FaultKind kind = FaultKind::http_error;
  std::string name;  // its Prng stream's key; empty: "<kind>@<start µs>"
  Time start = kTimeZero;
  Duration duration{0};
  Ratio intensity = kRatioOne;
  Duration ramp_up{0};
  Duration ramp_down{0};
  std::int32_t status = 503;            // http_error
  std::optional<Duration> retry_after;  // http_error: sent with the status
  Duration delay = ms(1);               // http_error, connect_error: until it arrives
  bool reset = false;  // connect_error: the connection resets after sending (OutcomeKind::reset); stall: after it
  std::int64_t after_tokens = 0;                     // stream faults: output tokens sent before the fault strikes
  Duration stall{0};                                 // stall: how long the deltas stop (> 0)
  std::int64_t latency_factor_permille = kPermille;  // latency
  std::optional<LatencyDist> latency_first_token;    // latency: replaces TTFT (instead of a factor)

  static Fault http_error(Time start, Duration duration, std::int32_t status, Ratio rate);
  static Fault rate_limit(Time start, Duration duration, Ratio cut);
  static Fault latency_factor(Time start, Duration duration, std::int64_t factor_permille);
  static Fault latency_override(Time start, Duration duration, LatencyDist first_token);
  static Fault hang(Time start, Duration duration, Ratio rate);
  static Fault connect_error(Time start, Duration duration, Ratio rate);
  static Fault malformed(Time start, Duration duration, Ratio rate);
  static Fault truncated(Time start, Duration duration, Ratio rate);
  static Fault stream_error(Time start, Duration duration, Ratio rate, std::int32_t status, std::int64_t after_tokens);
  static Fault unterminated(Time start, Duration duration, Ratio rate, std::int64_t after_tokens);
  static Fault stall_for(Time start, Duration duration, Ratio rate, Duration stall, std::int64_t after_tokens,
                         bool reset);
  [[nodiscard]] Fault ramped(Duration up, Duration down) const;
  [[nodiscard]] Fault named(std::string stream_name) const;

  [[nodiscard]] Time end() const noexcept { return start + duration; }
  [[nodiscard]] bool active(Time t) const noexcept { return t >= start && t < end(); }
  // The intensity at t in ppm, interpolated in integers (rounded down); 0 when inactive.
  [[nodiscard]] std::int64_t intensity_ppm(Time t) const noexcept;
  [[nodiscard]] std::string stream_key() const;
};

// What a provider answers when every concurrency slot is busy: 429 with a Retry-After,
// or e.g. 503 without one.
struct OverCapacity {
  std::int32_t status = 429;
  std::optional<Duration> retry_after = sec(1);
};

struct ProviderSpec {
  std::string name;
  LatencyModel latency;              // TTFT distribution + time per output token
  std::int32_t concurrency_max = 0;  // attempts admitted at once; 0: unlimited
  OverCapacity over_capacity;
  std::int64_t rpm_max = 0;         // requests per minute; 0: none
  std::int64_t tpm_max = 0;         // prompt + output tokens per minute; 0: none
  std::vector<ModelConfig> models;  // ids, prices and context windows (0: unchecked)
  std::vector<Fault> faults;        // any order; overlaps allowed (see FakeProvider)
  Duration reject_delay = ms(1);    // the round trip of an immediate 400 or 429
};

// What the caller asks of a provider: which of its models, how big.
struct AttemptSpec {
  Index model = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;  // the length of the answer the model would give
  bool stream = false;
  // The request's max_tokens when it is more than the answer (the fleet draws shorter
  // answers): the context window is checked against prompt + max_tokens, as providers
  // do. 0: output_tokens (the simulator's requests).
  std::int64_t max_tokens = 0;
};

// How a stream fault breaks a streamed answer (what the fleet puts on the wire).
enum class StreamBreak : std::uint8_t {
  none,
  error_event,    // the deltas so far, then the protocol's error event, then a clean end of the body
  no_end_marker,  // the deltas so far, then a clean end of the body: no [DONE] / message_stop
  stall,          // the deltas stop at stall_from; they resume at stall_until, or the connection resets then
};

// The provider's answer, decided when the attempt starts.
struct Reply {
  Time first_byte_at = kTimeNever;  // first byte of a 2xx body (a stream's first chunk); never otherwise
  Time done_at = kTimeNever;        // when `outcome` reaches the client; never for a hang
  // For a hang, what the client's own timer will eventually report; the reply never comes.
  Outcome outcome;
  bool holds_slot = false;            // the caller must call finish() once: at done_at, or on cancel
  std::int64_t tokens_delivered = 0;  // output tokens that reached the client
  std::int64_t billed_micro_usd = 0;  // what the provider charges if the attempt runs to done_at
  Index fault = kNoIndex;             // the fault that decided the outcome, if one did
  // A stream fault: how the stream breaks, after how many output tokens, and for a
  // stall, when the deltas stop and when they resume (or the connection resets).
  StreamBreak stream_break = StreamBreak::none;
  std::int64_t break_after_tokens = 0;
  Time stall_from = kTimeNever;
  Time stall_until = kTimeNever;
};

// One provider-side limit as rate-limit headers report it.
struct LimitState {
  std::int64_t limit = 0;      // per minute, in force (a rate_limit fault cuts it); 0: no such limit
  std::int64_t remaining = 0;  // whole units (requests or tokens) the bucket holds
  Duration until_full{0};      // until the bucket refills to `limit` at that limit
};

// The RPM and TPM buckets as of the provider's last call (start()).
struct RateLimitState {
  LimitState requests;
  LimitState tokens;
};

struct ProviderStats {
  std::int64_t calls = 0;
  std::int64_t admitted = 0;  // took a concurrency slot
  std::int64_t connect_errors = 0;
  std::int64_t context_refusals = 0;
  std::int64_t over_capacity = 0;
  std::int64_t rate_limited = 0;  // by RPM/TPM limits (a 429 http_error fault counts below)
  std::int64_t hangs = 0;
  std::int64_t http_errors = 0;
  std::int64_t malformed = 0;
  std::int64_t truncated = 0;
  std::int64_t stream_errors = 0;  // stream faults that struck (streamed calls only)
  std::int64_t unterminated = 0;
  std::int64_t stalls = 0;  // a stall that resumed also counts as succeeded
  std::int64_t succeeded = 0;
};

// A provider-side RPM or TPM bucket: a token bucket holding at most one minute's worth
// of the limit in force and refilled continuously at that limit per minute; it starts
// full. Unlike the engine's client-side TokenBucket, its limit may change from call to
// call (a rate_limit fault cuts it). Integer arithmetic: one unit
// (a request or a token) is 60'000'000 bucket units, and the bucket gains `limit` units
// per µs.
class LimitBucket {
 public:
  explicit LimitBucket(std::int64_t limit_per_minute);

  // Refills up to `now` at `limit` per minute (the configured limit, or less under a
  // rate_limit fault) and caps at one minute's worth of it. Returns 0 when `amount`
  // can be taken now, otherwise the wait until it can at this limit, or
  // kRetryAfterNeverFits when it never can. Takes nothing.
  Duration wait(Time now, std::int64_t amount, std::int64_t limit);
  // Takes `amount` after wait() returned 0 at the same time.
  void take(std::int64_t amount);
  // Whole units available at the last refill.
  [[nodiscard]] std::int64_t available() const noexcept;
  // From the last refill until the bucket holds one minute of `limit` (0 when it does).
  [[nodiscard]] Duration until_full(std::int64_t limit) const noexcept;

 private:
  std::int64_t level_;
  Time refilled_at_ = kTimeZero;
};

// One fake provider. Its randomness comes from the stream it is given, forked into
// "latency" (exactly one draw per call, whatever happens to the call) and one stream
// per fault, keyed by Fault::stream_key() (one or two draws per call while the fault is
// active). So adding, removing or moving a fault changes no other fault's draws and no
// latency: the same call gets the same TTFT quantile with or without a brownout.
//
// Overlapping faults: each active fault draws independently, so two 50% storms let
// 25% of calls through; of the faults that hit, the first in list order decides, with
// precedence connect_error > hang > http_error > truncated > the stream faults (of
// which the first hit in list order) > malformed (a call that never connected cannot
// hang; a hung call cannot be cut). Latency faults compose in
// list order (multipliers multiply); of overlapping rate_limit faults the deepest cut
// applies.
//
// Order of checks for a call: connect_error faults; the context window (400
// context_length); concurrency (OverCapacity); RPM/TPM limits (429 with Retry-After:
// the wait until capacity returns, rounded up to whole seconds); then, admitted,
// hang, http_error, truncated, stream faults (streamed calls), malformed, success.
class FakeProvider {
 public:
  FakeProvider(ProviderSpec spec, const Prng& stream);

  // Decides the answer to an attempt starting at `now`. Precondition: now is not
  // before any earlier start or finish; attempt.model names one of spec().models;
  // token counts within [1, kTokensMax].
  Reply start(Time now, const AttemptSpec& attempt);
  // Frees the concurrency slot of an attempt whose Reply held one: when it ended, or
  // when the client cancelled it (a hang ends only this way).
  void finish(Time now);

  // The price of `usage` on `model`: the engine's call_cost_micro_usd (core/engine/cost.h).
  [[nodiscard]] std::int64_t price_micro_usd(Index model, const Usage& usage) const;
  [[nodiscard]] std::int32_t inflight() const noexcept { return inflight_; }
  [[nodiscard]] const ProviderStats& stats() const noexcept { return stats_; }
  // The limits after the last start() (limit 0 for one the provider does not have).
  // Reads only: no draw, no refill.
  [[nodiscard]] RateLimitState rate_limits() const noexcept;
  [[nodiscard]] const ProviderSpec& spec() const noexcept { return spec_; }

 private:
  struct Effects;

  Effects draw_faults(Time now, const AttemptSpec& attempt, double u);
  std::optional<Duration> limit_wait(Time now, const AttemptSpec& attempt, std::int64_t keep_ppm);
  Reply answer(Time now, const AttemptSpec& attempt, const Effects& fx);
  Reply immediate(Time now, Duration delay, const Outcome& outcome, Index fault) const;
  // A streamed answer broken by the stream fault `fault`: first content due at `first`.
  Reply broken_stream(Reply r, const AttemptSpec& attempt, Index fault, Time first, std::int64_t per_token_us);

  ProviderSpec spec_;
  Prng latency_prng_;
  std::vector<Prng> fault_prngs_;  // parallel to spec_.faults
  LimitBucket rpm_bucket_;
  LimitBucket tpm_bucket_;
  std::int64_t rpm_in_force_ = 0;  // the limits of the last limit_wait (rate_limit faults applied)
  std::int64_t tpm_in_force_ = 0;
  std::int32_t inflight_ = 0;
  Time last_now_ = kTimeZero;
  ProviderStats stats_;
};

// The providers of a run. Provider i's stream is run.fork("provider/" + name), so its
// draws do not depend on the other providers, their faults or their order.
class Fleet {
 public:
  Fleet(std::vector<ProviderSpec> specs, const Prng& run);

  [[nodiscard]] FakeProvider& provider(Index i);
  [[nodiscard]] const FakeProvider& provider(Index i) const;
  [[nodiscard]] std::size_t size() const noexcept { return providers_.size(); }

 private:
  std::vector<FakeProvider> providers_;
};

}  // namespace failover::sim
