// Command-line checks shared by the benchmarks (CLI11): whole numbers within a range, with a
// message that says what was wrong.
//
//   app.add_option("--events", events, "records")->check(eddy::bench::whole_number(1, 1e10));
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace eddy::bench {

/// Accepts a whole decimal number from `min` to `max`; refuses signs, fractions and exponents.
inline CLI::Validator whole_number(uint64_t min, uint64_t max) {
  auto range = "[" + std::to_string(min) + " - " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
            text.size() > 19)
          return "'" + text + "' is not a whole number in " + range;
        auto value = std::stoull(text);
        if (value < min || value > max)
          return std::to_string(value) + " is not in " + range;
        return {};
      },
      "in " + range);
}

} // namespace eddy::bench
