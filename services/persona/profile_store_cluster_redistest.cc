// The per-user write path on a real 3-master Redis Cluster: each profile's compare-and-set
// script touches only keys of its user's hash slot and the change feed's script only keys of
// the workspace's slot, so the stream handler's batches and the change feed work unchanged.
#include <gtest/gtest.h>

#include <set>

#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "common/storage/redis_key_slot.h"
#include "services/persona/crm_sync.h"
#include "services/persona/membership_engine.h"
#include "services/persona/profile_stream_handler.h"
#include "services/persona/proto_time.h"
#include "services/persona/segment_files.h"
#include "tests/testing/redis_cluster.h"

namespace journey::persona {
namespace {

TEST(ProfileStoreClusterTest, BatchesAndTheChangeFeedWorkAcrossMasters) {
  journey::testing::RedisCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  auto redis = storage::CreateRedisClient(cluster.url(), 4);
  ASSERT_TRUE(redis.ok()) << redis.status();
  ManualClock clock;
  clock.Advance(absl::Hours(12));
  SegmentCatalog catalog(redis->get(), &clock, CatalogOptions{absl::ZeroDuration()});
  auto defs = ParseSegmentDefinitions("id: buyers\ncondition: {compare: {attribute: computed.orders, op: \">=\", value: 1}}\n");
  ASSERT_TRUE(defs.ok());
  ASSERT_TRUE(catalog.Apply("default", (*defs)[0]).ok());
  ProfileStore store(redis->get());
  ProfileAggregator aggregator;
  MembershipEngine engine(&catalog);
  ProfileStreamHandler handler(&store, &aggregator, &engine, &clock);
  PersonaLogic logic(&store, &aggregator, &engine, &clock, PersonaLogicOptions{});
  CrmSync crm(&store, &logic, &engine, CrmOptions{4});

  // One batch of 40 users: their profiles spread over the three masters.
  std::vector<stream::StreamEntry> batch;
  std::set<int> slots;
  for (int u = 0; u < 40; ++u) {
    const std::string uid = absl::StrCat("c-", u);
    slots.insert(storage::ClusterKeySlot(keys::Profile("default", uid)));
    stream::StreamEntry e;
    e.id = absl::StrCat(u + 1, "-0");
    e.envelope.set_kind(cpb::ENVELOPE_KIND_EVENT);
    e.envelope.set_workspace_id("default");
    e.envelope.set_canonical_user_id(uid);
    auto* ev = e.envelope.mutable_event();
    ev->set_type(cpb::EVENT_TYPE_TRACK);
    ev->set_name("Order Completed");
    ev->set_order_id(absl::StrCat("o-", u));
    ev->set_revenue(10 + u);
    ToProto(clock.Now() - absl::Minutes(1), ev->mutable_timestamp());
    batch.push_back(std::move(e));
  }
  ASSERT_GT(slots.size(), 30u);
  ASSERT_TRUE(handler.ApplyBatch(0, batch).ok());
  ASSERT_TRUE(handler.ApplyBatch(0, batch).ok());  // redelivered: counted once
  for (int u = 0; u < 40; ++u) {
    auto p = logic.GetProfile(absl::StrCat("c-", u), "");
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->computed().orders(), 1) << u;
    EXPECT_EQ(std::vector<std::string>(p->segments().begin(), p->segments().end()), std::vector<std::string>{"buyers"});
  }
  auto start = crm.StartCursor("0");
  ASSERT_TRUE(start.ok()) << start.status();
  auto changes = crm.ReadChanges(*start, 100, absl::Milliseconds(10));
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 40u);
  for (size_t i = 0; i < changes->size(); ++i) EXPECT_EQ((*changes)[i].sequence(), static_cast<int64_t>(i + 1));

  // The whole-population reads SCAN every master, not only the one a keyless command reaches.
  int exported = 0;
  ASSERT_TRUE(crm.ExportSegment("buyers", {"buyers"}, [&](const pb::Profile&) { return ++exported > 0; }).ok());
  EXPECT_EQ(exported, 40);
  auto estimate = logic.Estimate((*defs)[0].condition());
  ASSERT_TRUE(estimate.ok()) << estimate.status();
  EXPECT_EQ(estimate->first, 40);
  EXPECT_EQ(estimate->second, 40);
}

}  // namespace
}  // namespace journey::persona
