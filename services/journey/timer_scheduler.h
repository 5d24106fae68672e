// Fires inactivity timers without waiting for an event: every tick, for each stream
// partition this replica leases, applies the timers that are due (JourneyApplier claims each
// atomically, so a timer fires once across replicas). Also picks up definitions applied by
// another replica.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/server/service_runtime.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/journey/definition_store.h"
#include "services/journey/journey_applier.h"

namespace journey::journey_state {

struct TimerSchedulerOptions {
  absl::Duration tick = absl::Seconds(1);
};

class TimerScheduler final : public server::BackgroundWorker {
 public:
  TimerScheduler(stream::PartitionedConsumer* consumer, JourneyApplier* applier, DefinitionStore* definitions,
                 const Clock* clock, TimerSchedulerOptions options);
  ~TimerScheduler() override { Stop(); }

  void Start() override;
  void Stop() override;
  // One pass over the owned partitions; returns timers fired. Tests call it directly.
  int Tick();

 private:
  stream::PartitionedConsumer* consumer_;
  JourneyApplier* applier_;
  DefinitionStore* definitions_;
  const Clock* clock_;
  const TimerSchedulerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace journey::journey_state
