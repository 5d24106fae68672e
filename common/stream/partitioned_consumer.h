// Reads the partitioned event stream for one consumer group. Each partition is processed by
// one replica at a time, under a lease in Redis; replicas share partitions fairly, a dead
// replica's leases expire and its pending entries are claimed and re-applied by the next
// owner. Entries reach the handler in stream order per partition, at least once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "journey/common/v1/common.pb.h"

namespace prometheus {
class Registry;
}

namespace journey::stream {

struct StreamEntry {
  std::string id;  // stream entry id, "ms-seq"
  journey::common::v1::EventEnvelope envelope;
};

class EntryHandler {
 public:
  virtual ~EntryHandler() = default;
  // Applies entries of one partition, in stream order. Must be idempotent: after a crash an
  // entry can arrive again. OK acknowledges the entries; an error leaves them pending, to be
  // delivered again.
  virtual absl::Status ApplyBatch(uint32_t partition, const std::vector<StreamEntry>& entries) = 0;

  struct PartitionBatch {
    uint32_t partition;
    const std::vector<StreamEntry>* entries;
  };
  // Applies the batches of several partitions (each one's entries in stream order), one
  // status per batch, with the same meaning. A handler that shares round trips across
  // partitions overrides it; by default each batch goes through ApplyBatch.
  virtual std::vector<absl::Status> ApplyBatches(const std::vector<PartitionBatch>& batches) {
    std::vector<absl::Status> out;
    out.reserve(batches.size());
    for (const PartitionBatch& b : batches) out.push_back(ApplyBatch(b.partition, *b.entries));
    return out;
  }
};

struct ConsumerOptions {
  std::string group;       // consumer group, e.g. "journey"
  std::string replica_id;  // this replica's consumer name
  int partitions = 16;
  int batch_size = 512;
  absl::Duration lease_ttl = absl::Seconds(6);
  absl::Duration lease_refresh = absl::Seconds(1);
  absl::Duration idle_poll = absl::Milliseconds(1);
  // Above zero: after a poll that found nothing, all live partitions are read with one
  // XREADGROUP ... BLOCK over their streams, which returns as soon as any of them has entries
  // (at most this long idle), instead of polling each partition every `idle_poll`; while
  // entries keep coming the partitions are polled. One command on many keys: single Redis
  // only (Redis Cluster refuses keys of several slots).
  absl::Duration block_read = absl::ZeroDuration();
  // Batches of different partitions read in one round trip are applied by this many threads
  // at once (each thread handing its share of partitions to ApplyBatches in one call), so one
  // replica overlaps its own work with Redis's. Above 1 the handler must accept concurrent
  // calls for different partitions.
  int apply_threads = 1;
};

class PartitionedConsumer final : public server::BackgroundWorker {
 public:
  PartitionedConsumer(storage::RedisClient* redis, EntryHandler* handler, ConsumerOptions options,
                      prometheus::Registry* metrics = nullptr);
  ~PartitionedConsumer() override;

  void Start() override;
  // Finishes the batch in hand, acknowledges it, releases the leases. Idempotent.
  void Stop() override;

  std::vector<uint32_t> OwnedPartitions() const;

  // Entry id comparison for idempotency checks: true when a <= b ("ms-seq" ids).
  static bool IdLessOrEqual(const std::string& a, const std::string& b);

 private:
  enum class Mode { kRecovering, kLive };
  struct Lease {
    Mode mode = Mode::kRecovering;
    // Local time by which the lease surely still holds in Redis (the renewal's send time plus
    // the TTL). A partition is read only while this is comfortably ahead, so no read of ours
    // reaches Redis after the lease could have passed to another replica.
    absl::Time valid_until;
  };

  void LeaseLoop();
  void ConsumeLoop();
  void RefreshLeases();
  void ReleaseAll();
  void OnAcquired(uint32_t partition, absl::Time valid_until);
  // Partitions to read now: owned, with a lease that holds past this read.
  std::vector<std::pair<uint32_t, Mode>> ReadablePartitions();
  void SetMode(uint32_t partition, Mode mode);
  void ConsumeOnce(bool* did_work);
  // Sends the acknowledgements and lease releases not yet sent (they normally go with the
  // next read).
  void FlushAcks();
  // Moves the releases of `to_release_` into `cmds`.
  void TakeReleases(std::vector<storage::RedisCommand>* cmds);

  storage::RedisClient* redis_;
  EntryHandler* handler_;
  const ConsumerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<uint32_t, Lease> owned_;
  // Leases handed back for a fair share: released by the consume thread before its next
  // read, so no read of those partitions is in flight when another replica takes them.
  std::vector<uint32_t> to_release_;
  std::atomic<bool> running_{false};
  std::thread lease_thread_;
  std::thread consume_thread_;
  // XACKs of applied batches, sent in the same round trip as the next read (consume thread
  // only): a lost one only means a redelivery, which handlers tolerate.
  std::vector<storage::RedisCommand> pending_acks_;
  bool idle_ = false;  // the last poll found nothing (consume thread only)

  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace journey::stream
