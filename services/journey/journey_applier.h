// Applies stream batches (and due inactivity timers) to customers' journeys in Redis with a
// constant number of round trips per batch: one pipelined read of the users' journey and
// persona snapshots, the state machine in memory, one atomic write (a fenced MULTI/EXEC, or
// a plain one on Cluster) of snapshots, timers, aggregates (overall and per persona segment)
// and transitions, so a crash leaves all of a batch or none of it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/journey/action_triggers.h"
#include "services/journey/definition_store.h"

namespace journey::journey_state {

struct ApplierOptions {
  std::string default_workspace = "default";  // for envelopes that carry none
  int partitions = 16;
  long long transitions_maxlen = 1'000'000;   // approximate cap of the transition stream
  // Write each batch in a transaction fenced by WATCH and a script that checks the partition's
  // applied watermark is still what this batch read (journey_write_scripts.h), so a replica
  // that lost its lease mid-batch cannot apply it a second time. Needs every key on one Redis: off on Redis Cluster, where the batch falls
  // back to MULTI/EXEC (atomic per slot, no fence).
  bool fenced_writes = true;
  // Journey snapshots of the partitions this replica applies, kept as last written (serialized)
  // between batches (at most this many in all; 0 = off). A batch then reads only the
  // customers' persona field, the partition's watermark and generation, and parses its cached
  // copies while those two are still the values its own last write left: any other write to
  // the partition's users (another replica after a lease handover, a merge from another
  // partition, a fired timer) changes one of them, and the partition's cache is dropped. It
  // saves Redis sending every snapshot back. Needs `fenced_writes`. (Kept parsed, on the heap,
  // they cost more CPU than parsing them again onto the batch's arena: measured, dropped.) At
  // most ~5 KiB each (50 touchpoints). Off by default: it saved no measurable CPU
  // (journey_bench, 2026-12-02), and with it on the fault suite once lost acknowledged events,
  // not yet explained.
  int snapshot_cache_entries = 0;
};

class JourneyApplier final : public stream::EntryHandler {
 public:
  JourneyApplier(storage::RedisClient* redis, DefinitionStore* definitions, const Clock* clock,
                 ApplierOptions options);

  absl::Status ApplyBatch(uint32_t partition, const std::vector<stream::StreamEntry>& entries) override;
  // The batches of several partitions with one pipelined read and one pipeline of fenced
  // writes for all of them (each batch still all or nothing on its own).
  std::vector<absl::Status> ApplyBatches(const std::vector<PartitionBatch>& batches) override;

  // Fires the due inactivity timers of a partition (at most `limit`). Each timer is claimed
  // atomically with its effects (a script checks the timer is still there with the same due
  // time), so it fires exactly once even if two replicas try. Returns how many fired. Also
  // releases the partition's triggered actions deferred by quiet hours that are due.
  absl::StatusOr<int> FireDueTimers(uint32_t partition, absl::Time now, int limit = 256);

  // Triggered actions (optional, set before the consumer starts): the transitions, timers
  // and sentiment scores of each batch fire them, decided before the batch write so a crash
  // in between re-decides them on redelivery, where the idempotency key makes them duplicates.
  void SetActionTriggers(const ActionTriggers* triggers) { triggers_ = triggers; }

 private:
  std::mutex& PartitionMutex(uint32_t partition) { return partition_mu_[partition % partition_mu_.size()]; }

  // The snapshots of one partition's customers as this replica last wrote them (serialized),
  // valid while the partition's watermark and generation are `watermark` and `generation`.
  // Guarded by the partition's mutex.
  struct SnapshotCache {
    bool valid = false;
    std::string watermark, generation;
    absl::flat_hash_map<std::string, std::string> users;  // "<ws>\n<uid>" -> JourneySnapshot
    void Drop() {
      valid = false;
      users.clear();
    }
  };
  struct BatchWork;
  // The steps of ApplyBatches for one batch. Prepare adds its reads (false: nothing to do).
  bool Prepare(BatchWork* w, std::vector<storage::RedisCommand>* reads);
  absl::Status Absorb(BatchWork* w, std::vector<storage::RedisReply>* replies);
  void ApplyInMemory(const JourneyStateMachine& machine, BatchWork* w);
  void BuildWrite(const JourneyStateMachine& machine, BatchWork* w);
  void WriteUnfenced(BatchWork* w);
  void Finish(BatchWork* w, const storage::RedisReply& fence, const storage::RedisReply& exec);
  void KeepCache(BatchWork* w, const std::string& new_watermark);

  SnapshotCache* CacheOf(uint32_t partition) {
    return partition < caches_.size() ? &caches_[partition] : nullptr;
  }

  storage::RedisClient* redis_;
  DefinitionStore* definitions_;
  const Clock* clock_;
  const ApplierOptions options_;
  const ActionTriggers* triggers_ = nullptr;
  // The consumer thread and the timer scheduler both write a partition's users.
  std::array<std::mutex, 64> partition_mu_;
  std::vector<SnapshotCache> caches_;  // one per partition; empty when the cache is off
  size_t cache_entries_per_partition_ = 0;
  const storage::RedisScript timer_script_;
};

}  // namespace journey::journey_state
