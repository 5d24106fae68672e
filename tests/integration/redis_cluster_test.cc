// RedisClusterClient against a real 3-master Redis Cluster on loopback ports: routing by slot,
// pipelines split per master and re-ordered, transactions split per slot, scripts on every
// master, MOVED after a stale map, and a slot migrated under load without a failed call.
#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/storage/cluster_client.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "common/storage/redis_key_slot.h"
#include "gtest/gtest.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_cluster.h"

namespace journey::storage {
namespace {

using journey::testing::PollUntil;
using journey::testing::RedisCluster;

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster(3);
    auto started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  std::unique_ptr<RedisClient> Connect(const std::string& url) {
    auto client = CreateRedisClient(url, 4);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }
  std::unique_ptr<RedisClusterClient> ClusterClient(const std::string& url) {
    auto target = ParseRedisTarget(url);
    EXPECT_TRUE(target.ok() && target->cluster);
    ClusterOptions o;
    o.seeds = target->nodes;
    o.pool_size_per_node = 4;
    auto client = RedisClusterClient::Create(o);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(*client);
  }
  // A direct connection to one node, for administration (slot migration) and checks.
  std::unique_ptr<HiredisClient> Direct(int node) {
    auto c = HiredisClient::FromUrl(absl::StrCat("redis://", cluster_->address(node)), 2);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  int NodeOfAddress(const std::string& address) {
    for (int i = 0; i < cluster_->size(); ++i) {
      if (cluster_->address(i) == address) return i;
    }
    return -1;
  }

  static RedisCluster* cluster_;
};
RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, KeySlotAgreesWithTheServer) {
  auto node = Direct(0);
  std::vector<std::string> keys = {"", "foo", "{user1000}.following", "{user1000}.followers", "foo{}{bar}",
                                   "foo{{bar}}zap", "foo{bar}{zap}", "{}", keys::EventStream(3),
                                   keys::View("default", "u-42"), std::string("bin\0ary", 7)};
  for (int i = 0; i < 200; ++i) keys.push_back(absl::StrCat("key:", i * 7919));
  std::vector<RedisCommand> cmds;
  for (const auto& k : keys) cmds.push_back({"CLUSTER", "KEYSLOT", k});
  auto replies = node->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(ClusterKeySlot(keys[i]), (*replies)[i].integer) << "key '" << keys[i] << "'";
  }
}

TEST_F(RedisClusterTest, OneSeedIsEnoughToLearnEveryMaster) {
  auto client = ClusterClient(cluster_->single_seed_url());
  ASSERT_TRUE(client->Ping().ok());
  std::set<std::string> masters;
  for (int s = 0; s < kClusterSlots; ++s) masters.insert(client->MasterOfSlot(s));
  EXPECT_EQ(masters.size(), 3u);
  EXPECT_EQ(masters.count(""), 0u) << "every slot has a master";
}

TEST_F(RedisClusterTest, PipelineAcrossMastersKeepsTheCallersOrder) {
  auto client = ClusterClient(cluster_->url());
  std::vector<RedisCommand> cmds;
  std::set<std::string> masters_hit;
  for (int i = 0; i < 600; ++i) {
    const std::string key = absl::StrCat("order:", i);
    masters_hit.insert(client->MasterOfSlot(ClusterKeySlot(key)));
    cmds.push_back({"SET", key, absl::StrCat("v", i)});
    cmds.push_back({"GET", key});
    cmds.push_back({"INCRBY", absl::StrCat("order:n:", i % 50), "1"});
  }
  // Before the first call the map is empty; the first pipeline loads it.
  auto replies = client->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), cmds.size());
  for (int i = 0; i < 600; ++i) {
    EXPECT_EQ((*replies)[3 * i].str, "OK");
    EXPECT_EQ((*replies)[3 * i + 1].str, absl::StrCat("v", i)) << "reply " << 3 * i + 1 << " out of order";
    EXPECT_EQ((*replies)[3 * i + 2].integer, i / 50 + 1) << "INCRBY order:n:" << i % 50;
  }
  masters_hit.clear();
  for (int i = 0; i < 600; ++i) masters_hit.insert(client->MasterOfSlot(ClusterKeySlot(absl::StrCat("order:", i))));
  EXPECT_EQ(masters_hit.size(), 3u) << "the pipeline really spanned every master";
  // Each key is on the master the client thinks: read it there directly.
  const std::string where = client->MasterOfSlot(ClusterKeySlot("order:7"));
  auto direct = Direct(NodeOfAddress(where));
  auto got = direct->Command({"GET", "order:7"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->str, "v7");
}

