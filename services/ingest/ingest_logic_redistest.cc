// IngestLogic against a real redis-server: stream entries, dedup across retries, identity
// stitching, backpressure, Redis down, and the round-trip budget of a batch.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/ingest/ingest_logic.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using journey::common::v1::EventEnvelope;

// Counts round trips so the test can hold the batch path to a constant number of them.
class CountingRedis final : public storage::RedisClient {
 public:
  explicit CountingRedis(storage::RedisClient* inner) : inner_(inner) {}
  absl::StatusOr<std::vector<storage::RedisReply>> Pipeline(const std::vector<storage::RedisCommand>& cmds,
                                                            absl::Duration timeout) override {
    ++round_trips;
    for (const auto& c : cmds) script_calls += !c.empty() && c.front() == "EVALSHA" ? 1 : 0;
    return inner_->Pipeline(cmds, timeout);
  }
  std::atomic<int> round_trips{0};
  std::atomic<int> script_calls{0};

 private:
  storage::RedisClient* inner_;
};

class IngestLogicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    storage::HiredisOptions o;
    o.endpoint.port = redis_.port();
    o.command_timeout = absl::Milliseconds(500);
    o.max_backoff = absl::Milliseconds(50);
    client_ = std::move(*storage::HiredisClient::Create(o));
    counting_ = std::make_unique<CountingRedis>(client_.get());
    append_.partitions = 4;
    append_.single_redis = true;  // as main() sets it for a redis:// URL (alias lookups by MGET)
    logic_ = std::make_unique<IngestLogic>(IngestDeps{counting_.get(), &clock_, nullptr, nullptr}, IngestLimits{},
                                           append_);
  }

  Event Track(const std::string& mid, const std::string& uid, const std::string& anon, const std::string& name) {
    Event e;
    e.set_type(journey::common::v1::EVENT_TYPE_TRACK);
    e.set_message_id(mid);
    e.set_user_id(uid);
    e.set_anonymous_id(anon);
    e.set_name(name);
    return e;
  }
  Event Identify(const std::string& mid, const std::string& uid, const std::string& anon) {
    Event e = Track(mid, uid, anon, "");
    e.set_type(journey::common::v1::EVENT_TYPE_IDENTIFY);
    return e;
  }

  // Every envelope of the partition `id` hashes to, in stream order.
  std::vector<EventEnvelope> Stream(const std::string& id) {
    auto reply = client_->Command({"XRANGE", keys::EventStream(keys::PartitionOf(id, append_.partitions)), "-", "+"});
    EXPECT_TRUE(reply.ok());
    std::vector<EventEnvelope> out;
    for (const auto& entry : reply->elements) {
      EXPECT_EQ(entry.elements[1].elements[0].str, "e");
      out.emplace_back().ParseFromString(entry.elements[1].elements[1].str);
    }
    return out;
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<storage::HiredisClient> client_;
  std::unique_ptr<CountingRedis> counting_;
  ManualClock clock_{absl::FromUnixSeconds(1'795'000'000)};
  AppendOptions append_;
  std::unique_ptr<IngestLogic> logic_;
};

TEST_F(IngestLogicTest, AppendsEnvelopesInOrderToTheUsersPartition) {
  auto out = logic_->Ingest({Track("m1", "u1", "", "Product Viewed"), Track("m2", "u1", "", "Product Added")});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE((*out)[0].stream_id.empty());
  EXPECT_EQ((*out)[0].canonical_user_id, "u1");
  auto entries = Stream("u1");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].kind(), journey::common::v1::ENVELOPE_KIND_EVENT);
  EXPECT_EQ(entries[0].event().name(), "Product Viewed");
  EXPECT_EQ(entries[1].event().name(), "Product Added");
  EXPECT_EQ(entries[0].canonical_user_id(), "u1");
  EXPECT_EQ(entries[0].workspace_id(), "default");
  EXPECT_EQ(entries[0].partition(), keys::PartitionOf("u1", append_.partitions));
  EXPECT_EQ(entries[0].event().received_at().seconds(), 1'795'000'000);
}

TEST_F(IngestLogicTest, ARetriedBatchIsAcceptedButAppendedOnce) {
  std::vector<Event> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Track("r" + std::to_string(i), "u" + std::to_string(i % 7), "", "Product Viewed"));
  auto first = logic_->Ingest(batch);
  ASSERT_TRUE(first.ok());
  auto retry = logic_->Ingest(batch);
  ASSERT_TRUE(retry.ok());
  int dups = 0;
  for (const auto& o : *retry) dups += o.duplicate ? 1 : 0;
  EXPECT_EQ(dups, 50);
  int64_t total = 0;
  for (int p = 0; p < append_.partitions; ++p) total += client_->Command({"XLEN", keys::EventStream(p)})->integer;
  EXPECT_EQ(total, 50);
  // The markers: a set per partition and dedup window, kept until the next window ends.
  const int64_t bucket = absl::ToUnixSeconds(absl::Now()) / (24 * 3600);
  const std::string markers = keys::DedupBucket("default", keys::PartitionOf("u0", 4), bucket);
  auto member = client_->Command({"SISMEMBER", markers, "r0"});
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(member->integer, 1);
  auto ttl = client_->Command({"TTL", markers});
  EXPECT_GT(ttl->integer, 24 * 3600);
  EXPECT_LE(ttl->integer, 2 * 24 * 3600 + 300);
}

