// The UTC day of a time as "YYYYMMDD", the form every per-day Redis key uses (caps,
// orchestration caps). The hot path needs it several times a request; formatting through
// the time-zone library costs more than the rest of building the keys, so each thread
// keeps the last day it formatted and formats again only when the day changes.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace journey {

inline const std::string& UtcDay(absl::Time t) {
  struct LastDay {
    int64_t day = INT64_MIN;
    std::string text;
  };
  thread_local LastDay last;
  const int64_t seconds = absl::ToUnixSeconds(t);
  const int64_t day = seconds / 86400 - (seconds % 86400 < 0 ? 1 : 0);  // floor, also before 1970
  if (day != last.day) {
    last.text = absl::FormatTime("%Y%m%d", t, absl::UTCTimeZone());
    last.day = day;
  }
  return last.text;
}

}  // namespace journey
