// Backpressure: how far the slowest consumer group is behind on each stream partition,
// refreshed in the background (one pipelined XINFO GROUPS round trip per refresh), so the
// per-call check is a read of an atomic. Above the bound, ingest answers RESOURCE_EXHAUSTED
// instead of growing Redis without limit (and trimming entries a consumer has not read).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "services/ingest/ingest_options.h"

namespace journey::ingest {

class ConsumerLagGate final : public server::BackgroundWorker {
 public:
  ConsumerLagGate(storage::RedisClient* redis, int partitions, BackpressureOptions options);
  ~ConsumerLagGate() override;

  // False while the partition's lag is above options.max_lag (never when disabled).
  bool Admits(uint32_t partition) const;
  int64_t Lag(uint32_t partition) const;

  // Reads the lag of every group on every partition in one round trip.
  absl::Status Refresh();

  void Start() override;
  void Stop() override;

 private:
  storage::RedisClient* redis_;
  const BackpressureOptions options_;
  std::unique_ptr<std::atomic<int64_t>[]> lag_;
  const int partitions_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace journey::ingest
