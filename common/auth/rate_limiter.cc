#include "common/auth/rate_limiter.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "common/auth/method_scopes.h"

namespace journey::auth {

absl::StatusOr<std::map<std::string, RateLimit>> ParseRateLimits(absl::string_view spec) {
  std::map<std::string, RateLimit> out;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    std::pair<absl::string_view, absl::string_view> rb = absl::StrSplit(kv.second, absl::MaxSplits('/', 1));
    RateLimit limit;
    if (!IsScope(kv.first) || !absl::SimpleAtod(rb.first, &limit.rate_per_s) || limit.rate_per_s < 0 ||
        (!rb.second.empty() && (!absl::SimpleAtod(rb.second, &limit.burst) || limit.burst < 0))) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "' is not SCOPE=RATE_PER_S[/BURST] with a scope like ingest:write"));
    }
    out[std::string(kv.first)] = limit;
  }
  return out;
}

double EffectiveBurst(const RateLimit& limit) {
  return std::max(1.0, limit.burst > 0 ? limit.burst : limit.rate_per_s);
}

std::optional<absl::Duration> RateLimiter::TryAcquire(const std::string& key_id, const RateLimit& limit) {
  if (limit.rate_per_s <= 0) return std::nullopt;
  const double burst = EffectiveBurst(limit);
  const absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(key_id);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst;
  } else {
    b.tokens = std::min(burst, b.tokens + absl::ToDoubleSeconds(now - b.last) * limit.rate_per_s);
  }
  b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return absl::Seconds((1 - b.tokens) / limit.rate_per_s);
}

}  // namespace journey::auth