TEST_F(IngestLogicTest, ABatchIsAConstantNumberOfRoundTrips) {
  std::vector<Event> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Track("b" + std::to_string(i), "", "anon" + std::to_string(i), "Product Viewed"));
  batch.push_back(Identify("login", "user-9", "anon-9"));
  ASSERT_TRUE(logic_->Ingest(batch).ok());  // loads the script once
  counting_->round_trips = 0;
  for (auto& e : batch) e.set_message_id(e.message_id() + "-again");
  batch.back().set_anonymous_id("anon-10");
  ASSERT_TRUE(logic_->Ingest(batch).ok());
  EXPECT_LE(counting_->round_trips.load(), 4);  // lookups, links, dedup probes, appends
}

// On a single Redis one script call carries the runs of all partitions (up to
// EventAppender::kMaxPerScript envelopes), on Cluster one call per partition run; either way
// each partition gets its events once and in order, and a retry appends nothing.
TEST_F(IngestLogicTest, AppendCallsSpanPartitionsOnASingleRedisOnly) {
  for (bool single : {true, false}) {
    SCOPED_TRACE(single ? "single Redis" : "Cluster layout");
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    AppendOptions append = append_;
    append.single_redis = single;
    IngestLogic logic(IngestDeps{counting_.get(), &clock_, nullptr, nullptr}, IngestLimits{}, append);
    std::vector<Event> batch;
    for (int i = 0; i < 300; ++i) {
      batch.push_back(Track("s" + std::to_string(i), "user-" + std::to_string(i % 7), "", "Product Viewed"));
    }
    ASSERT_TRUE(logic.Ingest(batch).ok());  // loads the script
    for (auto& e : batch) e.set_message_id(e.message_id() + "-2");
    counting_->script_calls = 0;
    auto out = logic.Ingest(batch);
    ASSERT_TRUE(out.ok());
    std::set<uint32_t> partitions;
    for (int u = 0; u < 7; ++u) partitions.insert(keys::PartitionOf("user-" + std::to_string(u), append.partitions));
    if (single) {
      EXPECT_EQ(counting_->script_calls.load(), 3);  // 300 envelopes, at most 128 a call
    } else {
      EXPECT_GE(counting_->script_calls.load(), static_cast<int>(partitions.size()));
    }
    for (const auto& o : *out) EXPECT_FALSE(o.duplicate || o.stream_id.empty()) << o.message_id;

    counting_->script_calls = 0;
    auto again = logic.Ingest(batch);
    ASSERT_TRUE(again.ok());
    for (const auto& o : *again) EXPECT_TRUE(o.duplicate) << o.message_id;

    // Per user: both rounds, each in the order sent.
    for (int u = 0; u < 7; ++u) {
      const std::string user = "user-" + std::to_string(u);
      std::vector<std::string> ids;
      for (const auto& env : Stream(user)) {
        if (env.canonical_user_id() == user) ids.push_back(env.event().message_id());
      }
      std::vector<std::string> expected;
      for (const char* suffix : {"", "-2"}) {
        for (int i = u; i < 300; i += 7) expected.push_back("s" + std::to_string(i) + suffix);
      }
      EXPECT_EQ(ids, expected) << user;
    }
  }
}

