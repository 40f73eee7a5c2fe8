// Writes a Config back as a live config file (schema: docs/config.md), the inverse of
// load.h: every field, defaults included, spelt as the loader reads it -- durations as
// "250ms", ratios as "94%", prices as USD per million tokens -- in one canonical order
// (docs/config.md's). Two Configs that drive the engine alike write the same text, and the
// text loads back to that Config. What the values should be is left to the loader and
// validate(); this file only spells them. Never throws.
#pragma once

#include <string>

#include "core/engine/config.h"
#include "core/engine/result.h"

namespace failover::config {

// The live config `config` amounts to, as TOML: [[providers]] (no `sim` table: that
// belongs to a scenario), [[routes]], [[tiers]] and every [policy] block. A Config
// that validate() accepts loads back from the text to the same text. A ratio that is
// not a whole number of millionths (none the loader makes) is written rounded to one,
// as the loader would round it. An Error only when memory runs out.
Result<std::string> config_toml(const Config& config);

}  // namespace failover::config
