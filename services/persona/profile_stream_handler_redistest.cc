// The persona stream consumer against a real redis-server: envelopes appended as ingest
// appends them, profiles and view snapshots read back, retries and merges counted once.
#include <gtest/gtest.h>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/persona/persona_logic.h"
#include "services/persona/profile_stream_handler.h"
#include "services/persona/proto_time.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::persona {
namespace {

constexpr int kPartitions = 4;

class PersonaStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    storage::HiredisOptions options;
    options.endpoint.port = redis_.port();
    auto client = storage::HiredisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    store_ = std::make_unique<ProfileStore>(client_.get());
    handler_ = std::make_unique<ProfileStreamHandler>(store_.get(), &aggregator_, nullptr, &clock_);
    logic_ = std::make_unique<PersonaLogic>(store_.get(), &aggregator_, nullptr, &clock_, PersonaLogicOptions{});
  }

  void TearDown() override {
    if (consumer_) consumer_->Stop();
  }

  void StartConsumer() {
    consumer_ = std::make_unique<stream::PartitionedConsumer>(
        client_.get(), handler_.get(), stream::ConsumerOptions{"persona", "test-replica", kPartitions});
    consumer_->Start();
  }

  // XADD as ingest does: to the partition of the id the envelope is keyed by.
  std::string Append(const cpb::EventEnvelope& env, const std::string& partition_key) {
    const uint32_t p = keys::PartitionOf(partition_key, kPartitions);
    auto r = client_->Command({"XADD", keys::EventStream(p), "*", "e", env.SerializeAsString()});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->str : "";
  }

  cpb::EventEnvelope Event(const std::string& uid, const std::string& name, absl::Duration ago = absl::Hours(1)) {
    cpb::EventEnvelope env;
    env.set_kind(cpb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    cpb::Event* e = env.mutable_event();
    e->set_type(cpb::EVENT_TYPE_TRACK);
    e->set_user_id(uid);
    e->set_name(name);
    e->set_message_id(name + std::to_string(++seq_));
    ToProto(clock_.Now() - ago, e->mutable_timestamp());
    return env;
  }

  cpb::EventEnvelope OrderEvent(const std::string& uid, const std::string& order_id, double revenue) {
    cpb::EventEnvelope env = Event(uid, "Order Completed");
    env.mutable_event()->set_order_id(order_id);
    env.mutable_event()->set_revenue(revenue);
    return env;
  }

  pb::Profile Get(const std::string& id) {
    auto p = logic_->GetProfile(id, "");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : pb::Profile();
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<storage::HiredisClient> client_;
  ManualClock clock_;
  ProfileAggregator aggregator_;
  std::unique_ptr<ProfileStore> store_;
  std::unique_ptr<ProfileStreamHandler> handler_;
  std::unique_ptr<PersonaLogic> logic_;
  std::unique_ptr<stream::PartitionedConsumer> consumer_;
  int seq_ = 0;
};

TEST_F(PersonaStreamTest, ConsumerBuildsProfileAndViewSnapshot) {
  StartConsumer();
  Append(Event("u-1", "Product Viewed"), "u-1");
  Append(OrderEvent("u-1", "o-1", 42.5), "u-1");
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-1").computed().orders() == 1; }, absl::Seconds(10)));
  pb::Profile p = Get("u-1");
  EXPECT_TRUE(p.found());
  EXPECT_DOUBLE_EQ(p.computed().revenue(), 42.5);
  EXPECT_EQ(p.computed().event_counts().at("Product Viewed").total(), 1);
  auto view = client_->Command({"HGET", keys::View("default", "u-1"), "persona"});
  ASSERT_TRUE(view.ok() && view->is_string());
  cpb::PersonaSnapshot snap;
  ASSERT_TRUE(snap.ParseFromString(view->str));
  EXPECT_EQ(snap.orders(), 1);
  EXPECT_DOUBLE_EQ(snap.revenue(), 42.5);
  EXPECT_FALSE(snap.applied_offsets().empty());
}

TEST_F(PersonaStreamTest, RedeliveredBatchDoesNotDoubleCount) {
  std::vector<stream::StreamEntry> batch;
  for (auto env : {Event("u-2", "Product Viewed"), OrderEvent("u-2", "o-9", 10)}) {
    stream::StreamEntry e;
    e.id = Append(env, "u-2");
    e.envelope = env;
    batch.push_back(e);
  }
  const uint32_t p = keys::PartitionOf("u-2", kPartitions);
  ASSERT_TRUE(handler_->ApplyBatch(p, batch).ok());
  ASSERT_TRUE(handler_->ApplyBatch(p, batch).ok());  // as after a crash before XACK
  pb::Profile prof = Get("u-2");
  EXPECT_EQ(prof.computed().orders(), 1);
  EXPECT_EQ(prof.computed().events(), 2);
}

TEST_F(PersonaStreamTest, SameOrderUnderNewMessageIdCountsOnce) {
  StartConsumer();
  Append(OrderEvent("u-3", "o-1", 10), "u-3");
  Append(OrderEvent("u-3", "o-1", 10), "u-3");
  Append(Event("u-3", "Product Viewed"), "u-3");
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-3").computed().events() == 2; }, absl::Seconds(10)));
  EXPECT_EQ(Get("u-3").computed().orders(), 1);
}

TEST_F(PersonaStreamTest, MergeJoinsAnonymousProfileAndIdentifyTraits) {
  StartConsumer();
  Append(Event("anon-7", "Product Viewed"), "anon-7");
  cpb::EventEnvelope identify = Event("u-7", "");
  identify.mutable_event()->set_type(cpb::EVENT_TYPE_IDENTIFY);
  identify.mutable_event()->set_anonymous_id("anon-7");
  (*identify.mutable_event()->mutable_traits())["plan"].set_string_value("gold");
  cpb::EventEnvelope merge;
  merge.set_kind(cpb::ENVELOPE_KIND_MERGE);
  merge.set_workspace_id("default");
  merge.set_canonical_user_id("u-7");
  merge.set_previous_id("anon-7");
  Append(merge, "anon-7");
  Append(identify, "u-7");
  Append(OrderEvent("u-7", "o-1", 19.99), "u-7");
  ASSERT_TRUE(journey::testing::PollUntil(
      [&] {
        pb::Profile p = Get("u-7");
        return p.computed().orders() == 1 && p.computed().event_counts().count("Product Viewed") == 1 &&
               p.traits().count("plan") == 1;
      },
      absl::Seconds(10)));
  pb::Profile p = Get("u-7");
  EXPECT_EQ(p.traits().at("plan").value().string_value(), "gold");
  EXPECT_EQ(p.traits().at("plan").source(), "identify");
  // The anonymous id finds the merged profile; its own profile is gone.
  auto by_anon = logic_->GetProfile("", "anon-7");
  ASSERT_TRUE(by_anon.ok());
  EXPECT_EQ(by_anon->user_id(), "u-7");
  auto exists = client_->Command({"EXISTS", keys::Profile("default", "anon-7")});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
}

TEST_F(PersonaStreamTest, EraseDropsProfileAndViewField) {
  StartConsumer();
  Append(OrderEvent("u-8", "o-1", 5), "u-8");
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-8").found(); }, absl::Seconds(10)));
  cpb::EventEnvelope erase;
  erase.set_kind(cpb::ENVELOPE_KIND_ERASE);
  erase.set_workspace_id("default");
  erase.set_canonical_user_id("u-8");
  Append(erase, "u-8");
  ASSERT_TRUE(journey::testing::PollUntil([&] { return !Get("u-8").found(); }, absl::Seconds(10)));
  auto view = client_->Command({"HEXISTS", keys::View("default", "u-8"), "persona"});
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->integer, 0);
}