TEST_F(RedisClusterTest, StreamPartitionsSpreadOverMastersAndConsumeAsUsual) {
  auto client = ClusterClient(cluster_->url());
  ASSERT_TRUE(client->Ping().ok());
  std::set<std::string> masters;
  std::vector<RedisCommand> writes;
  for (uint32_t p = 0; p < 16; ++p) {
    masters.insert(client->MasterOfSlot(ClusterKeySlot(keys::EventStream(p))));
    writes.push_back({"XGROUP", "CREATE", keys::EventStream(p), "g", "0", "MKSTREAM"});
    writes.push_back({"XADD", keys::EventStream(p), "*", "e", absl::StrCat("payload-", p)});
  }
  EXPECT_EQ(masters.size(), 3u) << "16 partitions should land on every master";
  auto written = client->Pipeline(writes);
  ASSERT_TRUE(written.ok()) << written.status();
  for (const auto& r : *written) EXPECT_FALSE(r.is_error()) << r.str;
  std::vector<RedisCommand> reads;
  for (uint32_t p = 0; p < 16; ++p) {
    reads.push_back({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS", keys::EventStream(p), ">"});
  }
  auto read = client->Pipeline(reads);
  ASSERT_TRUE(read.ok()) << read.status();
  for (uint32_t p = 0; p < 16; ++p) {
    const RedisReply& r = (*read)[p];
    ASSERT_TRUE(r.is_array() && r.elements.size() == 1) << "partition " << p << ": " << r.str;
    const RedisReply& entries = r.elements[0].elements[1];
    ASSERT_EQ(entries.elements.size(), 1u);
    EXPECT_EQ(entries.elements[0].elements[1].elements[1].str, absl::StrCat("payload-", p)) << "partition " << p;
  }
}

TEST_F(RedisClusterTest, TransactionIsSplitPerSlotAndAnsweredInOrder) {
  auto client = ClusterClient(cluster_->url());
  // Two users on (most likely) different masters, as a journey batch writes them.
  const std::string a = keys::View("default", "alice"), b = keys::View("default", "bob");
  ASSERT_NE(ClusterKeySlot(a), ClusterKeySlot(b));
  auto replies = client->Pipeline({{"DEL", a, b},
                                   {"MULTI"},
                                   {"HSET", a, "journey", "A1"},
                                   {"HSET", b, "journey", "B1"},
                                   {"HINCRBY", a, "n", "5"},
                                   {"EXEC"},
                                   {"HGET", b, "journey"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  const auto& r = *replies;
  EXPECT_EQ(r[1].str, "OK");
  EXPECT_EQ(r[2].str, "QUEUED");
  EXPECT_EQ(r[4].str, "QUEUED");
  ASSERT_TRUE(r[5].is_array()) << r[5].str;
  ASSERT_EQ(r[5].elements.size(), 3u);
  EXPECT_EQ(r[5].elements[0].integer, 1);
  EXPECT_EQ(r[5].elements[1].integer, 1);
  EXPECT_EQ(r[5].elements[2].integer, 5);
  EXPECT_EQ(r[6].str, "B1");
}

TEST_F(RedisClusterTest, ScriptLoadReachesEveryMaster) {
  auto client = ClusterClient(cluster_->url());
  auto sha = client->Command({"SCRIPT", "LOAD", "return redis.call('INCR', KEYS[1])"});
  ASSERT_TRUE(sha.ok()) << sha.status();
  std::vector<RedisCommand> cmds;
  for (uint32_t p = 0; p < 16; ++p) cmds.push_back({"EVALSHA", sha->str, "1", keys::EventStream(p) + ":n"});
  auto replies = client->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  for (const auto& r : *replies) EXPECT_FALSE(r.is_error()) << r.str;
}

TEST_F(RedisClusterTest, ScanWalksEveryMasterBehindOneCursor) {
  auto client = ClusterClient(cluster_->url());
  std::vector<RedisCommand> writes;
  for (int i = 0; i < 300; ++i) writes.push_back({"SET", absl::StrCat("scanwalk:{u", i, "}"), "1"});
  ASSERT_TRUE(client->Pipeline(writes).ok());
  std::set<int> masters_with_keys;
  for (int n = 0; n < cluster_->size(); ++n) {
    auto direct = Direct(n)->Command({"SCAN", "0", "MATCH", "scanwalk:*", "COUNT", "1000"});
    ASSERT_TRUE(direct.ok());
    if (!direct->elements[1].elements.empty()) masters_with_keys.insert(n);
  }
  ASSERT_EQ(masters_with_keys.size(), 3u) << "the keys must spread over the masters for this test to mean anything";

  std::multiset<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    auto page = client->Command({"SCAN", cursor, "MATCH", "scanwalk:*", "COUNT", "40"});
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->elements.size(), 2u);
    cursor = page->elements[0].str;
    for (const auto& k : page->elements[1].elements) seen.insert(k.str);
    ASSERT_LT(++pages, 1000) << "the cursor never came back to 0";
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 300u) << "no key twice without a reshard";

  auto mixed = client->Pipeline({{"SCAN", "0"}, {"GET", "scanwalk:{u1}"}});
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Command({"SCAN", "garbage"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisClusterTest, PingAnswersForEveryMasterAndRecovers) {
  auto client = ClusterClient(cluster_->single_seed_url());
  ASSERT_TRUE(client->Ping().ok());
  // A master down: part of the key space is unreachable, so the service must not look healthy.
  cluster_->node(2).Kill();
  EXPECT_FALSE(client->Ping().ok());
  ASSERT_TRUE(cluster_->node(2).Start().ok());
  EXPECT_TRUE(PollUntil([&] { return client->Ping().ok(); }, absl::Seconds(20), absl::Milliseconds(50)))
      << "the restarted master is used again without a new client";
  auto set = client->Command({"SET", "after-restart", "1"});
  EXPECT_TRUE(set.ok()) << set.status();
  // Leave the shared cluster as found for the tests after this one in the same process.
  EXPECT_TRUE(cluster_->WaitHealthy().ok());
}

TEST_F(RedisClusterTest, FactoryChoosesByScheme) {
  auto cluster = Connect(cluster_->url());
  ASSERT_NE(dynamic_cast<RedisClusterClient*>(cluster.get()), nullptr);
  auto single = Connect(absl::StrCat("redis://", cluster_->address(0)));
  ASSERT_NE(dynamic_cast<HiredisClient*>(single.get()), nullptr);
  EXPECT_FALSE(CreateRedisClient("redis+cluster://", 1).ok());
  EXPECT_FALSE(CreateRedisClient("redis+cluster://127.0.0.1:1/2", 1).ok()) << "a cluster has only db 0";
  EXPECT_FALSE(CreateRedisClient("http://x:1", 1).ok());
}

// Moves `slot` from its master to another one the way redis-cli --cluster reshard does
// (SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT NODE everywhere). `between_keys`
// runs after each key so that traffic interleaves with the migration. Returns the new master.
int MigrateSlot(RedisCluster& cluster, int slot, int from, int to, const std::function<void()>& between_keys) {
  auto node = [&](int i) { return std::move(*HiredisClient::FromUrl("redis://" + cluster.address(i), 1)); };
  auto src = node(from), dst = node(to);
  const std::string src_id = src->Command({"CLUSTER", "MYID"})->str;
  const std::string dst_id = dst->Command({"CLUSTER", "MYID"})->str;
  const std::string s = std::to_string(slot);
  EXPECT_EQ(dst->Command({"CLUSTER", "SETSLOT", s, "IMPORTING", src_id})->str, "OK");
  EXPECT_EQ(src->Command({"CLUSTER", "SETSLOT", s, "MIGRATING", dst_id})->str, "OK");
  between_keys();
  while (true) {
    auto keys = src->Command({"CLUSTER", "GETKEYSINSLOT", s, "1"});
    EXPECT_TRUE(keys.ok());
    if (!keys.ok() || keys->elements.empty()) break;
    auto moved = src->Command({"MIGRATE", "127.0.0.1", std::to_string(cluster.port(to)), keys->elements[0].str, "0",
                               "5000"});
    EXPECT_TRUE(moved.ok() && moved->str == "OK") << (moved.ok() ? moved->str : moved.status().ToString());
    between_keys();
  }
  for (int i = 0; i < cluster.size(); ++i) {
    auto r = node(i)->Command({"CLUSTER", "SETSLOT", s, "NODE", dst_id});
    EXPECT_TRUE(r.ok() && r->str == "OK") << "node " << i;
  }
  return to;
}

TEST_F(RedisClusterTest, StaleSlotMapFollowsMoved) {
  auto client = ClusterClient(cluster_->url());
  const std::string key = "{stale}:k";
  const int slot = ClusterKeySlot(key);
  ASSERT_TRUE(client->Command({"SET", key, "before"}).ok());
  const int from = NodeOfAddress(client->MasterOfSlot(slot));
  const int to = (from + 1) % cluster_->size();
  MigrateSlot(*cluster_, slot, from, to, [] {});
  // The client still believes `from` owns the slot: MOVED must be followed, not surfaced.
  ASSERT_EQ(client->MasterOfSlot(slot), cluster_->address(from));
  auto got = client->Command({"GET", key});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->str, "before");
  EXPECT_EQ(client->MasterOfSlot(slot), cluster_->address(to));
  EXPECT_EQ(client->counters().moved, 1);
  auto set = client->Command({"SET", key, "after"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(Direct(to)->Command({"GET", key})->str, "after");
}

TEST_F(RedisClusterTest, SlotMigratesDuringARunWithoutAFailedCall) {
  auto client = ClusterClient(cluster_->single_seed_url());
  ASSERT_TRUE(client->Ping().ok());
  // 40 counters in the slot that moves ({hot}), and one in every partition elsewhere.
  const int slot = ClusterKeySlot("{hot}");
  std::vector<RedisCommand> init;
  for (int i = 0; i < 40; ++i) init.push_back({"SET", absl::StrCat("{hot}:", i), "0"});
  init.push_back({"SET", "{hot}:txn", "0"});
  for (uint32_t p = 0; p < 16; ++p) init.push_back({"SET", keys::EventStream(p) + ":count", "0"});
  ASSERT_TRUE(client->Pipeline(init).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::thread writer([&] {
    // Bounded in count and time; stops by itself even if the main thread hangs.
    const absl::Time end = absl::Now() + absl::Seconds(30);
    for (int round = 0; round < 20000 && !stop && absl::Now() < end; ++round) {
      std::vector<RedisCommand> cmds;
      for (int i = 0; i < 40; ++i) cmds.push_back({"INCR", absl::StrCat("{hot}:", i)});
      for (uint32_t p = 0; p < 16; ++p) cmds.push_back({"INCR", keys::EventStream(p) + ":count"});
      cmds.push_back({"MULTI"});
      cmds.push_back({"INCR", "{hot}:txn"});
      cmds.push_back({"INCR", keys::EventStream(0) + ":count"});
      cmds.push_back({"EXEC"});
      auto replies = client->Pipeline(cmds);
      bool ok = replies.ok();
      if (ok) {
        for (const auto& r : *replies) ok = ok && !r.is_error();
      }
      if (!ok) {
        if (failures++ == 0) {
          first_failure = replies.ok() ? "error reply" : replies.status().ToString();
          if (replies.ok()) {
            for (const auto& r : *replies) {
              if (r.is_error()) first_failure = r.str;
            }
          }
        }
        continue;
      }
      ++rounds;
    }
  });
  auto progressed = [&](int n) {
    const int at = rounds.load();
    return PollUntil([&] { return rounds.load() >= at + n || failures.load() > 0; }, absl::Seconds(10));
  };
  ASSERT_TRUE(progressed(5));
  const int from = NodeOfAddress(client->MasterOfSlot(slot));
  const int to = (from + 2) % cluster_->size();
  const int before = rounds.load();
  // Between every key moved, let the writer run two more rounds: the run straddles every
  // state of the slot (MIGRATING with keys on both sides -> ASK, then owned elsewhere -> MOVED).
  MigrateSlot(*cluster_, slot, from, to, [&] { EXPECT_TRUE(progressed(2)); });
  EXPECT_TRUE(progressed(5));
  stop = true;
  writer.join();

  EXPECT_EQ(failures.load(), 0) << "first failure: " << first_failure;
  const auto followed = client->counters();
  EXPECT_GT(followed.ask, 0) << "keys were read while the slot was half migrated (ASK)";
  EXPECT_GT(followed.moved, 0) << "the slot map was stale after the migration (MOVED)";
  std::printf("migration run: %d rounds, %lld ASK, %lld MOVED, %lld TRYAGAIN, %lld map refreshes\n", rounds.load(),
              followed.ask, followed.moved, followed.retried, followed.refreshes);
  EXPECT_GE(rounds.load() - before, 2 * 41) << "the writer ran throughout the migration";
  EXPECT_EQ(client->MasterOfSlot(slot), cluster_->address(to));
  // Every increment landed exactly once: each counter equals the number of rounds.
  auto dst = Direct(to);
  const int total = rounds.load();
  for (int i = 0; i < 40; ++i) EXPECT_EQ(dst->Command({"GET", absl::StrCat("{hot}:", i)})->str, std::to_string(total));
  EXPECT_EQ(dst->Command({"GET", "{hot}:txn"})->str, std::to_string(total));
  auto counts = client->Command({"GET", keys::EventStream(0) + ":count"});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->str, std::to_string(2 * total));
}

}  // namespace
}  // namespace journey::storage
