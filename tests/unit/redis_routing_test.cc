// Cluster routing without a server: key slots, which argument routes a command, and the
// redis:// / redis+cluster:// URL forms the factory accepts.
#include "common/storage/redis_factory.h"
#include "common/storage/redis_key_slot.h"
#include "gtest/gtest.h"

namespace journey::storage {
namespace {

TEST(ClusterKeySlot, KnownValuesAndHashTags) {
  EXPECT_EQ(ClusterKeySlot("foo"), 12182);  // CLUSTER KEYSLOT foo
  EXPECT_EQ(ClusterKeySlot("123456789"), 0x31C3);  // CRC16-XMODEM check value
  EXPECT_EQ(ClusterKeySlot("{user1000}.following"), ClusterKeySlot("{user1000}.followers"));
  EXPECT_EQ(ClusterKeySlot("a{user1000}b"), ClusterKeySlot("user1000"));
  EXPECT_EQ(ClusterKeySlot("foo{}{bar}"), ClusterKeySlot("foo{}{bar}"));
  EXPECT_NE(ClusterKeySlot("foo{}{bar}"), ClusterKeySlot("bar")) << "an empty tag hashes the whole key";
  EXPECT_EQ(ClusterKeySlot("foo{{bar}}zap"), ClusterKeySlot("{bar"));
}

TEST(RouteOf, FindsTheRoutingKey) {
  auto slot = [](const RedisCommand& c) { return RouteOf(c).slot; };
  EXPECT_EQ(slot({"GET", "{u1}x"}), ClusterKeySlot("u1"));
  EXPECT_EQ(slot({"EVAL", "return 1", "2", "{u2}a", "{u2}b", "arg"}), ClusterKeySlot("u2"));
  EXPECT_EQ(RouteOf({"EVALSHA", "abc", "0"}).kind, CommandRoute::Kind::kAnyNode);
  EXPECT_EQ(slot({"XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "STREAMS", "{p3}", ">"}), ClusterKeySlot("p3"));
  EXPECT_EQ(slot({"xreadgroup", "group", "g", "c", "block", "5", "streams", "{p4}", ">"}), ClusterKeySlot("p4"));
  EXPECT_EQ(slot({"XGROUP", "CREATE", "{p5}", "g", "0"}), ClusterKeySlot("p5"));
  EXPECT_EQ(slot({"XINFO", "GROUPS", "{p6}"}), ClusterKeySlot("p6"));
  EXPECT_EQ(RouteOf({"PING"}).kind, CommandRoute::Kind::kAllMasters) << "health covers every master";
  EXPECT_EQ(RouteOf({"INFO"}).kind, CommandRoute::Kind::kAnyNode);
  EXPECT_EQ(RouteOf({"SCRIPT", "LOAD", "return 1"}).kind, CommandRoute::Kind::kAllMasters);
  EXPECT_EQ(RouteOf({"FLUSHALL"}).kind, CommandRoute::Kind::kAllMasters);
  EXPECT_EQ(RouteOf({"SET", "k", "v"}).kind, CommandRoute::Kind::kKeyed);
}

TEST(ParseRedisTarget, SingleAndCluster) {
  auto single = ParseRedisTarget("redis://:pw@h:6380/2");
  ASSERT_TRUE(single.ok());
  EXPECT_FALSE(single->cluster);
  EXPECT_EQ(single->nodes.at(0).db, 2);

  auto cluster = ParseRedisTarget("redis+cluster://user:pw@a:7000,b:7001, c:7002");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_TRUE(cluster->cluster);
  ASSERT_EQ(cluster->nodes.size(), 3u);
  EXPECT_EQ(cluster->nodes[1].host, "b");
  EXPECT_EQ(cluster->nodes[1].port, 7001);
  EXPECT_EQ(cluster->nodes[2].host, "c");
  for (const auto& n : cluster->nodes) {
    EXPECT_EQ(n.username, "user");
    EXPECT_EQ(n.password, "pw");
  }
  EXPECT_TRUE(ParseRedisTarget("redis+cluster://a:7000/0").ok());
  EXPECT_FALSE(ParseRedisTarget("redis+cluster://a:7000/1").ok());
  EXPECT_FALSE(ParseRedisTarget("redis+cluster://a:notaport").ok());
  EXPECT_FALSE(ParseRedisTarget("redis+cluster://").ok());
  EXPECT_FALSE(ParseRedisTarget("rediss://a:1").ok());
}

}  // namespace
}  // namespace journey::storage
