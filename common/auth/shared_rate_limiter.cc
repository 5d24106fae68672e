#include "common/auth/shared_rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"

namespace journey::auth {
namespace {

// Share of a window's allowance one lease takes: small enough that slices left unused at
// the window's end cost little of the limit, large enough that Redis sees few leases.
constexpr double kSliceShare = 0.02;
// How long a lease may wait for Redis inside a call, and how long a failed one is not retried.
constexpr absl::Duration kLeaseTimeout = absl::Milliseconds(20);
constexpr absl::Duration kRedisRetry = absl::Seconds(1);

}  // namespace

SharedWindow SharedWindowOf(const RateLimit& limit) {
  SharedWindow w;
  const double burst = EffectiveBurst(limit);
  const double seconds = std::max(1.0, burst / limit.rate_per_s);
  w.length = absl::Milliseconds(std::llround(seconds * 1000));
  w.capacity = std::max<int64_t>(1, std::llround(std::max(burst, limit.rate_per_s * seconds)));
  return w;
}

SharedRateLimiter::SharedRateLimiter(storage::RedisClient* redis, std::string workspace, const Clock* clock)
    : redis_(redis), workspace_(std::move(workspace)), clock_(clock) {}

absl::StatusOr<int64_t> SharedRateLimiter::LeaseSlice(const std::string& counter, const SharedWindow& w,
                                                      absl::Duration ttl) {
  const int64_t slice = std::max<int64_t>(1, std::llround(w.capacity * kSliceShare));
  auto replies = redis_->Pipeline({{"INCRBY", counter, std::to_string(slice)},
                                   {"PEXPIRE", counter, std::to_string(absl::ToInt64Milliseconds(ttl))}},
                                  kLeaseTimeout);
  if (!replies.ok()) return replies.status();
  if (replies->empty() || (*replies)[0].type != storage::RedisReply::Type::kInteger) {
    return absl::InternalError(absl::StrCat("INCRBY ", counter, ": unexpected reply ", (*replies)[0].str));
  }
  const int64_t before = (*replies)[0].integer - slice;
  return std::clamp<int64_t>(w.capacity - before, 0, slice);
}

std::optional<absl::Duration> SharedRateLimiter::TryAcquire(const std::string& key_id, absl::string_view scope,
                                                            const RateLimit& limit) {
  if (limit.rate_per_s <= 0) return std::nullopt;
  const SharedWindow w = SharedWindowOf(limit);
  const absl::Time now = clock_->Now();
  const int64_t window_ms = absl::ToInt64Milliseconds(w.length);
  const int64_t window = absl::ToUnixMillis(now) / window_ms;
  const absl::Time window_end = absl::FromUnixMillis((window + 1) * window_ms);
  Lease* lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now < redis_retry_at_) return std::nullopt;
    std::unique_ptr<Lease>& slot = leases_[absl::StrCat(key_id, "|", scope)];
    if (slot == nullptr) slot = std::make_unique<Lease>();
    lease = slot.get();
  }
  std::lock_guard<std::mutex> lock(lease->mu);
  if (lease->window != window) {
    lease->window = window;
    lease->left = 0;
    lease->exhausted = false;
  }
  if (lease->left == 0 && !lease->exhausted) {
    auto granted = LeaseSlice(keys::RateLimitWindow(workspace_, key_id, scope, window_ms, window), w, 2 * w.length);
    if (!granted.ok()) {
      log::Warn("rate limit across replicas unavailable; limiting per replica",
                {{"key_id", key_id}, {"error", std::string(granted.status().message())}});
      std::lock_guard<std::mutex> retry_lock(mu_);
      redis_retry_at_ = now + kRedisRetry;
      return std::nullopt;
    }
    lease->left = *granted;
    lease->exhausted = *granted == 0;
  }
  if (lease->left > 0) {
    --lease->left;
    return std::nullopt;
  }
  return std::max(absl::Milliseconds(1), window_end - now);
}

}  // namespace journey::auth
