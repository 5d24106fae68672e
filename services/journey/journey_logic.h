// The journey service's reads and admin operations, without gRPC: a customer's journey, the
// funnel and the journey map over a time range, transitions after a cursor, definitions, and
// how triggered actions ended.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/state/v1/journey.pb.h"
#include "services/journey/definition_store.h"

namespace journey::journey_state {

struct LogicOptions {
  std::string workspace = "default";
  absl::Duration default_range = absl::Hours(24 * 30);
  absl::Duration max_range = absl::Hours(24 * 366 * 2);
};

class JourneyLogic {
 public:
  JourneyLogic(storage::RedisClient* redis, DefinitionStore* definitions, const Clock* clock, LogicOptions options);

  // The customer's snapshot (nullopt when unknown). An anonymous id resolves through its alias.
  absl::StatusOr<std::optional<JourneySnapshot>> GetJourney(const std::string& user_id,
                                                            const std::string& anonymous_id) const;
  absl::StatusOr<journey::state::v1::Funnel> GetFunnel(const journey::state::v1::GetFunnelRequest& request) const;
  absl::StatusOr<journey::state::v1::JourneyMap> GetJourneyMap(
      const journey::state::v1::GetJourneyMapRequest& request) const;

  // Resolves a client cursor: "" = the newest entry now (only later transitions follow),
  // "0" = before the oldest retained, else an entry id. InvalidArgument otherwise.
  absl::StatusOr<std::string> ResolveCursor(const std::string& cursor) const;
  // Transitions after `cursor` (each carries its own cursor), waiting up to `block` for one.
  absl::StatusOr<std::vector<journey::state::v1::Transition>> ReadTransitions(const std::string& cursor, int count,
                                                                             absl::Duration block) const;

  journey::state::v1::JourneyDefinition GetDefinition() const;
  journey::state::v1::ApplyDefinitionResponse ApplyDefinition(const journey::state::v1::ApplyDefinitionRequest& request,
                                                              bool dry_run) const;
  absl::StatusOr<journey::state::v1::ListDefinitionsResponse> ListDefinitions(
      const journey::state::v1::ListDefinitionsRequest& request) const;
  absl::StatusOr<journey::state::v1::DeleteDefinitionResponse> DeleteDefinition(
      const journey::state::v1::DeleteDefinitionRequest& request) const;
  // The triggered actions' outcome counts (common/orchestration's ActionCounts hash).
  absl::StatusOr<journey::state::v1::GetActionStatsResponse> GetActionStats(
      const journey::state::v1::GetActionStatsRequest& request) const;

 private:
  absl::StatusOr<std::pair<absl::Time, absl::Time>> Range(const journey::state::v1::TimeRange& range) const;

  storage::RedisClient* redis_;
  DefinitionStore* definitions_;
  const Clock* clock_;
  const LogicOptions options_;
};

}  // namespace journey::journey_state
