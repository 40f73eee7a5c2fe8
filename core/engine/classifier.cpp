#include "core/engine/classifier.h"

#include <cstddef>

#include "core/engine/assert.h"

namespace failover {
namespace {

constexpr std::int64_t kMediumTokensAbove = 500;
constexpr std::int64_t kComplexTokensAbove = 2'000;
static_assert(kMediumTokensAbove < kComplexTokensAbove);

constexpr char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Does `needle` (lower-case ASCII) occur in `haystack`, ignoring ASCII case? No
// allocation: prompts can be long, and the lowered copy Python makes is not needed.
bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  FAILOVER_ASSERT(!needle.empty());
  if (haystack.size() < needle.size()) return false;
  const std::size_t last = haystack.size() - needle.size();
  for (std::size_t i = 0; i <= last; ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower_ascii(haystack[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace

Complexity classify_complexity(std::string_view prompt, std::int64_t max_tokens) noexcept {
  int score = 0;
  for (const std::string_view indicator : kComplexityIndicators) {
    if (contains_ignoring_case(prompt, indicator)) ++score;
  }
  if (score >= 2 || max_tokens > kComplexTokensAbove) return Complexity::complex;
  if (score >= 1 || max_tokens > kMediumTokensAbove) return Complexity::medium;
  return Complexity::simple;
}

std::string_view to_string(Complexity c) noexcept {
  switch (c) {
    case Complexity::simple: return "simple";
    case Complexity::medium: return "medium";
    case Complexity::complex: return "complex";
  }
  // Only a value outside the enumeration gets here, and that is a bug.
  FAILOVER_ASSERT(static_cast<int>(c) <= static_cast<int>(Complexity::complex));
  return "invalid";
}

}  // namespace failover
