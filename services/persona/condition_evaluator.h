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

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;

// A condition tree prepared once for many evaluations: operators and attribute names are
// parsed when it is built, so matching a profile compares no names and allocates nothing in
// the common cases. Copies share the prepared tree. An invalid node never matches.
class CompiledCondition {
 public:
  CompiledCondition();  // matches nothing
  explicit CompiledCondition(const pb::Condition& condition);

  // True when the profile satisfies the condition at `now`.
  bool Matches(const pb::ProfileRecord& record, absl::Time now) const;

  // Share of the top-level rules of an `all` the profile satisfies, in [0, 1] (1 = a match);
  // any other condition scores 1 or 0.
  double Score(const pb::ProfileRecord& record, absl::Time now) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
};

// Appends one message per problem, each naming the path of the bad node ("all[1].compare.op").
void ValidateCondition(const pb::Condition& condition, const std::string& path, std::vector<std::string>* errors);

// True when the profile satisfies the condition at `now` (compiles it for one use).
bool EvaluateCondition(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now);

// True when the condition can change with time alone (windows, days since, RFM), so
// membership must be re-evaluated on a schedule and not only on profile changes.
bool DependsOnTime(const pb::Condition& condition);

// Share of a persona's top-level rules the profile satisfies, in [0, 1] (1 = a match).
double ConditionScore(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now);

}  // namespace journey::persona
