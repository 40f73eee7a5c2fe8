// Checks shared by the subcommands' options, applied to the text before CLI11 converts it.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace failover::cli {

// A seed is a whole number in [0, 2^64 - 1], in decimal. Converted by CLI11 alone, "-1"
// wraps and 18446744073709551616 saturates, and both silently run seed
// 18446744073709551615: a run nobody asked for, reported as if it were.
inline CLI::Validator seed_text() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || ec != std::errc{} || stop != end) {
          return "seed \"" + text + "\" is not a whole number from 0 to 18446744073709551615";
        }
        return {};
      },
      "SEED");
}

}  // namespace failover::cli
