#include "sim/fleet.h"

#include <algorithm>
#include <utility>

#include "core/engine/assert.h"
#include "core/engine/cost.h"

namespace failover::sim {
namespace {

constexpr std::int64_t kMicrosPerMinute = 60'000'000;
constexpr Duration kFaultDurationMax = minutes(60 * 24 * 30);
constexpr std::int64_t kRatioDenMax = 1'000'000'000'000;  // num x kPpm stays below 2^63

Fault make_fault(FaultKind kind, Time start, Duration duration, Ratio intensity) {
  Fault f;
  f.kind = kind;
  f.start = start;
  f.duration = duration;
  f.intensity = intensity;
  return f;
}

void check_fault(const Fault& f, const ProviderSpec& spec) {
  FAILOVER_ASSERT(f.duration > Duration{0});
  FAILOVER_ASSERT(f.duration <= kFaultDurationMax);
  FAILOVER_ASSERT(f.intensity.valid());
  FAILOVER_ASSERT(f.intensity.den <= kRatioDenMax);
  FAILOVER_ASSERT(f.ramp_up >= Duration{0});
  FAILOVER_ASSERT(f.ramp_down >= Duration{0});
  FAILOVER_ASSERT(f.ramp_up + f.ramp_down <= f.duration);
  FAILOVER_ASSERT(f.delay >= Duration{0});
  FAILOVER_ASSERT(f.delay <= kLatencyMax);
  FAILOVER_ASSERT(f.status >= 100);
  // The fleet serves an http_error fault as an error response (the loader checks it).
  FAILOVER_ASSERT(f.kind != FaultKind::http_error || f.status >= 400);
  FAILOVER_ASSERT(f.status <= 599);
  FAILOVER_ASSERT(f.latency_factor_permille > 0);
  FAILOVER_ASSERT(f.latency_factor_permille <= kFactorPermilleMax);
  // A latency fault either multiplies or replaces, not both.
  FAILOVER_ASSERT(!f.latency_first_token || f.latency_factor_permille == kPermille);
  // Cutting limits needs limits to cut (the scenario loader reports it with a line).
  FAILOVER_ASSERT(f.kind != FaultKind::rate_limit || spec.rpm_max > 0 || spec.tpm_max > 0);
  FAILOVER_ASSERT(f.after_tokens >= 0 && f.after_tokens <= kTokensMax);
  FAILOVER_ASSERT(f.kind != FaultKind::stall || (f.stall > Duration{0} && f.stall <= kLatencyMax));
  // A stream's error event names a type a client maps back to this very status.
  FAILOVER_ASSERT(f.kind != FaultKind::stream_error || f.status == 429 || f.status == 500 || f.status == 529);
}

bool is_stream_fault(FaultKind kind) {
  return kind == FaultKind::stream_error || kind == FaultKind::unterminated || kind == FaultKind::stall;
}

void check_spec(const ProviderSpec& spec) {
  FAILOVER_ASSERT(!spec.models.empty());
  FAILOVER_ASSERT(spec.models.size() <= kModelsPerProviderMax);
  FAILOVER_ASSERT(spec.faults.size() <= kFaultsPerProviderMax);
  FAILOVER_ASSERT(spec.concurrency_max >= 0);
  FAILOVER_ASSERT(spec.rpm_max >= 0 && spec.rpm_max <= kLimitPerMinuteMax);
  FAILOVER_ASSERT(spec.tpm_max >= 0 && spec.tpm_max <= kLimitPerMinuteMax);
  FAILOVER_ASSERT(spec.reject_delay >= Duration{0});
  FAILOVER_ASSERT(spec.latency.per_output_token >= Duration{0});
  FAILOVER_ASSERT(spec.latency.per_output_token <= kLatencyMax);
  for (const ModelConfig& m : spec.models) {
    FAILOVER_ASSERT(m.input_micro_usd_per_mtok >= 0);
    FAILOVER_ASSERT(m.output_micro_usd_per_mtok >= 0);
    FAILOVER_ASSERT(m.context_window_tokens >= 0);
  }
  for (const Fault& f : spec.faults) check_fault(f, spec);
}

// Moves one call's TTFT and per-token time by a latency fault at intensity ppm.
void apply_latency(const Fault& f, std::int64_t ppm, double u, std::int64_t& ttft_us, std::int64_t& per_token_us) {
  FAILOVER_ASSERT(f.kind == FaultKind::latency);
  FAILOVER_ASSERT(ppm >= 0 && ppm <= kPpm);
  if (f.latency_first_token) {
    const std::int64_t target = to_us(f.latency_first_token->quantile(u));
    ttft_us += (target - ttft_us) * ppm / kPpm;
  } else {
    const std::int64_t factor = kPermille + (f.latency_factor_permille - kPermille) * ppm / kPpm;
    ttft_us = ttft_us * factor / kPermille;
    per_token_us = per_token_us * factor / kPermille;
  }
  ttft_us = std::clamp(ttft_us, to_us(kLatencyMin), to_us(kLatencyMax));
  per_token_us = std::clamp<std::int64_t>(per_token_us, 0, to_us(kLatencyMax));
}

Duration round_up_to_seconds(Duration wait) {
  FAILOVER_ASSERT(wait > Duration{0});
  const std::int64_t seconds = (to_us(wait) + 999'999) / 1'000'000;
  FAILOVER_ASSERT(seconds >= 1);
  return sec(seconds);
}

}  // namespace

const char* to_string(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::http_error:
      return "http_error";
    case FaultKind::rate_limit:
      return "rate_limit";
    case FaultKind::latency:
      return "latency";
    case FaultKind::hang:
      return "hang";
    case FaultKind::connect_error:
      return "connect_error";
    case FaultKind::malformed:
      return "malformed";
    case FaultKind::truncated:
      return "truncated";
    case FaultKind::stream_error:
      return "stream_error";
    case FaultKind::unterminated:
      return "unterminated";
    case FaultKind::stall:
      return "stall";
  }
  return "unknown";
}

Fault Fault::http_error(Time start, Duration duration, std::int32_t status, Ratio rate) {
  Fault f = make_fault(FaultKind::http_error, start, duration, rate);
  f.status = status;
  return f;
}

Fault Fault::rate_limit(Time start, Duration duration, Ratio cut) {
  return make_fault(FaultKind::rate_limit, start, duration, cut);
}

Fault Fault::latency_factor(Time start, Duration duration, std::int64_t factor_permille) {
  Fault f = make_fault(FaultKind::latency, start, duration, kRatioOne);
  f.latency_factor_permille = factor_permille;
  return f;
}

Fault Fault::latency_override(Time start, Duration duration, LatencyDist first_token) {
  Fault f = make_fault(FaultKind::latency, start, duration, kRatioOne);
  f.latency_first_token = first_token;
  return f;
}

Fault Fault::hang(Time start, Duration duration, Ratio rate) {
  return make_fault(FaultKind::hang, start, duration, rate);
}

Fault Fault::connect_error(Time start, Duration duration, Ratio rate) {
  return make_fault(FaultKind::connect_error, start, duration, rate);
}

Fault Fault::malformed(Time start, Duration duration, Ratio rate) {
  return make_fault(FaultKind::malformed, start, duration, rate);
}

Fault Fault::truncated(Time start, Duration duration, Ratio rate) {
  return make_fault(FaultKind::truncated, start, duration, rate);
}

Fault Fault::stream_error(Time start, Duration duration, Ratio rate, std::int32_t status, std::int64_t after_tokens) {
  Fault f = make_fault(FaultKind::stream_error, start, duration, rate);
  f.status = status;
  f.after_tokens = after_tokens;
  return f;
}

Fault Fault::unterminated(Time start, Duration duration, Ratio rate, std::int64_t after_tokens) {
  Fault f = make_fault(FaultKind::unterminated, start, duration, rate);
  f.after_tokens = after_tokens;
  return f;
}

Fault Fault::stall_for(Time start, Duration duration, Ratio rate, Duration stall, std::int64_t after_tokens,
                       bool reset) {
  Fault f = make_fault(FaultKind::stall, start, duration, rate);
  f.stall = stall;
  f.after_tokens = after_tokens;
  f.reset = reset;
  return f;
}

Fault Fault::ramped(Duration up, Duration down) const {
  FAILOVER_ASSERT(up >= Duration{0} && down >= Duration{0});
  FAILOVER_ASSERT(up + down <= duration);
  Fault f = *this;
  f.ramp_up = up;
  f.ramp_down = down;
  return f;
}

Fault Fault::named(std::string stream_name) const {
  FAILOVER_ASSERT(!stream_name.empty());
  Fault f = *this;
  f.name = std::move(stream_name);
  return f;
}

std::int64_t Fault::intensity_ppm(Time t) const noexcept {
  if (!active(t)) return 0;
  FAILOVER_ASSERT(intensity.valid());
  FAILOVER_ASSERT(intensity.den <= kRatioDenMax);
  const std::int64_t peak = intensity.num * kPpm / intensity.den;
  // peak <= 1e6 and a ramp <= 30 days (2.6e12 µs): the products stay below 2^63.
  const Duration since = t - start;
  const Duration until = end() - t;
  if (since < ramp_up) return peak * to_us(since) / to_us(ramp_up);
  if (until < ramp_down) return peak * to_us(until) / to_us(ramp_down);
  return peak;
}

std::string Fault::stream_key() const {
  if (!name.empty()) return name;
  return std::string(to_string(kind)) + "@" + std::to_string(to_us(start));
}

LimitBucket::LimitBucket(std::int64_t limit_per_minute) : level_(limit_per_minute * kMicrosPerMinute) {
  FAILOVER_ASSERT(limit_per_minute >= 0);
  FAILOVER_ASSERT(limit_per_minute <= kLimitPerMinuteMax);
}

Duration LimitBucket::wait(Time now, std::int64_t amount, std::int64_t limit) {
  FAILOVER_ASSERT(now >= refilled_at_);
  FAILOVER_ASSERT(amount > 0 && amount <= 2 * kTokensMax);
  FAILOVER_ASSERT(limit >= 0 && limit <= kLimitPerMinuteMax);
  // Bounds: cap <= 6e17, the refill <= 6e17, so level_ + refill < 2^63.
  const std::int64_t cap = limit * kMicrosPerMinute;
  const std::int64_t elapsed_us = std::min(to_us(now - refilled_at_), kMicrosPerMinute);
  level_ = std::min(level_ + elapsed_us * limit, cap);
  refilled_at_ = now;
  const std::int64_t cost = amount * kMicrosPerMinute;
  if (cost <= level_) return Duration{0};
  if (cost > cap) return kRetryAfterNeverFits;  // also limit == 0
  return us((cost - level_ + limit - 1) / limit);
}

void LimitBucket::take(std::int64_t amount) {
  const std::int64_t cost = amount * kMicrosPerMinute;
  FAILOVER_ASSERT(amount > 0);
  FAILOVER_ASSERT(cost <= level_);
  level_ -= cost;
}

std::int64_t LimitBucket::available() const noexcept {
  FAILOVER_ASSERT(level_ >= 0);
  return level_ / kMicrosPerMinute;
}

Duration LimitBucket::until_full(std::int64_t limit) const noexcept {
  FAILOVER_ASSERT(limit >= 0 && limit <= kLimitPerMinuteMax);
  const std::int64_t cap = limit * kMicrosPerMinute;
  if (limit == 0 || level_ >= cap) return Duration{0};
  return us((cap - level_ + limit - 1) / limit);
}

// What the faults do to one call: the first hit of each kind (kNoIndex: none), the
// limits left by rate_limit faults, and the call's timing after latency faults.
struct FakeProvider::Effects {
  Index connect = kNoIndex;
  Index hang = kNoIndex;
  Index http = kNoIndex;
  Index truncated = kNoIndex;
  Index malformed = kNoIndex;
  Index stream = kNoIndex;  // the first stream fault hit (stream_error, unterminated, stall)
  Index limit = kNoIndex;   // the rate_limit fault with the deepest cut
  std::uint64_t cut_draw = 0;
  std::int64_t keep_ppm = kPpm;
  std::int64_t ttft_us = 0;
  std::int64_t per_token_us = 0;
};

FakeProvider::FakeProvider(ProviderSpec spec, const Prng& stream)
    : spec_(std::move(spec)),
      latency_prng_(stream.fork("latency")),
      rpm_bucket_(spec_.rpm_max),
      tpm_bucket_(spec_.tpm_max),
      rpm_in_force_(spec_.rpm_max),
      tpm_in_force_(spec_.tpm_max) {
  check_spec(spec_);
  fault_prngs_.reserve(spec_.faults.size());
  for (std::size_t i = 0; i < spec_.faults.size(); ++i) {
    const std::string key = spec_.faults[i].stream_key();
    // Two faults on one stream would draw in lockstep: their keys must differ.
    for (std::size_t j = 0; j < i; ++j) FAILOVER_ASSERT(spec_.faults[j].stream_key() != key);
    fault_prngs_.push_back(stream.fork("fault/" + key));
  }
  FAILOVER_ASSERT(fault_prngs_.size() == spec_.faults.size());
}

FakeProvider::Effects FakeProvider::draw_faults(Time now, const AttemptSpec& attempt, double u) {
  FAILOVER_ASSERT(attempt.output_tokens >= 1);
  Effects fx;
  fx.ttft_us = to_us(spec_.latency.first_token.quantile(u));
  fx.per_token_us = to_us(spec_.latency.per_output_token);
  for (std::size_t i = 0; i < spec_.faults.size(); ++i) {
    const Fault& f = spec_.faults[i];
    if (!f.active(now)) continue;
    const std::int64_t ppm = f.intensity_ppm(now);
    const auto index = static_cast<Index>(i);
    if (f.kind == FaultKind::rate_limit) {
      if (kPpm - ppm < fx.keep_ppm) {
        fx.keep_ppm = kPpm - ppm;
        fx.limit = index;
      }
      continue;
    }
    if (f.kind == FaultKind::latency) {
      apply_latency(f, ppm, u, fx.ttft_us, fx.per_token_us);
      continue;
    }
    // Every call in the window draws, hit or not, so the stream stays aligned with calls.
    Prng& prng = fault_prngs_[i];
    const bool hit = prng.below(kPpm) < static_cast<std::uint64_t>(ppm);
    const std::uint64_t aux = f.kind == FaultKind::truncated ? prng.next() : 0;
    if (!hit) continue;
    Index* first = f.kind == FaultKind::connect_error ? &fx.connect
                   : f.kind == FaultKind::hang        ? &fx.hang
                   : f.kind == FaultKind::http_error  ? &fx.http
                   : f.kind == FaultKind::truncated   ? &fx.truncated
                   : is_stream_fault(f.kind)          ? &fx.stream
                                                      : &fx.malformed;
    if (*first != kNoIndex) continue;
    *first = index;
    if (f.kind == FaultKind::truncated) fx.cut_draw = aux;
  }
  FAILOVER_ASSERT(fx.keep_ppm >= 0);
  return fx;
}

std::optional<Duration> FakeProvider::limit_wait(Time now, const AttemptSpec& attempt, std::int64_t keep_ppm) {
  FAILOVER_ASSERT(keep_ppm >= 0 && keep_ppm <= kPpm);
  const std::int64_t tokens = attempt.prompt_tokens + attempt.output_tokens;
  FAILOVER_ASSERT(tokens >= 2);
  const bool rpm = spec_.rpm_max > 0;
  const bool tpm = spec_.tpm_max > 0;
  rpm_in_force_ = spec_.rpm_max * keep_ppm / kPpm;
  tpm_in_force_ = spec_.tpm_max * keep_ppm / kPpm;
  Duration wait{0};
  if (rpm) wait = std::max(wait, rpm_bucket_.wait(now, 1, rpm_in_force_));
  if (tpm) wait = std::max(wait, tpm_bucket_.wait(now, tokens, tpm_in_force_));
  if (wait > Duration{0}) return round_up_to_seconds(wait);
  // Both buckets admit: only now take from either, so a TPM refusal costs no RPM.
  if (rpm) rpm_bucket_.take(1);
  if (tpm) tpm_bucket_.take(tokens);
  return std::nullopt;
}

Reply FakeProvider::immediate(Time now, Duration delay, const Outcome& outcome, Index fault) const {
  FAILOVER_ASSERT(delay >= Duration{0});
  FAILOVER_ASSERT(outcome.kind != OutcomeKind::success);
  Reply r;
  r.done_at = now + delay;
  r.outcome = outcome;
  r.fault = fault;
  return r;
}

Reply FakeProvider::start(Time now, const AttemptSpec& attempt) {
  FAILOVER_ASSERT(now >= last_now_);
  FAILOVER_ASSERT(attempt.model < spec_.models.size());
  FAILOVER_ASSERT(attempt.prompt_tokens >= kTokensMin && attempt.prompt_tokens <= kTokensMax);
  FAILOVER_ASSERT(attempt.output_tokens >= kTokensMin && attempt.output_tokens <= kTokensMax);
  FAILOVER_ASSERT(attempt.max_tokens >= 0 && attempt.max_tokens <= kTokensMax);
  last_now_ = now;
  ++stats_.calls;
  const double u = open_unit(latency_prng_);  // exactly one latency draw per call
  const Effects fx = draw_faults(now, attempt, u);
  if (fx.connect != kNoIndex) {
    ++stats_.connect_errors;
    const Fault& f = spec_.faults[fx.connect];
    return immediate(now, f.delay, Outcome::of(f.reset ? OutcomeKind::reset : OutcomeKind::connect_error), fx.connect);
  }
  const ModelConfig& model = spec_.models[attempt.model];
  const std::int64_t reserved = std::max(attempt.output_tokens, attempt.max_tokens);
  if (model.context_window_tokens > 0 && attempt.prompt_tokens + reserved > model.context_window_tokens) {
    ++stats_.context_refusals;
    return immediate(now, spec_.reject_delay, Outcome::refused(400, Refusal::context_length), kNoIndex);
  }
  if (spec_.concurrency_max > 0 && inflight_ >= spec_.concurrency_max) {
    ++stats_.over_capacity;
    const OverCapacity& oc = spec_.over_capacity;
    return immediate(now, spec_.reject_delay, Outcome::http(oc.status, oc.retry_after), kNoIndex);
  }
  if (const std::optional<Duration> wait = limit_wait(now, attempt, fx.keep_ppm)) {
    ++stats_.rate_limited;
    return immediate(now, spec_.reject_delay, Outcome::http(429, *wait), fx.limit);
  }
  ++inflight_;
  ++stats_.admitted;
  return answer(now, attempt, fx);
}

Reply FakeProvider::answer(Time now, const AttemptSpec& attempt, const Effects& fx) {
  FAILOVER_ASSERT(inflight_ > 0);
  Reply r;
  r.holds_slot = true;
  if (fx.hang != kNoIndex) {
    ++stats_.hangs;
    r.outcome = Outcome::timed_out(TimeoutKind::total);
    r.fault = fx.hang;
    return r;
  }
  if (fx.http != kNoIndex) {
    ++stats_.http_errors;
    const Fault& f = spec_.faults[fx.http];
    r.done_at = now + f.delay;
    r.outcome = Outcome::http(f.status, f.retry_after);
    r.fault = fx.http;
    return r;
  }
  const Time first = now + us(fx.ttft_us);
  r.done_at = first + us(fx.per_token_us) * attempt.output_tokens;
  r.first_byte_at = attempt.stream ? first : r.done_at;
  if (fx.truncated != kNoIndex) {
    // The cut point, in [0, output_tokens): a stream stops generating there; a
    // non-streamed body is generated whole and cut in transit, so nothing usable arrives.
    ++stats_.truncated;
    const auto cut = static_cast<std::int64_t>(fx.cut_draw % static_cast<std::uint64_t>(attempt.output_tokens));
    if (attempt.stream) r.done_at = first + us(fx.per_token_us) * cut;
    r.tokens_delivered = attempt.stream ? cut : 0;
    const std::int64_t generated = attempt.stream ? cut : attempt.output_tokens;
    r.billed_micro_usd = price_micro_usd(attempt.model, Usage{attempt.prompt_tokens, generated, true});
    r.outcome = Outcome::of(OutcomeKind::truncated);
    r.fault = fx.truncated;
    return r;
  }
  // A stream fault breaks only a stream; a non-streamed call it hit goes on as if missed.
  if (fx.stream != kNoIndex && attempt.stream) return broken_stream(r, attempt, fx.stream, first, fx.per_token_us);
  const Usage usage{attempt.prompt_tokens, attempt.output_tokens, true};
  r.billed_micro_usd = price_micro_usd(attempt.model, usage);
  r.tokens_delivered = attempt.output_tokens;
  if (fx.malformed != kNoIndex) {
    ++stats_.malformed;
    r.outcome = Outcome::of(OutcomeKind::malformed);
    r.outcome.http_status = 200;
    r.fault = fx.malformed;
    return r;
  }
  ++stats_.succeeded;
  r.outcome = Outcome::ok(usage);
  return r;
}

RateLimitState FakeProvider::rate_limits() const noexcept {
  RateLimitState s;
  if (spec_.rpm_max > 0) s.requests = {rpm_in_force_, rpm_bucket_.available(), rpm_bucket_.until_full(rpm_in_force_)};
  if (spec_.tpm_max > 0) s.tokens = {tpm_in_force_, tpm_bucket_.available(), tpm_bucket_.until_full(tpm_in_force_)};
  return s;
}

Reply FakeProvider::broken_stream(Reply r, const AttemptSpec& attempt, Index fault, Time first,
                                  std::int64_t per_token_us) {
  FAILOVER_ASSERT(attempt.stream);
  FAILOVER_ASSERT(fault < spec_.faults.size());
  const Fault& f = spec_.faults[fault];
  FAILOVER_ASSERT(is_stream_fault(f.kind));
  const std::int64_t sent = std::min(f.after_tokens, attempt.output_tokens);
  const Time broken_at = first + us(per_token_us) * sent;
  r.fault = fault;
  r.break_after_tokens = sent;
  // Content reached the client -- the engine commits the stream -- only if a token did.
  r.first_byte_at = sent > 0 ? first : kTimeNever;
  r.tokens_delivered = sent;
  r.billed_micro_usd = price_micro_usd(attempt.model, Usage{attempt.prompt_tokens, sent, true});
  switch (f.kind) {
    case FaultKind::stream_error:
      ++stats_.stream_errors;
      r.stream_break = StreamBreak::error_event;
      r.done_at = broken_at;
      r.outcome = Outcome::http(f.status);
      return r;
    case FaultKind::unterminated:
      ++stats_.unterminated;
      r.stream_break = StreamBreak::no_end_marker;
      r.done_at = broken_at;
      r.outcome = Outcome::of(OutcomeKind::truncated);
      return r;
    default:
      break;
  }
  FAILOVER_ASSERT(f.kind == FaultKind::stall);
  ++stats_.stalls;
  r.stream_break = StreamBreak::stall;
  r.stall_from = broken_at;
  r.stall_until = broken_at + f.stall;
  if (f.reset) {
    // The live transport reads a connection that dies inside a 200 stream as a stream
    // that ended before its end marker.
    r.done_at = r.stall_until;
    r.outcome = Outcome::of(OutcomeKind::truncated);
    return r;
  }
  // Resumed: the whole answer, `stall` late from the stall on.
  ++stats_.succeeded;
  const Usage usage{attempt.prompt_tokens, attempt.output_tokens, true};
  if (sent == 0) r.first_byte_at = r.stall_until;
  r.done_at = first + us(per_token_us) * attempt.output_tokens + f.stall;
  r.tokens_delivered = attempt.output_tokens;
  r.billed_micro_usd = price_micro_usd(attempt.model, usage);
  r.outcome = Outcome::ok(usage);
  return r;
}

void FakeProvider::finish(Time now) {
  FAILOVER_ASSERT(now >= last_now_);
  FAILOVER_ASSERT(inflight_ > 0);
  last_now_ = now;
  --inflight_;
}

std::int64_t FakeProvider::price_micro_usd(Index model, const Usage& usage) const {
  FAILOVER_ASSERT(model < spec_.models.size());
  FAILOVER_ASSERT(usage.input_tokens >= 0);
  FAILOVER_ASSERT(usage.output_tokens >= 0);
  return call_cost_micro_usd(spec_.models[model], usage.input_tokens, usage.output_tokens);
}

Fleet::Fleet(std::vector<ProviderSpec> specs, const Prng& run) {
  FAILOVER_ASSERT(specs.size() <= kFleetProvidersMax);
  providers_.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) FAILOVER_ASSERT(specs[j].name != specs[i].name);
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const Prng stream = run.fork("provider/" + specs[i].name);
    providers_.emplace_back(std::move(specs[i]), stream);
  }
  FAILOVER_ASSERT(providers_.size() == specs.size());
}

FakeProvider& Fleet::provider(Index i) {
  FAILOVER_ASSERT(i < providers_.size());
  return providers_[i];
}

const FakeProvider& Fleet::provider(Index i) const {
  FAILOVER_ASSERT(i < providers_.size());
  return providers_[i];
}

}  // namespace failover::sim
