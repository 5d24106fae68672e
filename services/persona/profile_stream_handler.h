// Applies a batch of the event stream to profiles with a constant number of Redis round
// trips: one pipelined load of every profile the batch touches, the batch applied in memory
// (skipping entries a profile already applied, by `applied_offsets`), one pipelined
// compare-and-set commit. A commit that lost a race with another writer is reloaded and
// applied again; entries already committed are then skipped, so nothing counts twice.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/persona/profile_aggregator.h"
#include "services/persona/profile_evaluator.h"
#include "services/persona/parsed_profile_cache.h"
#include "services/persona/profile_store.h"

namespace journey::persona {

struct StreamHandlerOptions {
  int max_commit_attempts = 8;  // per batch, when other writers keep winning the race
  // Profiles kept parsed between batches (ParsedProfileCache: a parsed record and its bytes);
  // 0 = parse every load.
  size_t parsed_profiles = 20000;
};

class ProfileStreamHandler final : public stream::EntryHandler {
 public:
  // `evaluator` may be null (no segments). None of the pointers is owned.
  ProfileStreamHandler(ProfileStore* store, const ProfileAggregator* aggregator, ProfileEvaluator* evaluator,
                       const Clock* clock, StreamHandlerOptions options = {})
      : store_(store),
        aggregator_(aggregator),
        evaluator_(evaluator),
        clock_(clock),
        options_(options),
        parsed_(options.parsed_profiles) {}

  absl::Status ApplyBatch(uint32_t partition, const std::vector<stream::StreamEntry>& entries) override;

  const ParsedProfileCache& parsed_profiles() const { return parsed_; }

 private:
  // One load-apply-commit pass; `conflicts` = writes that lost the race.
  absl::Status ApplyOnce(uint32_t partition, const std::vector<stream::StreamEntry>& entries, int* conflicts);

  ProfileStore* store_;
  const ProfileAggregator* aggregator_;
  ProfileEvaluator* evaluator_;
  const Clock* clock_;
  StreamHandlerOptions options_;
  ParsedProfileCache parsed_;
};

}  // namespace journey::persona
