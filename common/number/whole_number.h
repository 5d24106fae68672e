#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

namespace journey::number {

// A number from JSON, YAML or a string property becomes an integer field only when it is whole
// and fits: casting a double outside the target's range is undefined behaviour, and a fuzzer
// found exactly that with a 120-digit "quantity".
template <typename Int>
std::optional<Int> WholeNumber(double v) {
  static_assert(std::numeric_limits<Int>::is_integer, "WholeNumber converts to integer types");
  if (!std::isfinite(v) || v != std::trunc(v)) return std::nullopt;
  // 2^digits is one past max() and exact as a double; max() itself (2^63-1) may not be.
  const double past_max = std::ldexp(1.0, std::numeric_limits<Int>::digits);
  const double lowest = static_cast<double>(std::numeric_limits<Int>::lowest());  // 0 or -2^digits
  if (v < lowest || v >= past_max) return std::nullopt;
  return static_cast<Int>(v);
}

}  // namespace journey::number
