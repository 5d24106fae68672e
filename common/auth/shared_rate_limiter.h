// A key's rate limit across every replica of a service: a fixed window of W = burst / rate
// seconds (at least 1 s) holds at most `burst` calls (at least rate x W), counted in one
// Redis counter per key, scope and window. A replica does not ask Redis per call: it leases
// a slice of the window's allowance (about 2%, at least one call) and admits from it
// locally, so a key at thousands of calls a second costs a few Redis round trips per window
// and replica. The per-replica token bucket (rate_limiter.h) still shapes bursts on each
// replica; this caps their sum. A slice leased and not used by the end of its window is
// lost, so the sum stays at or under the limit. While Redis cannot be reached the window
// admits (the per-replica bucket still applies) and asks again after a second.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/rate_limiter.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"

namespace journey::auth {

// The window a limit is counted in, and how many calls it holds across replicas.
struct SharedWindow {
  absl::Duration length;
  int64_t capacity = 0;
};
SharedWindow SharedWindowOf(const RateLimit& limit);

class SharedRateLimiter {
 public:
  SharedRateLimiter(storage::RedisClient* redis, std::string workspace, const Clock* clock);

  // nullopt when the call may go ahead, else how long until the window ends.
  std::optional<absl::Duration> TryAcquire(const std::string& key_id, absl::string_view scope, const RateLimit& limit);

 private:
  struct Lease {
    std::mutex mu;       // held through a lease's round trip: only calls of this key wait
    int64_t window = -1;  // index of the window the slice belongs to
    int64_t left = 0;     // calls left in the slice
    bool exhausted = false;  // the window's allowance is gone across replicas
  };
  // Takes a slice of `window` from Redis: the calls granted (0 = none left), or an error.
  absl::StatusOr<int64_t> LeaseSlice(const std::string& counter, const SharedWindow& w, absl::Duration ttl);

  storage::RedisClient* redis_;
  const std::string workspace_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Lease>> leases_;  // by key and scope; bounded by the keys
  absl::Time redis_retry_at_ = absl::InfinitePast();     // under mu_
};

}  // namespace journey::auth