TEST_F(IngestLogicTest, AnonymousVisitorWhoLogsInAndBuysBecomesOneCustomer) {
  ASSERT_TRUE(logic_->Ingest({Track("a1", "", "anon-1", "Product Viewed")}).ok());
  // Login with an anonymous event before and after it in the same batch.
  auto out = logic_->Ingest({Track("a2", "", "anon-1", "Product Added"), Identify("a3", "alice", "anon-1"),
                             Track("a4", "", "anon-1", "Checkout Started")});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0].canonical_user_id, "anon-1");
  EXPECT_EQ((*out)[1].canonical_user_id, "alice");
  EXPECT_EQ((*out)[2].canonical_user_id, "alice");
  auto later = logic_->Ingest({Track("a5", "", "anon-1", "Order Completed")});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)[0].canonical_user_id, "alice");

  // The anonymous partition: both anonymous events, then the MERGE.
  auto anon = Stream("anon-1");
  std::vector<EventEnvelope> mine;
  for (const auto& e : anon) {
    if (e.canonical_user_id() == "anon-1" || e.previous_id() == "anon-1") mine.push_back(e);
  }
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(mine[0].event().name(), "Product Viewed");
  EXPECT_EQ(mine[1].event().name(), "Product Added");
  EXPECT_EQ(mine[2].kind(), journey::common::v1::ENVELOPE_KIND_MERGE);
  EXPECT_EQ(mine[2].canonical_user_id(), "alice");
  // Alice's partition: the identify, then everything after the login.
  std::vector<std::string> alice;
  for (const auto& e : Stream("alice")) {
    if (e.canonical_user_id() == "alice" && e.kind() == journey::common::v1::ENVELOPE_KIND_EVENT) {
      alice.push_back(e.event().message_id());
    }
  }
  EXPECT_EQ(alice, (std::vector<std::string>{"a3", "a4", "a5"}));

  // First link wins: the same anonymous id cannot be taken over by another user.
  auto other = logic_->Ingest({Identify("b1", "mallory", "anon-1"), Track("b2", "", "anon-1", "Product Viewed")});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)[1].canonical_user_id, "alice");
  int merges = 0;
  for (const auto& e : Stream("anon-1")) merges += e.kind() == journey::common::v1::ENVELOPE_KIND_MERGE ? 1 : 0;
  EXPECT_EQ(merges, 1);
}

TEST_F(IngestLogicTest, ARetryAfterTheLoginStillDedupsAnonymousEvents) {
  // The first attempt's ack was lost after the append; by the retry the visitor logged in.
  std::vector<Event> batch = {Track("x1", "", "anon-x", "Product Viewed"), Identify("x2", "xavier", "anon-x")};
  ASSERT_TRUE(logic_->Ingest(batch).ok());
  auto retry = logic_->Ingest(batch);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE((*retry)[0].duplicate);
  EXPECT_TRUE((*retry)[1].duplicate);
  int views = 0;
  for (const std::string id : {"anon-x", "xavier"}) {
    for (const auto& e : Stream(id)) views += e.event().message_id() == "x1" && e.kind() == journey::common::v1::ENVELOPE_KIND_EVENT;
  }
  EXPECT_EQ(views, 1);
}

