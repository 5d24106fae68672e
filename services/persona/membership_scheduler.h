// Time-driven work over the whole population of a workspace: recomputes the RFM quintile
// boundaries, then re-evaluates every profile's segments, personas and scores, writing only
// the profiles whose membership changed (a window slid past an event, days since the last
// order grew, the RFM model moved). One replica at a time, under a lease in Redis.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/server/service_runtime.h"
#include "services/persona/persona_logic.h"
#include "services/persona/segment_catalog.h"

namespace journey::persona {

struct SchedulerOptions {
  std::string replica_id;
  absl::Duration interval = absl::Seconds(60);  // between runs (real time)
  int page_size = 500;                           // profiles loaded and written per round trip
};

struct RunSummary {
  int64_t profiles = 0;
  int64_t customers = 0;  // profiles with an order: the RFM population
  int64_t rewritten = 0;
};

class MembershipScheduler final : public server::BackgroundWorker {
 public:
  MembershipScheduler(ProfileStore* store, SegmentCatalog* catalog, PersonaLogic* logic, const ProfileAggregator* agg,
                      SchedulerOptions options)
      : store_(store), catalog_(catalog), logic_(logic), aggregator_(agg), options_(std::move(options)) {}
  ~MembershipScheduler() override { Stop(); }

  // One full pass now (tests call this with a ManualClock behind the logic).
  absl::StatusOr<RunSummary> RunOnce();

  void Start() override;
  void Stop() override;

 private:
  ProfileStore* store_;
  SegmentCatalog* catalog_;
  PersonaLogic* logic_;
  const ProfileAggregator* aggregator_;
  SchedulerOptions options_;
  std::atomic<bool> running_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace journey::persona
