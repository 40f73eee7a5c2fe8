// How the config schema (docs/config.md) spells each enumeration: the one table both the
// loader (load.cpp) and the writer (write.cpp) read, so that what one writes the other
// reads back. What each value does is the engine's (core/engine/config.h).
#pragma once

#include "core/config/toml_reader.h"
#include "core/engine/config.h"

namespace failover::config {

inline constexpr Names<Protocol, 2> kProtocols{{{"openai", Protocol::openai}, {"anthropic", Protocol::anthropic}}};
inline constexpr Names<Selection, 3> kSelections{{{"priority", Selection::priority},
                                                  {"least_latency", Selection::least_latency},
                                                  {"cheapest", Selection::cheapest}}};
inline constexpr Names<Backoff, 3> kBackoffs{{{"none", Backoff::none},
                                              {"full_jitter", Backoff::full_jitter},
                                              {"decorrelated_jitter", Backoff::decorrelated_jitter}}};
inline constexpr Names<WhenUnavailable, 2> kWhenUnavailable{
    {{"wait", WhenUnavailable::wait}, {"fail", WhenUnavailable::fail}}};
inline constexpr Names<Discipline, 2> kDiscipline{
    {{"fifo", Discipline::fifo}, {"adaptive_lifo", Discipline::adaptive_lifo}}};
inline constexpr Names<BudgetExhausted, 3> kOnExhausted{{{"downgrade", BudgetExhausted::downgrade},
                                                         {"reject", BudgetExhausted::reject},
                                                         {"report", BudgetExhausted::report}}};

// The name `value` has in `names`; every enumerator has one.
template <typename E, std::size_t N>
constexpr std::string_view name_of(const Names<E, N>& names, E value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  FAILOVER_ASSERT(false);  // a table above lacks an enumerator
  return {};
}

}  // namespace failover::config
