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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "journey/common/v1/common.pb.h"

namespace prometheus {
class Registry;
}

namespace journey::stream {

// A stream entry id "ms-seq" as numbers, ordered as Redis orders entries.
struct StreamPosition {
  uint64_t ms = 0;
  uint64_t seq = 0;
  bool operator<=(const StreamPosition& o) const { return ms < o.ms || (ms == o.ms && seq <= o.seq); }
};

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
  // This many consume lanes, each a thread with its own loop (read, apply, acknowledge) over
  // the owned partitions p with p % apply_threads == its index, handing a poll's batches to
  // ApplyBatches in one call. The lanes never wait for each other, so one lane's round trips
  // overlap another's work. Above 1 the handler must accept concurrent calls for different
  // partitions.
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
  // "ms-seq" -> numbers; a missing or malformed part reads as 0.
  static StreamPosition ParsePosition(absl::string_view id);

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
  // What one consume lane keeps between its polls (touched by its own thread only).
  struct Lane {
    size_t index = 0;
    std::thread thread;
    // XACKs of applied batches, sent in the same round trip as the next read: a lost one
    // only means a redelivery, which handlers tolerate.
    std::vector<storage::RedisCommand> pending_acks;
    bool idle = false;  // the last poll found nothing
  };

  void ConsumeLoop(Lane* lane);
  void RefreshLeases();
  void ReleaseAll();
  void OnAcquired(uint32_t partition, absl::Time valid_until);
  void SetMode(uint32_t partition, Mode mode);
  // The owned partitions of one lane, with their modes, whose leases outlast a read now.
  std::vector<std::pair<uint32_t, Mode>> LaneWork(const Lane& lane) const;
  void ConsumeOnce(Lane* lane, bool* did_work);
  // Releases the lane's partitions the lease loop chose to hand back (between two polls).
  void ReleaseHandedBack(Lane* lane);
  // Sends the lane's acknowledgements not yet sent (they normally go with the next read).
  void FlushAcks(Lane* lane);

  storage::RedisClient* redis_;
  EntryHandler* handler_;
  const ConsumerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<uint32_t, Lease> owned_;
  std::set<uint32_t> releasing_;  // owned, to be handed back by their lane before its next read
  std::atomic<bool> running_{false};
  std::thread lease_thread_;
  std::vector<std::unique_ptr<Lane>> lanes_;

  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace journey::stream
