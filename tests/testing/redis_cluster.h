// Test fixture: a real Redis Cluster of N masters (no replicas) on free loopback ports, each
// node a RedisServer with cluster mode on, joined with `redis-cli --cluster create`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/redis_server.h"

namespace journey::testing {

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3);
  ~RedisCluster();

  // Starts the nodes, assigns the slots evenly and waits until every node reports
  // cluster_state:ok and agrees on the slot map.
  absl::Status Start();
  // Waits until every node reports cluster_state:ok and knows every other node (after a
  // node was restarted, for example).
  absl::Status WaitHealthy();

  int size() const { return static_cast<int>(nodes_.size()); }
  // One node, to stop, kill or restart it (it rejoins from its nodes.conf).
  RedisServer& node(int i) { return *nodes_[i]; }
  int port(int node) const { return nodes_[node]->port(); }
  std::string address(int node) const { return "127.0.0.1:" + std::to_string(port(node)); }
  // The node that owns `slot` (from CLUSTER NODES on node 0), or -1.
  int OwnerOfSlot(int slot) const;
  // Moves `slot` to node `to` key by key, as `redis-cli --cluster reshard` does (SETSLOT
  // IMPORTING/MIGRATING, MIGRATE each key, SETSLOT NODE on every node). `after_each_key` runs
  // between keys, so a test can let its traffic meet the half-migrated slot (ASK, TRYAGAIN).
  // Returns how many keys moved.
  absl::StatusOr<int> MigrateSlot(int slot, int to, const std::function<void()>& after_each_key = {});

  // redis+cluster://127.0.0.1:p0,127.0.0.1:p1,... (every node as a seed)
  std::string url() const;
  // redis+cluster:// with only the first node: the client must learn the others.
  std::string single_seed_url() const { return "redis+cluster://" + address(0); }

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace journey::testing
