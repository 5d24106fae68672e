// Segment conditions: validation of a condition tree and its evaluation against one profile
// at a given time. AND / OR / NOT over comparisons of traits, computed attributes, journey
// stage, RFM scores and consent, and event counts within a window.
//
// Attributes: trait.<key>, computed.<field> (orders, revenue, events, sessions,
// average_order_value, days_since_last_order, days_since_last_seen, days_since_first_seen,
// average_sentiment, preferred_channel, favourite_categories, favourite_brands,
// first_seen, last_seen, last_order_at), journey.stage, rfm.recency|frequency|monetary|persona,
// consent.<purpose>, persona.
// Operators: == != < <= > >= in contains exists. A missing attribute satisfies only `!=`.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;

// Appends one message per problem, each naming the path of the bad node ("all[1].compare.op").
void ValidateCondition(const pb::Condition& condition, const std::string& path, std::vector<std::string>* errors);

// True when the profile satisfies the condition at `now`.
bool EvaluateCondition(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now);

// True when the condition can change with time alone (windows, days since, RFM), so
// membership must be re-evaluated on a schedule and not only on profile changes.
bool DependsOnTime(const pb::Condition& condition);

// Share of a persona's top-level rules the profile satisfies, in [0, 1] (1 = a match).
double ConditionScore(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now);

}  // namespace journey::persona
