// The journey definition in force, shared by the replicas: loaded from the file at start,
// replaced through the admin RPC (versions only grow), stored in Redis so every replica
// follows within one refresh. Applied versions are kept (the newest kMaxStoredVersions per
// journey) so operators can list them and delete the ones no replica runs.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "services/journey/journey_definition.h"
#include "services/journey/journey_state_machine.h"

namespace journey::journey_state {

class DefinitionStore {
 public:
  // Applied versions kept per journey; applying one more drops the oldest.
  static constexpr int kMaxStoredVersions = 50;

  DefinitionStore(storage::RedisClient* redis, const Clock* clock, std::string workspace,
                  std::shared_ptr<const CompiledDefinition> initial);

  std::shared_ptr<const JourneyStateMachine> Machine() const;
  std::shared_ptr<const CompiledDefinition> Current() const;

  // Validates `definition`; with `dry_run` stops there. Otherwise stores it as the next
  // version (version 0 = current + 1; an explicit version must be higher than the current).
  // Returns the version in force. InvalidArgument carries every problem, one per line.
  absl::StatusOr<int64_t> Apply(DefinitionProto definition, bool dry_run);

  // Adopts a newer version stored by another replica (or at start, a newer one than the file).
  absl::Status Refresh();

  // Every stored version of journey `id` (empty: of every journey), newest first per id, and
  // the one this replica runs even when it only comes from its file. NotFound for an `id`
  // with nothing stored that this service does not run.
  absl::StatusOr<std::vector<journey::state::v1::DefinitionVersion>> List(const std::string& id);

  // Deletes stored version `version` of journey `id`, or with version 0 every stored version
  // of a journey this service does not run (a retired one). Returns the versions deleted.
  // FailedPrecondition for the active version (the stored one replicas follow, or the one
  // this replica runs) and for version 0 of the running journey; NotFound for an unknown id
  // or version; InvalidArgument for an empty id or a negative version.
  absl::StatusOr<std::vector<int64_t>> Delete(const std::string& id, int64_t version);

 private:
  void Install(std::shared_ptr<const CompiledDefinition> compiled);

  storage::RedisClient* redis_;
  const Clock* clock_;
  const std::string workspace_;
  mutable std::mutex mu_;
  std::shared_ptr<const JourneyStateMachine> machine_;
};

}  // namespace journey::journey_state
