// Funnel correctness on real data: the REES46 sample (see /work/shared/data/README.md)
// appended to the stream as ingest would, applied by the consumer, and the funnel and
// touchpoint counts compared with counts computed here by plain code from the same file.
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/stream/partitioned_consumer.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_logic.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

#ifndef REES46_SAMPLE
#define REES46_SAMPLE "/work/shared/data/rees46/2019-10-01-head-13k.csv"
#endif

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
namespace sv1 = journey::state::v1;
constexpr int kPartitions = 8;

struct Row {
  absl::Time time;
  std::string type, product, category, brand, user, session;
  double price = 0;
};

std::vector<Row> ReadSample() {
  std::vector<Row> rows;
  std::ifstream in(REES46_SAMPLE);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != 9) continue;
    Row r;
    std::string err;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S UTC", f[0], absl::UTCTimeZone(), &r.time, &err)) continue;
    r.type = f[1];
    r.product = f[2];
    r.category = f[4];
    r.brand = f[5];
    (void)absl::SimpleAtod(f[6], &r.price);
    r.user = f[7];
    r.session = f[8];
    rows.push_back(std::move(r));
  }
  return rows;
}

TEST(JourneyRees46Test, FunnelEqualsIndependentCounts) {
  const std::vector<Row> rows = ReadSample();
  ASSERT_GT(rows.size(), 12000u) << "sample not found at " << REES46_SAMPLE;

  // Events as the replay maps them: view -> Product Viewed, cart -> Product Added, a session's
  // purchases -> one Order Completed (at its first purchase row).
  std::map<std::pair<std::string, std::string>, std::vector<const Row*>> orders;
  for (const Row& r : rows) {
    if (r.type == "purchase") orders[{r.user, r.session}].push_back(&r);
  }
  std::vector<pb::EventEnvelope> events;
  std::set<std::pair<std::string, std::string>> emitted;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(r.user);
    pb::Event* e = env.mutable_event();
    e->set_type(pb::EVENT_TYPE_TRACK);
    e->set_user_id(r.user);
    e->set_message_id("rees46-" + std::to_string(i));
    e->set_channel(pb::CHANNEL_WEB);
    e->set_session_id(r.session);
    SetTimestamp(r.time, e->mutable_timestamp());
    if (r.type == "view" || r.type == "cart") {
      e->set_name(r.type == "view" ? "Product Viewed" : "Product Added");
      e->set_product_id(r.product);
      e->set_category(r.category);
      e->set_brand(r.brand);
      e->set_price(r.price);
      e->set_quantity(1);
    } else if (r.type == "purchase") {
      if (!emitted.insert({r.user, r.session}).second) continue;
      e->set_name("Order Completed");
      e->set_order_id(r.session);
      double revenue = 0;
      for (const Row* p : orders[{r.user, r.session}]) {
        auto* product = e->add_products();
        product->set_product_id(p->product);
        product->set_price(p->price);
        product->set_quantity(1);
        revenue += p->price;
      }
      e->set_revenue(revenue);
    } else {
      continue;
    }
    events.push_back(std::move(env));
  }

  // Independent expectation: each user's furthest stage, by plain rules over their events.
  std::map<std::string, int> furthest;
  std::map<std::string, int> user_orders;
  std::map<std::string, long long> per_event;
  for (const auto& env : events) {
    const std::string& u = env.canonical_user_id();
    const std::string& name = env.event().name();
    ++per_event[name];
    int stage = name == "Product Viewed" ? 1 : name == "Product Added" ? 2 : 3;
    if (name == "Order Completed" && ++user_orders[u] >= 2) stage = 5;  // a repeat order the same day
    furthest[u] = std::max(furthest[u], stage);
  }
  std::vector<long long> expected(6, 0);
  for (const auto& [u, s] : furthest) {
    for (int k = 0; k <= s; ++k) ++expected[k];
  }

  testing::RedisServer redis_server;
  ASSERT_TRUE(redis_server.Start().ok());
  auto client = storage::HiredisClient::FromUrl(redis_server.url());
  ASSERT_TRUE(client.ok());
  storage::RedisClient* redis = client->get();
  std::vector<storage::RedisCommand> appends;
  for (const auto& env : events) {
    appends.push_back({"XADD", keys::EventStream(keys::PartitionOf(env.canonical_user_id(), kPartitions)), "*", "e",
                       env.SerializeAsString()});
    if (appends.size() == 1000) {
      ASSERT_TRUE(redis->Pipeline(appends).ok());
      appends.clear();
    }
  }
  ASSERT_TRUE(redis->Pipeline(appends).ok());

  ManualClock clock(absl::FromUnixSeconds(1569974400));  // 2019-10-02: timers stay out of it
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  ASSERT_TRUE(def.ok());
  DefinitionStore definitions(redis, &clock, "default", *CompiledDefinition::Compile(*def));
  JourneyApplier applier(redis, &definitions, &clock, {"default", kPartitions, 1'000'000});
  JourneyLogic logic(redis, &definitions, &clock, {});
  stream::ConsumerOptions opts;
  opts.group = "journey";
  opts.replica_id = "rees46";
  opts.partitions = kPartitions;
  opts.lease_refresh = absl::Milliseconds(50);
  stream::PartitionedConsumer consumer(redis, &applier, opts);
  consumer.Start();

  sv1::GetJourneyMapRequest req;
  SetTimestamp(absl::FromUnixSeconds(1569888000), req.mutable_range()->mutable_from());  // 2019-10-01
  SetTimestamp(absl::FromUnixSeconds(1569974399), req.mutable_range()->mutable_to());
  sv1::JourneyMap map;
  const long long total = static_cast<long long>(events.size());
  long long seen = 0;
  ASSERT_TRUE(testing::PollUntil([&] {
    auto m = logic.GetJourneyMap(req);
    if (!m.ok()) return false;
    map = *m;
    seen = 0;
    for (const auto& tp : map.touchpoints()) seen += tp.count();
    return seen >= total;
  }, absl::Seconds(60), absl::Milliseconds(50))) << seen << " of " << total << " applied";
  consumer.Stop();

  EXPECT_EQ(seen, total);
  std::map<std::string, long long> counted;
  for (const auto& tp : map.touchpoints()) counted[tp.event_name()] += tp.count();
  EXPECT_EQ(counted, per_event);
  ASSERT_EQ(map.funnel().steps_size(), 6);
  for (int k = 0; k < 6; ++k) {
    EXPECT_EQ(map.funnel().steps(k).customers(), expected[k]) << map.funnel().steps(k).stage();
  }
  EXPECT_EQ(expected[0], static_cast<long long>(furthest.size()));
  EXPECT_GT(expected[3], 0);
}

}  // namespace
}  // namespace journey::journey_state
