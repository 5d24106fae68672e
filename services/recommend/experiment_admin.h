// Applying holdout and experiment definitions at run time: the whole document (the YAML of
// config/experiments) is validated, stored in Redis with the next version by a
// compare-and-set script, and installed in this replica's ExperimentStore; every other
// replica adopts a newer stored version in SyncFromRedis (a periodic task). The files are
// version 0: a stored version wins over them, also after a restart.
//
// Not covered: journey's triggers read the holdout from the files at start, so a holdout
// changed here reaches triggered actions only when journey restarts with the same file.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "common/time/clock.h"
#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/experiment_assigner.h"

namespace journey::recommend {

class ExperimentAdmin {
 public:
  ExperimentAdmin(std::string workspace, storage::RedisClient* redis, ExperimentStore* store, const Clock* clock);

  // InvalidArgument naming the field (yaml, expected_version) for bad input, with the
  // definition's own file:line error; FailedPrecondition when expected_version is stale.
  absl::StatusOr<v1::ApplyExperimentsResponse> Apply(const v1::ApplyExperimentsRequest& request);

  // Installs a newer stored version, if any (all of it at start). OK when nothing changed.
  absl::Status SyncFromRedis();

  // The applied version this replica runs (0 = the files).
  int64_t version() const { return version_.load(); }

 private:
  absl::Status Install(const v1::StoredExperiments& stored);

  const std::string workspace_;
  storage::RedisClient* redis_;
  ExperimentStore* store_;
  const Clock* clock_;
  const storage::RedisScript store_script_;
  std::mutex mu_;  // one apply or install at a time
  std::atomic<int64_t> version_{0};
};

}  // namespace journey::recommend