TEST_F(IngestLogicTest, ARetriedIdentifyAppendsTheMergeOnce) {
  ASSERT_TRUE(logic_->Ingest({Identify("i1", "bob", "anon-b")}).ok());
  ASSERT_TRUE(logic_->Ingest({Identify("i1", "bob", "anon-b")}).ok());
  int merges = 0;
  for (const auto& e : Stream("anon-b")) merges += e.kind() == journey::common::v1::ENVELOPE_KIND_MERGE ? 1 : 0;
  EXPECT_EQ(merges, 1);
}

TEST_F(IngestLogicTest, APartialBatchAppendsTheValidEvents) {
  Event bad = Track("p2", "", "", "Product Viewed");
  auto out = logic_->Ingest({Track("p1", "u1", "", "Product Viewed"), bad, Track("p3", "u1", "", "Product Added")});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((*out)[0].error);
  ASSERT_TRUE((*out)[1].error);
  EXPECT_EQ((*out)[1].error->field, "user_id");
  EXPECT_FALSE((*out)[2].error);
  EXPECT_EQ(Stream("u1").size(), 2u);
}

TEST_F(IngestLogicTest, RedisDownIsUnavailableAndNothingIsAcknowledged) {
  redis_.Stop();
  auto out = logic_->Ingest({Track("d1", "u1", "", "Product Viewed")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable) << out.status();
  ASSERT_TRUE(redis_.Start().ok());
  // After a restart the script cache is empty: the appender reloads it.
  absl::Status last;
  EXPECT_TRUE(journey::testing::PollUntil([&] {
    last = logic_->Ingest({Track("d1", "u1", "", "Product Viewed")}).status();
    return last.ok();
  })) << last;
  EXPECT_EQ(Stream("u1").size(), 1u);
}

TEST(IngestRestart, NoAcknowledgedEventIsLostWhenRedisRestartsDuringASteadyStream) {
  journey::testing::RedisServer::Options durable;
  durable.append_only = true;  // appendfsync always: what production must run for this guarantee
  journey::testing::RedisServer redis(durable);
  ASSERT_TRUE(redis.Start().ok());
  storage::HiredisOptions o;
  o.endpoint.port = redis.port();
  o.command_timeout = absl::Milliseconds(300);
  o.max_backoff = absl::Milliseconds(50);
  auto client = std::move(*storage::HiredisClient::Create(o));
  AppendOptions append;
  append.partitions = 4;
  append.single_redis = true;
  IngestLogic logic({client.get(), RealClock::Get(), nullptr, nullptr}, IngestLimits{}, append);

  std::atomic<bool> stop{false};
  std::atomic<int> acked{0}, failed{0};
  std::vector<std::string> acked_ids;
  std::thread sender([&] {
    for (int i = 0; !stop; ++i) {
      Event e;
      e.set_type(journey::common::v1::EVENT_TYPE_TRACK);
      e.set_message_id("steady-" + std::to_string(i));
      e.set_user_id("u" + std::to_string(i % 13));
      e.set_name("Product Viewed");
      auto out = logic.Ingest({e});
      if (out.ok() && !(*out)[0].error) {
        acked_ids.push_back(e.message_id());
        ++acked;
      } else {
        ++failed;
      }
    }
  });
  ASSERT_TRUE(journey::testing::PollUntil([&] { return acked >= 200; }));
  ASSERT_TRUE(redis.Restart().ok());
  const int before = acked;
  ASSERT_TRUE(journey::testing::PollUntil([&] { return acked >= before + 200; }, absl::Seconds(10)));
  stop = true;
  sender.join();

  std::set<std::string> stored;
  for (int p = 0; p < 4; ++p) {
    auto reply = client->Command({"XRANGE", keys::EventStream(p), "-", "+"});
    ASSERT_TRUE(reply.ok());
    for (const auto& entry : reply->elements) {
      EventEnvelope env;
      env.ParseFromString(entry.elements[1].elements[1].str);
      stored.insert(env.event().message_id());
    }
  }
  int missing = 0;
  for (const auto& id : acked_ids) missing += stored.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0) << "of " << acked_ids.size() << " acknowledged (" << failed << " calls failed while Redis was down)";
}

