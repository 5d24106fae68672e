// Publishes how far a consumer group is behind on every partition, as the Prometheus gauge
// journey_consumer_lag_entries{group, partition}: entries not yet delivered to the group
// (XINFO GROUPS "lag") plus entries delivered but not yet acknowledged ("pending"). The
// Kubernetes HPAs of journey and persona scale on its sum (deploy/k8s/README.md).
// Every replica reports every partition, so the figure survives partition hand-overs; the
// metrics pipeline de-duplicates with max by (group, partition).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"

namespace prometheus {
class Gauge;
class Registry;
}  // namespace prometheus

namespace journey::stream {

struct LagReporterOptions {
  std::string group;  // "journey", "persona"
  int partitions = 16;
  absl::Duration interval = absl::Seconds(5);
};

class ConsumerLagReporter final : public server::BackgroundWorker {
 public:
  ConsumerLagReporter(storage::RedisClient* redis, prometheus::Registry* registry, LagReporterOptions options);
  ~ConsumerLagReporter() override;

  void Start() override;
  void Stop() override;

  // One pipelined XINFO GROUPS over all partitions; updates the gauges and returns the
  // total. A partition whose stream or group does not exist yet counts 0.
  absl::StatusOr<int64_t> ReportOnce();

 private:
  storage::RedisClient* redis_;
  const LagReporterOptions options_;
  std::vector<prometheus::Gauge*> gauges_;  // one per partition

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace journey::stream
