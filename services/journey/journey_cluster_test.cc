// The journey's writes on a real 3-master Redis Cluster: a batch's MULTI/EXEC and the
// inactivity timers, whose effects (the user's view, the aggregates, the transitions) live in
// other slots than the partition's timer set.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_logic.h"
#include "tests/testing/redis_cluster.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
namespace sv1 = journey::state::v1;
constexpr int kPartitions = 4;
constexpr int kUsers = 40;

pb::EventEnvelope CartEvent(const std::string& uid, absl::Time at) {
  pb::EventEnvelope env;
  env.set_kind(pb::ENVELOPE_KIND_EVENT);
  env.set_workspace_id("default");
  env.set_canonical_user_id(uid);
  pb::Event* e = env.mutable_event();
  e->set_type(pb::EVENT_TYPE_TRACK);
  e->set_name("Product Added");
  e->set_user_id(uid);
  e->set_channel(pb::CHANNEL_WEB);
  e->set_message_id(absl::StrCat(uid, "-cart"));
  SetTimestamp(at, e->mutable_timestamp());
  return env;
}

TEST(JourneyOnClusterTest, AbandonedCartTimersFireOnceWhereTheirEffectsAreInOtherSlots) {
  testing::RedisCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  auto redis = storage::CreateRedisClient(cluster.url(), 2);
  ASSERT_TRUE(redis.ok()) << redis.status();
  ManualClock clock;
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  ASSERT_TRUE(def.ok()) << def.status();
  DefinitionStore definitions(redis->get(), &clock, "default", *CompiledDefinition::Compile(*def));
  ApplierOptions options{"default", kPartitions, 100000};
  options.fenced_writes = false;  // as journey-journey runs on a redis+cluster:// URL
  JourneyApplier applier(redis->get(), &definitions, &clock, options);
  JourneyLogic logic(redis->get(), &definitions, &clock, LogicOptions{});

  // 40 customers put something in the cart: their views spread over the three masters.
  std::vector<std::vector<stream::StreamEntry>> batches(kPartitions);
  for (int i = 0; i < kUsers; ++i) {
    const std::string uid = absl::StrCat("cart-", i);
    auto& batch = batches[keys::PartitionOf(uid, kPartitions)];
    batch.push_back({absl::StrCat("1000-", batch.size() + 1), CartEvent(uid, clock.Now())});
  }
  for (uint32_t p = 0; p < kPartitions; ++p) {
    if (!batches[p].empty()) ASSERT_TRUE(applier.ApplyBatch(p, batches[p]).ok()) << "partition " << p;
  }

  clock.Advance(absl::Hours(25));
  int fired = 0;
  for (uint32_t p = 0; p < kPartitions; ++p) {
    auto n = applier.FireDueTimers(p, clock.Now());
    ASSERT_TRUE(n.ok()) << "partition " << p << ": " << n.status();
    fired += *n;
  }
  EXPECT_EQ(fired, kUsers);
  for (uint32_t p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(applier.FireDueTimers(p, clock.Now() + absl::Hours(100)).value_or(-1), 0) << "fired twice";
  }
  for (int i = 0; i < kUsers; ++i) {
    auto j = logic.GetJourney(absl::StrCat("cart-", i), "");
    ASSERT_TRUE(j.ok() && j->has_value()) << i;
    EXPECT_TRUE((*j)->abandoned()) << i;
    EXPECT_EQ((*j)->abandoned_stage(), "DECISION") << i;
  }
  sv1::GetFunnelRequest req;
  SetTimestamp(clock.Now() - absl::Hours(48), req.mutable_range()->mutable_from());
  SetTimestamp(clock.Now() + absl::Hours(48), req.mutable_range()->mutable_to());
  auto funnel = logic.GetFunnel(req);
  ASSERT_TRUE(funnel.ok()) << funnel.status();
  EXPECT_EQ(funnel->steps(2).abandoned(), kUsers);
}

}  // namespace
}  // namespace journey::journey_state
