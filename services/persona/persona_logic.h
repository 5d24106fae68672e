// The persona domain behind the RPCs: profile reads, consent, CRM upserts, erasure and
// export. Plain C++ over protobuf messages and absl::Status; the gRPC adapter is
// persona_service.h.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "services/persona/profile_aggregator.h"
#include "services/persona/profile_evaluator.h"
#include "services/persona/profile_store.h"

namespace journey::persona {

struct PersonaLogicOptions {
  std::string workspace = "default";
  int max_commit_attempts = 8;
};

class PersonaLogic {
 public:
  // None of the pointers is owned; `evaluator` may be null.
  PersonaLogic(ProfileStore* store, const ProfileAggregator* aggregator, ProfileEvaluator* evaluator,
               const Clock* clock, PersonaLogicOptions options)
      : store_(store), aggregator_(aggregator), evaluator_(evaluator), clock_(clock), options_(std::move(options)) {}

  // By user id, or by an anonymous id (its own profile, or the one it was merged into).
  // A profile never seen comes back with found = false.
  absl::StatusOr<pb::Profile> GetProfile(const std::string& user_id, const std::string& anonymous_id);

  // The stored record behind GetProfile, refreshed for now; NotFound when there is none.
  absl::StatusOr<LoadedProfile> LoadResolved(const std::string& id);

  // Read-modify-write of many profiles with compare-and-set, retried on a lost race: one
  // round trip to load and one to commit per attempt. `mutate` returns false to leave a
  // profile untouched. Membership is re-evaluated and changes are published with the write.
  using Mutation = std::function<bool(pb::ProfileRecord*)>;
  absl::Status MutateProfiles(const std::vector<std::string>& user_ids, const std::vector<Mutation>& mutations);

  // How many stored profiles a condition matches now, and how many there are (a full scan).
  absl::StatusOr<std::pair<int64_t, int64_t>> Estimate(const pb::Condition& condition);

  // A stored record as readers see it at `now` (window counts, days since, favourites).
  void RefreshForReading(absl::Time now, pb::ProfileRecord* record) const { aggregator_->Refresh(now, record); }

  const std::string& workspace() const { return options_.workspace; }
  absl::Time Now() const { return clock_->Now(); }

 private:
  ProfileStore* store_;
  const ProfileAggregator* aggregator_;
  ProfileEvaluator* evaluator_;
  const Clock* clock_;
  PersonaLogicOptions options_;
};

}  // namespace journey::persona
