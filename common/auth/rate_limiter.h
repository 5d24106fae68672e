// Per-key token buckets (per replica): `rate_per_s` tokens a second up to `burst`, one token
// per call. Time comes from the injected clock, so tests drive it.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time/clock.h"

namespace journey::auth {

struct RateLimit {
  double rate_per_s = 0;  // 0 = unlimited
  double burst = 0;       // 0 = rate_per_s (at least 1)
};

// The burst a limit allows: `burst`, else `rate_per_s`, and at least one call.
double EffectiveBurst(const RateLimit& limit);

// "ingest:write=2000/4000,admin=20" -> scope -> limit (rate/burst; burst optional). The
// error names the entry.
absl::StatusOr<std::map<std::string, RateLimit>> ParseRateLimits(absl::string_view spec);

class RateLimiter {
 public:
  explicit RateLimiter(const Clock* clock) : clock_(clock) {}
  // nullopt when the call may go ahead, else how long until a token is there.
  std::optional<absl::Duration> TryAcquire(const std::string& key_id, const RateLimit& limit);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };
  const Clock* clock_;
  std::mutex mu_;
  // Only authenticated keys get a bucket, so the map is bounded by the number of keys.
  std::map<std::string, Bucket> buckets_;
};

}  // namespace journey::auth
