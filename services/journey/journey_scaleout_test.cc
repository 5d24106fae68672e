// Scale-out: two journey replicas plus a third killed with SIGKILL mid-stream. Every event
// must be applied exactly once to snapshots, transitions and aggregates: compared with counts
// computed here from the events we appended.
#include <gtest/gtest.h>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "services/journey/event_fields.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
namespace sv1 = journey::state::v1;
constexpr int kPartitions = 8;
constexpr int kUsers = 3000;

TEST(JourneyScaleOutTest, ExactlyOnceWithAReplicaKilledMidStream) {
  testing::RedisServer redis_server;
  ASSERT_TRUE(redis_server.Start().ok());
  auto client = storage::HiredisClient::FromUrl(redis_server.url());
  ASSERT_TRUE(client.ok());
  storage::RedisClient* redis = client->get();

  // User i: (i % 3 + 1) views, then by i % 4 nothing / an add / add + order / add + 2 orders.
  const absl::Time base = absl::Now();
  std::vector<pb::EventEnvelope> events;
  std::map<std::string, int> events_of, transitions_of;
  std::vector<long long> reach(6, 0);
  long long transitions = 0;
  for (int i = 0; i < kUsers; ++i) {
    const std::string uid = "so-" + std::to_string(i);
    std::vector<std::string> names(i % 3 + 1, "Product Viewed");
    const int pattern = i % 4;
    if (pattern >= 1) names.push_back("Product Added");
    if (pattern >= 2) names.push_back("Order Completed");
    if (pattern >= 3) names.push_back("Order Completed");
    const int furthest = pattern == 0 ? 1 : pattern == 1 ? 2 : pattern == 2 ? 3 : 5;
    for (int k = 0; k <= furthest; ++k) ++reach[k];
    transitions_of[uid] = pattern + 1;
    transitions += pattern + 1;
    for (size_t k = 0; k < names.size(); ++k) {
      pb::EventEnvelope env;
      env.set_kind(pb::ENVELOPE_KIND_EVENT);
      env.set_workspace_id("default");
      env.set_canonical_user_id(uid);
      env.mutable_event()->set_type(pb::EVENT_TYPE_TRACK);
      env.mutable_event()->set_name(names[k]);
      env.mutable_event()->set_message_id(uid + "-" + std::to_string(k));
      SetTimestamp(base + absl::Seconds(k), env.mutable_event()->mutable_timestamp());
      events.push_back(std::move(env));
      ++events_of[uid];
    }
  }
  // Interleave users the way live traffic does: round-robin over users' sequences.
  std::vector<pb::EventEnvelope> stream_order;
  {
    std::map<std::string, std::vector<pb::EventEnvelope>> by_user;
    std::vector<std::string> users;
    for (auto& e : events) {
      if (by_user[e.canonical_user_id()].empty()) users.push_back(e.canonical_user_id());
      by_user[e.canonical_user_id()].push_back(e);
    }
    for (size_t round = 0; stream_order.size() < events.size(); ++round) {
      for (const auto& u : users) {
        if (round < by_user[u].size()) stream_order.push_back(by_user[u][round]);
      }
    }
  }
  const long long total = static_cast<long long>(stream_order.size());

  std::map<std::string, std::string> flags = {{"partitions", std::to_string(kPartitions)},
                                              {"consumer_batch_size", "64"}};
  auto with_id = [&](const std::string& id) {
    auto f = flags;
    f["replica_id"] = id;
    return f;
  };
  testing::ServiceProcess a("journey", redis_server.url(), with_id("a"));
  testing::ServiceProcess b("journey", redis_server.url(), with_id("b"));
  testing::ServiceProcess c("journey", redis_server.url(), with_id("c"));
  ASSERT_TRUE(a.Start().ok()) << a.LogTail();
  ASSERT_TRUE(b.Start().ok()) << b.LogTail();
  ASSERT_TRUE(c.Start().ok()) << c.LogTail();
  auto stub = sv1::Journey::NewStub(a.channel());
  auto applied = [&]() -> long long {
    grpc::ClientContext ctx;
    sv1::GetJourneyMapRequest req;
    SetTimestamp(base - absl::Hours(24), req.mutable_range()->mutable_from());
    SetTimestamp(base + absl::Hours(24), req.mutable_range()->mutable_to());
    sv1::JourneyMap map;
    if (!stub->GetJourneyMap(&ctx, req, &map).ok()) return -1;
    long long n = 0;
    for (const auto& tp : map.touchpoints()) n += tp.count();
    return n;
  };

  auto append = [&](size_t from, size_t to) {
    std::vector<storage::RedisCommand> cmds;
    for (size_t i = from; i < to; ++i) {
      const auto& env = stream_order[i];
      cmds.push_back({"XADD", keys::EventStream(keys::PartitionOf(env.canonical_user_id(), kPartitions)), "*", "e",
                      env.SerializeAsString()});
    }
    ASSERT_TRUE(redis->Pipeline(cmds).ok());
  };
  const size_t half = stream_order.size() / 2;
  for (size_t at = 0; at < half; at += 250) append(at, std::min(half, at + 250));
  // Kill the third replica while it is applying.
  ASSERT_TRUE(testing::PollUntil([&] { return applied() >= total / 5; }, absl::Seconds(30), absl::Milliseconds(5)));
  c.Kill();
  for (size_t at = half; at < stream_order.size(); at += 250) append(at, std::min(stream_order.size(), at + 250));

  // Done when everything is applied and nothing is pending (the dead replica's entries claimed).
  auto pending = [&]() -> long long {
    std::vector<storage::RedisCommand> cmds;
    for (int p = 0; p < kPartitions; ++p) cmds.push_back({"XPENDING", keys::EventStream(p), "journey"});
    auto r = redis->Pipeline(cmds);
    if (!r.ok()) return -1;
    long long n = 0;
    for (const auto& x : *r) n += x.is_array() && !x.elements.empty() ? x.elements[0].integer : 0;
    return n;
  };
  long long seen = 0;
  ASSERT_TRUE(testing::PollUntil([&] { seen = applied(); return seen >= total && pending() == 0; },
                                 absl::Seconds(60), absl::Milliseconds(50)))
      << seen << " of " << total << ", pending " << pending() << "\n" << a.LogTail();

  EXPECT_EQ(applied(), total);
  auto xlen = redis->Command({"XLEN", keys::JourneyTransitions("default")});
  ASSERT_TRUE(xlen.ok());
  EXPECT_EQ(xlen->integer, transitions);
  {
    grpc::ClientContext ctx;
    sv1::GetFunnelRequest req;
    SetTimestamp(base - absl::Hours(24), req.mutable_range()->mutable_from());
    SetTimestamp(base + absl::Hours(24), req.mutable_range()->mutable_to());
    sv1::Funnel funnel;
    ASSERT_TRUE(stub->GetFunnel(&ctx, req, &funnel).ok());
    for (int k = 0; k < 6; ++k) EXPECT_EQ(funnel.steps(k).customers(), reach[k]) << funnel.steps(k).stage();
  }
  std::vector<storage::RedisCommand> reads;
  std::vector<std::string> uids;
  for (const auto& [uid, n] : events_of) {
    uids.push_back(uid);
    reads.push_back({"HGET", keys::View("default", uid), "journey"});
  }
  auto snaps = redis->Pipeline(reads);
  ASSERT_TRUE(snaps.ok());
  int wrong = 0;
  for (size_t i = 0; i < uids.size(); ++i) {
    pb::JourneySnapshot s;
    ASSERT_TRUE((*snaps)[i].is_string()) << uids[i];
    ASSERT_TRUE(s.ParseFromString((*snaps)[i].str));
    if (s.touchpoints_size() != events_of[uids[i]] || s.history_size() != transitions_of[uids[i]]) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "users whose snapshot does not hold each of their events exactly once";
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

}  // namespace
}  // namespace journey::journey_state
