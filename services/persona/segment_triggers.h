// Where segment triggers fire (`on: segment_entered|segment_exited` in config/triggers/):
// persona is the service that sees membership changes. Called by ProfileStore after a batch
// of changes reached the change stream and before they are marked published, so a crash in
// between republishes them with the same per-user sequence, which names the cause: the
// outbox then sees a duplicate, and no action is lost or sent twice.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "common/orchestration/action_outbox.h"
#include "services/persona/profile_store.h"

namespace journey::persona {

class SegmentTriggers {
 public:
  SegmentTriggers(orchestration::ActionOutbox* outbox, int partitions);

  // True when any trigger is a segment trigger (else persona need not call it).
  bool any() const;

  absl::Status OnPublished(const std::vector<const ProfileWrite*>& writes) const;

 private:
  orchestration::ActionOutbox* outbox_;
  const int partitions_;
};

}  // namespace journey::persona
