// Delivers the action streams to an HTTP webhook, at least once: a consumer group on every
// partition's action stream; each action is POSTed as JSON with its idempotency key and an
// HMAC-SHA256 signature header; a failure (5xx, timeout, refused) is retried with exponential
// backoff, and after `max_attempts` the action goes to the partition's dead-letter list. An
// entry is acknowledged only after a 2xx or the dead letter, so a sender killed mid-batch
// leaves its entries pending: on restart it reads its own pending entries again, and another
// replica claims entries idle for longer than `reclaim_idle`. Receivers drop duplicates by
// the X-Journey-Idempotency-Key header.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/orchestration/webhook_client.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace journey::orchestration {

struct WebhookOptions {
  std::string url;
  std::string secret;
  std::string group = "webhook";
  std::string consumer = "replica";  // stable per replica, so a restart finds its own pending
  int partitions = 16;
  int max_attempts = 8;
  absl::Duration initial_backoff = absl::Milliseconds(500);  // doubles per failed attempt
  absl::Duration max_backoff = absl::Seconds(60);
  absl::Duration timeout = absl::Seconds(5);  // per POST
  // Longer than max_backoff, so entries this sender is backing off are not taken from it.
  absl::Duration reclaim_idle = absl::Seconds(120);
  int batch = 64;  // entries read per partition and pass
  // Entries held in memory (delivering or backing off); while full, nothing more is read, so
  // a receiver that is down for long leaves the backlog in the stream, not in memory.
  size_t max_in_flight = 4096;
  absl::Duration tick = absl::Milliseconds(100);
};

class WebhookDelivery final : public server::BackgroundWorker {
 public:
  static absl::StatusOr<std::unique_ptr<WebhookDelivery>> Create(storage::RedisClient* redis, const Clock* clock,
                                                                 WebhookOptions options,
                                                                 prometheus::Registry* metrics = nullptr);
  // The options' errors (url, secret, attempts), naming the flag; Create checks them too.
  static absl::Status Validate(const WebhookOptions& options);
  ~WebhookDelivery() override { Stop(); }

  void Start() override;
  void Stop() override;

  // One pass: claim and read entries, then POST those due (a pass delivers at most
  // `max_posts`, so a test can stop a sender mid-batch). Returns how many were acknowledged
  // (delivered or dead-lettered). Tests call it directly with a manual clock.
  absl::StatusOr<int> RunOnce(int max_posts = 1 << 30);

  // Entries read and not yet acknowledged (delivering or backing off).
  size_t in_flight() const { return queue_.size(); }

 private:
  WebhookDelivery(storage::RedisClient* redis, const Clock* clock, WebhookOptions options,
                  prometheus::Registry* metrics);
  struct Entry {
    uint32_t partition = 0;
    std::string id;
    std::string payload;  // serialized Action
    int attempts = 0;
    absl::Time next_attempt;
  };
  absl::Status Fetch();
  // Delivers one entry; true when it is finished (acknowledged).
  absl::StatusOr<bool> Deliver(Entry* entry);
  absl::Status Finish(const Entry& entry, const std::string& outcome, bool dead_letter);
  void Count(const std::string& outcome);

  storage::RedisClient* redis_;
  const Clock* clock_;
  const WebhookOptions options_;
  WebhookClient client_;
  bool groups_created_ = false;
  // Per partition: where the re-read of this consumer's own pending entries stands ("" = done).
  std::vector<std::string> own_cursor_;
  std::map<std::pair<uint32_t, std::string>, Entry> queue_;  // (partition, entry id)
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace journey::orchestration
