#include "services/journey/timer_scheduler.h"

#include "common/log/log.h"

namespace journey::journey_state {

TimerScheduler::TimerScheduler(stream::PartitionedConsumer* consumer, JourneyApplier* applier,
                               DefinitionStore* definitions, const Clock* clock, TimerSchedulerOptions options)
    : consumer_(consumer), applier_(applier), definitions_(definitions), clock_(clock), options_(options) {}

void TimerScheduler::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_) {
      Tick();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.tick), [this] { return !running_; });
    }
  });
}

void TimerScheduler::Stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int TimerScheduler::Tick() {
  if (auto refreshed = definitions_->Refresh(); !refreshed.ok()) {
    log::Warn("journey definition refresh failed", {{"error", std::string(refreshed.message())}});
  }
  int fired = 0;
  const absl::Time now = clock_->Now();
  for (uint32_t p : consumer_->OwnedPartitions()) {
    auto n = applier_->FireDueTimers(p, now);
    if (!n.ok()) {
      log::Warn("firing timers failed", {{"partition", std::to_string(p)}, {"error", std::string(n.status().message())}});
      continue;
    }
    fired += *n;
  }
  return fired;
}

}  // namespace journey::journey_state
