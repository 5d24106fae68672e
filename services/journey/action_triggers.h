// Where the journey service's triggers fire: turns what one applied event or fired timer
// changed (stage transitions, ABANDONED, a sentiment score) into action candidates for the
// orchestration outbox, and starts the conversion and dismissal cool-downs. No I/O of its own
// besides handing the candidates to the outbox.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/redis_client.h"
#include "services/journey/journey_state_machine.h"

namespace journey::journey_state {

class ActionTriggers {
 public:
  // `outbox` decides and appends; it outlives this object.
  explicit ActionTriggers(orchestration::ActionOutbox* outbox);

  // The candidates of one applied event (`event` set) or fired timer (`event` null) for the
  // customer as the step left them; `persona` is their PersonaSnapshot bytes ("" = none).
  void Collect(const std::string& ws, const std::string& uid, uint32_t partition,
               const journey::common::v1::Event* event, const StepOutcome& outcome, const JourneySnapshot& snapshot,
               const std::string& persona, std::vector<orchestration::ActionCandidate>* out) const;

  // Cool-down writes for a conversion or dismissal event, to send with the batch.
  void CooldownWrites(const std::string& ws, const std::string& uid, const journey::common::v1::Event& event,
                      std::vector<storage::RedisCommand>* out) const;

  // Decides the candidates (one round trip; nothing to do when empty).
  absl::Status Emit(std::vector<orchestration::ActionCandidate> candidates) const;

  // Releases partition p's actions whose quiet hours ended by `now` to its action stream.
  absl::StatusOr<int> ReleaseDeferred(uint32_t partition, absl::Time now) const {
    return outbox_->ReleaseDue(partition, now);
  }

  bool empty() const { return outbox_->config().triggers.empty(); }

 private:
  orchestration::ActionOutbox* outbox_;
};

}  // namespace journey::journey_state
