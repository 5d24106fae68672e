#include "services/recommend/promotion_gate.h"

#include "absl/strings/str_cat.h"
#include "common/orchestration/quiet_hours.h"
#include "common/storage/keys.h"
#include "common/time/utc_day.h"

namespace journey::recommend {
namespace {

// KEYS: 1 today's cap counter, 2 cool-downs. ARGV: 1 now ms, 2 wanted, 3 cap (0 = none),
// 4 counter ttl s. Returns how many promotional offers may be shown (0 in a cool-down).
constexpr const char* kReserveScript = R"lua(
local now = tonumber(ARGV[1])
local cool = redis.call('HMGET', KEYS[2], 'conversion', 'dismissal')
for i = 1, 2 do
  if cool[i] and tonumber(cool[i]) > now then return 0 end
end
local wanted = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
if cap <= 0 then return wanted end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.max(0, math.min(wanted, cap - used))
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return granted
)lua";

}  // namespace

PromotionGate::PromotionGate(storage::RedisClient* redis, const Clock* clock, orchestration::OrchestrationRules rules,
                             std::string workspace)
    : redis_(redis),
      clock_(clock),
      rules_(std::move(rules)),
      workspace_(std::move(workspace)),
      reserve_script_(kReserveScript) {}

bool PromotionGate::IsPromotional(const v1::OfferRecommendation& offer) {
  auto it = offer.attributes().find("promotional");
  if (it != offer.attributes().end()) return it->second == "true";
  return offer.kind() == v1::OFFER_KIND_DISCOUNT || offer.kind() == v1::OFFER_KIND_FREE_SHIPPING ||
         offer.kind() == v1::OFFER_KIND_BUNDLE;
}

void PromotionGate::Apply(const std::string& user_id, v1::Placement placement, const std::string& time_zone,
                          v1::GetRecommendationsResponse* out) const {
  int wanted = 0;
  for (const auto& o : out->offers()) wanted += IsPromotional(o) ? 1 : 0;
  if (wanted == 0) return;  // the common case: no write, no second round trip
  const absl::Time now = clock_->Now();
  int granted = 0;
  const bool quiet = placement == v1::PLACEMENT_EMAIL &&
                     orchestration::ReleaseTime(rules_, journey::common::v1::CHANNEL_EMAIL, now, time_zone) > now;
  if (!quiet) {
    storage::RedisCommand call = {"2",
                                  keys::OrchestrationCapDay(workspace_, user_id, UtcDay(now)),
                                  keys::OrchestrationCooldown(workspace_, user_id),
                                  std::to_string(absl::ToUnixMillis(now)),
                                  std::to_string(wanted),
                                  std::to_string(rules_.global_cap_per_day),
                                  "172800"};
    std::vector<storage::RedisCommand> calls;
    calls.push_back(std::move(call));
    auto replies = reserve_script_.Run(redis_, std::move(calls));
    if (replies.ok() && !replies->front().is_error()) granted = static_cast<int>(replies->front().integer);
  }
  if (granted >= wanted) return;
  // Keep the best-ranked `granted` promotions, drop the others; other offers stay.
  google::protobuf::RepeatedPtrField<v1::OfferRecommendation> kept;
  for (auto& o : *out->mutable_offers()) {
    if (IsPromotional(o)) {
      if (granted == 0) continue;
      --granted;
    }
    *kept.Add() = std::move(o);
  }
  out->mutable_offers()->Swap(&kept);
}

}  // namespace journey::recommend