// The consumer keeps profiles parsed between batches; a record another writer changed in
// between (CRM, consent, an erasure and a re-creation) must be read again, never the kept parse.
TEST_F(PersonaStreamTest, KeptParseIsUsedOnlyWhileTheStoredRecordIsUnchanged) {
  const uint32_t p = keys::PartitionOf("u-9", kPartitions);
  auto apply = [&](cpb::EventEnvelope env) {
    stream::StreamEntry e;
    e.id = Append(env, "u-9");
    e.envelope = std::move(env);
    ASSERT_TRUE(handler_->ApplyBatch(p, {e}).ok());
  };
  auto set_plan = [&](const std::string& plan) {
    ASSERT_TRUE(logic_
                    ->MutateProfiles({"u-9"}, {[&](pb::ProfileRecord* r) {
                                       (*r->mutable_profile()->mutable_traits())["plan"].mutable_value()->set_string_value(plan);
                                       return true;
                                     }})
                    .ok());
  };
  apply(Event("u-9", "Product Viewed"));
  apply(Event("u-9", "Product Viewed"));
  EXPECT_EQ(handler_->parsed_profiles().hits(), 1u);  // the second batch reused the first one's record
  EXPECT_EQ(Get("u-9").computed().events(), 2);

  set_plan("gold");  // another writer between two batches
  apply(Event("u-9", "Product Added"));
  pb::Profile prof = Get("u-9");
  EXPECT_EQ(prof.computed().events(), 3);
  EXPECT_EQ(prof.traits().at("plan").value().string_value(), "gold");
  EXPECT_EQ(handler_->parsed_profiles().hits(), 1u);

  // Erased elsewhere (as DeleteProfile does) and created again by another writer: the kept
  // record of the erased profile must not come back.
  ASSERT_TRUE(client_->Command({"DEL", keys::Profile("default", "u-9")}).ok());
  set_plan("silver");
  apply(Event("u-9", "Order Completed"));
  prof = Get("u-9");
  EXPECT_EQ(prof.computed().events(), 1);
  EXPECT_EQ(prof.computed().event_counts().count("Product Viewed"), 0u);
  EXPECT_EQ(prof.traits().at("plan").value().string_value(), "silver");
  EXPECT_EQ(handler_->parsed_profiles().hits(), 1u);
}

TEST_F(PersonaStreamTest, UnknownUserIsNotFound) {
  pb::Profile p = Get("nobody");
  EXPECT_FALSE(p.found());
  EXPECT_EQ(logic_->GetProfile("", "").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace journey::persona
