// The orchestration rules on recommend's answers (config/triggers/*.yaml `orchestration:`):
// promotional offers (discount, free shipping, bundle, or attribute promotional: "true") count
// against the customer's global daily cap shared with triggered actions, are withheld during
// a conversion or dismissal cool-down, and in the email placement during the customer's
// email quiet hours. A hook after ranking, so the ranking itself stays as it is.
//
// Latency: the request's one pipelined read is unchanged. The cap is a write, so it costs a
// second round trip, but only when the ranked answer holds a promotional offer: one EVALSHA
// that checks the cool-downs and reserves up to that many units of the cap atomically (two
// replicas never exceed it). When that call fails or times out, promotions are withheld
// (fail closed: the cap is a promise to the customer).
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/orchestration/trigger_config.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "common/time/clock.h"
#include "journey/recommend/v1/recommend.pb.h"

namespace journey::recommend {

class PromotionGate {
 public:
  PromotionGate(storage::RedisClient* redis, const Clock* clock, orchestration::OrchestrationRules rules,
                std::string workspace);

  // Removes the promotional offers the rules do not allow from `out` and reserves the rest.
  // `time_zone`: the customer's (JourneySnapshot.time_zone, "" = the rules' default).
  void Apply(const std::string& user_id, v1::Placement placement, const std::string& time_zone,
             v1::GetRecommendationsResponse* out) const;

  static bool IsPromotional(const v1::OfferRecommendation& offer);

 private:
  storage::RedisClient* redis_;
  const Clock* clock_;
  const orchestration::OrchestrationRules rules_;
  const std::string workspace_;
  const storage::RedisScript reserve_script_;
};

}  // namespace journey::recommend