TEST_F(IngestLogicTest, LaggingConsumersTurnIntoResourceExhausted) {
  BackpressureOptions bp;
  bp.max_lag = 5;
  ConsumerLagGate gate(client_.get(), append_.partitions, bp);
  IngestLogic logic({client_.get(), &clock_, nullptr, &gate}, IngestLimits{}, append_);
  const uint32_t p = keys::PartitionOf("u1", append_.partitions);
  ASSERT_TRUE(client_->Command({"XGROUP", "CREATE", keys::EventStream(p), "journey", "0", "MKSTREAM"}).ok());
  std::vector<Event> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Track("l" + std::to_string(i), "u1", "", "Product Viewed"));
  ASSERT_TRUE(logic.Ingest(batch).ok());  // the gate has not seen the lag yet
  ASSERT_TRUE(gate.Refresh().ok());
  EXPECT_EQ(gate.Lag(p), 10);
  auto out = logic.Ingest({Track("l11", "u1", "", "Product Viewed")});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  // The consumer catches up: appends flow again.
  ASSERT_TRUE(client_->Command({"XREADGROUP", "GROUP", "journey", "c", "STREAMS", keys::EventStream(p), ">"}).ok());
  ASSERT_TRUE(gate.Refresh().ok());
  EXPECT_TRUE(logic.Ingest({Track("l11", "u1", "", "Product Viewed")}).ok());
}

TEST_F(IngestLogicTest, RetentionByAgeDropsOldEntriesAndByLengthBoundsTheStream) {
  const std::string stream = keys::EventStream(keys::PartitionOf("u-old", append_.partitions));
  // 150 entries from 1970 (ids are milliseconds): two stream nodes of old entries.
  std::vector<storage::RedisCommand> old;
  for (int i = 0; i < 150; ++i) old.push_back({"XADD", stream, absl::StrCat("1000-", i), "e", "old"});
  ASSERT_TRUE(client_->Pipeline(old).ok());
  AppendOptions by_age = append_;
  by_age.stream_max_age = absl::Hours(1);
  IngestLogic aged({client_.get(), &clock_, nullptr, nullptr}, IngestLimits{}, by_age);
  ASSERT_TRUE(aged.Ingest({Track("age-1", "u-old", "", "Product Viewed")}).ok());
  auto len = client_->Command({"XLEN", stream});
  ASSERT_TRUE(len.ok());
  // MINID ~ drops whole nodes: the first 100 old entries at least; the new entry stays.
  EXPECT_LE(len->integer, 51);
  EXPECT_EQ(Stream("u-old").back().event().message_id(), "age-1");

  AppendOptions by_length = append_;
  by_length.stream_maxlen = 10;
  IngestLogic bounded({client_.get(), &clock_, nullptr, nullptr}, IngestLimits{}, by_length);
  std::vector<Event> batch;
  for (int i = 0; i < 400; ++i) batch.push_back(Track(absl::StrCat("len-", i), "u-len", "", "Product Viewed"));
  ASSERT_TRUE(bounded.Ingest(batch).ok());
  len = client_->Command({"XLEN", keys::EventStream(keys::PartitionOf("u-len", append_.partitions))});
  ASSERT_TRUE(len.ok());
  EXPECT_LT(len->integer, 400);  // MAXLEN ~ 10 trims whole nodes: far fewer than appended
}

}  // namespace
}  // namespace journey::ingest
