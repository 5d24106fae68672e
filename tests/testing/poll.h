// Waiting for a condition in tests: a bounded poll, never a bare sleep.
#pragma once

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace journey::testing {

// Calls `condition` until it returns true or `deadline` passes; returns the last result.
inline bool PollUntil(const std::function<bool()>& condition, absl::Duration deadline = absl::Seconds(5),
                      absl::Duration every = absl::Milliseconds(5)) {
  const absl::Time end = absl::Now() + deadline;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= end) return false;
    absl::SleepFor(every);
  }
}

}  // namespace journey::testing
