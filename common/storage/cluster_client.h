// RedisClient for Redis Cluster: routes every command to the master of its key's slot, keeps
// the slot map (CLUSTER SLOTS) current, follows MOVED and ASK, and pipelines per node: a
// pipeline whose commands live on several masters is split into one pipeline per master,
// sent in parallel, and the replies are put back in the caller's order.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_url.h"

namespace journey::storage {

struct ClusterOptions {
  // Where to learn the slot map; user and password apply to every node.
  std::vector<RedisEndpoint> seeds;
  int pool_size_per_node = 8;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(2);
  // Rounds of MOVED/ASK handling before a pipeline gives up (Unavailable).
  int max_redirects = 16;
  // TRYAGAIN (a multi-key command, e.g. a script, whose keys a slot migration has split) and
  // CLUSTERDOWN (no quorum yet) are retried after a pause that doubles from retry_pause up to
  // max_retry_pause, for at most retry_budget: a migration finishes moving a slot's keys in
  // milliseconds, a failover in seconds. Past the budget: Unavailable.
  absl::Duration retry_pause = absl::Milliseconds(2);
  absl::Duration max_retry_pause = absl::Milliseconds(100);
  absl::Duration retry_budget = absl::Seconds(3);
  // A MOVED fixes its slot at once; the full map is re-read at most this often.
  absl::Duration min_refresh_interval = absl::Milliseconds(100);
  // Threads that send the extra per-master parts of a pipeline spanning several masters
  // (the caller sends one part itself). Kept, so such a call creates no thread.
  int fanout_threads = 4;
};

// Semantics that differ from a single Redis (document for callers):
// - MULTI ... EXEC in a pipeline is atomic per master: its commands are grouped by master and
//   each group runs in its own MULTI/EXEC. The caller still gets +OK, +QUEUED... and one EXEC
//   array in its order. A transaction whose keys live on one master (one {hash tag}) is atomic.
// - A connection failure is not retried here (the command may have run): the pipeline answers
//   Unavailable and the next call re-reads the slot map, which follows a failover.
// - SCRIPT LOAD/FLUSH, FLUSHALL and FLUSHDB go to every master; keyless commands to one.
// - SCAN walks every master in turn behind one cursor ("0" to start, "0" when done; in
//   between "<master>:<cursor>", opaque to callers), so a caller's SCAN loop sees the whole
//   keyspace as on a single Redis. It must be the only command of its pipeline. Keys that
//   move between masters during the walk (a reshard) may be missed or returned twice.
class RedisClusterClient final : public RedisClient {
 public:
  // Does not connect: the slot map is read on first use, so a service can start first.
  static absl::StatusOr<std::unique_ptr<RedisClusterClient>> Create(const ClusterOptions& options);
  ~RedisClusterClient() override;

  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands,
                                                   absl::Duration timeout = absl::ZeroDuration()) override;

  // Re-reads CLUSTER SLOTS now (tests, and after a connection failure).
  absl::Status RefreshSlots();
  // The "host:port" of the master serving `slot` in the current map, or "" if unknown.
  std::string MasterOfSlot(int slot) const;

  // Redirections followed since creation (for metrics and tests).
  struct Counters {
    long long moved = 0, ask = 0, retried = 0, refreshes = 0;
  };
  Counters counters() const { return {moved_.load(), ask_.load(), retried_.load(), refreshes_.load()}; }

 private:
  explicit RedisClusterClient(const ClusterOptions& options);

  struct Unit;  // one command, or one transaction's commands bound for one master
  class FanOut;  // the fan-out threads
  struct Target {
    std::string node;
    bool asking = false;
  };

  HiredisClient* Node(const std::string& address);
  absl::StatusOr<RedisReply> ScanAllMasters(const RedisCommand& scan, absl::Duration timeout);
  std::vector<std::string> Masters() const;
  absl::Status EnsureSlots();
  absl::Status RefreshSlotsIfStale();
  void NoteMoved(int slot, const std::string& address);

  const ClusterOptions options_;

  mutable std::shared_mutex map_mu_;
  std::vector<int> slot_owner_;     // slot -> index into node_addresses_, -1 = unknown
  std::vector<std::string> node_addresses_;
  bool have_slots_ = false;

  std::mutex nodes_mu_;
  std::map<std::string, std::unique_ptr<HiredisClient>> nodes_;  // never erased while we live

  std::mutex refresh_mu_;  // one refresh at a time; guards last_refresh_
  absl::Time last_refresh_ = absl::InfinitePast();
  std::atomic<bool> stale_{false};  // a MOVED or a failure was seen since the last refresh
  std::atomic<long long> moved_{0}, ask_{0}, retried_{0}, refreshes_{0};
  std::unique_ptr<FanOut> fanout_;  // last member: its threads stop before the rest goes
};

}  // namespace journey::storage
