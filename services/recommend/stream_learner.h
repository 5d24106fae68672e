// Every recommend replica reads the whole event stream itself (plain XREAD over all
// partitions, pipelined, no consumer group: each replica needs every event for its own
// in-process model) and teaches the ItemModel incrementally. It also reports completed
// orders so conversions can be attributed to earlier recommendations.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/common/v1/common.pb.h"
#include "services/recommend/alias_cache.h"
#include "services/recommend/item_model.h"

namespace journey::recommend {

struct StreamLearnerOptions {
  std::string workspace = "default";  // events of other workspaces are skipped
  int partitions = 16;
  int batch_size = 500;  // entries per partition per read
  absl::Duration idle_poll = absl::Milliseconds(10);
  absl::Duration error_backoff = absl::Milliseconds(200);
  absl::Duration refresh_rankings_every = absl::Seconds(1);
  // Where a fresh replica starts: "0" replays what the stream still holds (warm start).
  std::string start_id = "0";
};

struct CompletedOrder {
  std::string workspace;
  std::string user_id;
  std::vector<std::string> product_ids;
  absl::Time at;
  // The order id, else the event's message id (ingest dedupes by it): what counts an order once.
  std::string order_id;
  double revenue = 0;  // the event's revenue, else the sum of price x quantity of its products
};

// Event name -> how strong a signal of interest it is; 0 = not a product interaction.
double InteractionWeight(const std::string& event_name);

class StreamLearner final : public server::BackgroundWorker {
 public:
  StreamLearner(storage::RedisClient* redis, ItemModel* model, StreamLearnerOptions options, const Clock* clock);
  ~StreamLearner() override;

  // Where MERGEs (an id joining a customer) and erasures are reported; may stay unset.
  void SetAliasCache(AliasCache* aliases) { aliases_ = aliases; }

  void SetOrderListener(std::function<void(const std::vector<CompletedOrder>&)> listener) {
    order_listener_ = std::move(listener);
  }

  void Start() override;
  void Stop() override;

  // One pass over every partition; returns the entries applied. Public for tests.
  absl::StatusOr<size_t> PollOnce();
  // Applies one envelope to the model (exposed for tests and the evaluation tool).
  void Apply(const journey::common::v1::EventEnvelope& envelope, std::vector<CompletedOrder>* orders);

  uint64_t applied() const { return applied_.load(); }

 private:
  void Loop();

  storage::RedisClient* redis_;
  ItemModel* model_;
  const StreamLearnerOptions options_;
  const Clock* clock_;
  std::vector<std::string> last_ids_;
  std::function<void(const std::vector<CompletedOrder>&)> order_listener_;
  AliasCache* aliases_ = nullptr;
  absl::Time last_refresh_ = absl::InfinitePast();
  std::atomic<uint64_t> applied_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace journey::recommend
