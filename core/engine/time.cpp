#include "core/engine/time.h"

#include <array>
#include <utility>

namespace failover {

std::string duration_text(Duration d) {
  const std::int64_t n = to_us(d);
  if (n == 0) return "0";
  // The magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64.
  std::uint64_t rest = n < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  constexpr std::array<std::pair<std::uint64_t, const char*>, 5> kUnits{
      {{3'600'000'000, "h"}, {60'000'000, "m"}, {1'000'000, "s"}, {1'000, "ms"}, {1, "us"}}};
  std::string out = n < 0 ? "-" : "";
  for (const auto& [size, name] : kUnits) {
    if (rest < size) continue;
    out += std::to_string(rest / size) + name;
    rest %= size;
  }
  return out;
}

}  // namespace failover
