// Pricing: what a call costs at a model's prices. The engine owns cost, and this is its
// one formula: the engine reserves and settles with it, and the simulator prices its
// all-primary plan and its fake providers' bills with it, so that the three cannot
// disagree by a rounding. Whether a cost is affordable is the engine's budget policy.
#pragma once

#include <cstdint>

#include "core/engine/config.h"

namespace failover {

// micro-USD for `tokens` at `micro_usd_per_mtok` (micro-USD per million tokens),
// rounded up: spend is never under-reported. Exact for any int64 operands whose
// rounded-up quotient fits int64 (the product is formed in 128 bits when it must be).
std::int64_t price_micro_usd(std::int64_t tokens, std::int64_t micro_usd_per_mtok) noexcept;

// A call to `model` that read `input_tokens` and wrote `output_tokens`: input and
// output each priced, and rounded up, on their own.
std::int64_t call_cost_micro_usd(const ModelConfig& model, std::int64_t input_tokens,
                                 std::int64_t output_tokens) noexcept;

}  // namespace failover
