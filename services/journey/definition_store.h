// The journey definition in force, shared by the replicas: loaded from the file at start,
// replaced through the admin RPC (versions only grow), stored in Redis so every replica
// follows within one refresh.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "services/journey/journey_definition.h"
#include "services/journey/journey_state_machine.h"

namespace journey::journey_state {

class DefinitionStore {
 public:
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

 private:
  void Install(std::shared_ptr<const CompiledDefinition> compiled);

  storage::RedisClient* redis_;
  const Clock* clock_;
  const std::string workspace_;
  mutable std::mutex mu_;
  std::shared_ptr<const JourneyStateMachine> machine_;
};

}  // namespace journey::journey_state
