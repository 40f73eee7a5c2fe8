// The case study's request classifier (TieredRouter.classify_request in
// reference/case-study-2026-05-08.txt): a keyword and max-tokens heuristic that sorts
// a prompt into simple, medium or complex, offered as one optional classifier. It only
// names a complexity; mapping that to a tier, and the tier to a route, is the caller's
// and the config's job. Explicit tiers on the request are preferred to guessing.
#pragma once

#include <cstdint>
#include <string_view>

namespace failover {

enum class Complexity : std::uint8_t { simple, medium, complex };

// The indicators the case study counts; each counts once however often it appears.
inline constexpr std::string_view kComplexityIndicators[] = {
    "analyze", "evaluate", "compare", "design", "architect",
    "debug",   "refactor", "optimize", "explain why",
};

// complex when two or more indicators appear or max_tokens > 2000; medium when one
// appears or max_tokens > 500; otherwise simple. Indicators match as case-insensitive
// substrings (ASCII lowering, like Python's lower() on these ASCII words), so "Analyzed"
// and "redesign" count, as they do in the case study.
Complexity classify_complexity(std::string_view prompt, std::int64_t max_tokens) noexcept;

std::string_view to_string(Complexity c) noexcept;

}  // namespace failover
