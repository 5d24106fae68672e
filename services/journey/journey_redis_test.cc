// The journey service's Redis side against a real redis-server: envelopes appended to the
// stream as ingest appends them, applied by the partitioned consumer; idempotency on
// redelivery, identity merge, erasure, inactivity timers, the transition stream, funnels.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/stream/partitioned_consumer.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_logic.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
namespace sv1 = journey::state::v1;
constexpr int kPartitions = 4;

class JourneyRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    auto client = storage::HiredisClient::FromUrl(redis_server_.url());
    ASSERT_TRUE(client.ok()) << client.status();
    redis_ = std::move(*client);
    auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
    ASSERT_TRUE(def.ok()) << def.status();
    definitions_ = std::make_unique<DefinitionStore>(redis_.get(), &clock_, "default", *CompiledDefinition::Compile(*def));
    applier_ = std::make_unique<JourneyApplier>(redis_.get(), definitions_.get(), &clock_,
                                                ApplierOptions{"default", kPartitions, 100000});
    logic_ = std::make_unique<JourneyLogic>(redis_.get(), definitions_.get(), &clock_, LogicOptions{});
  }

  pb::EventEnvelope Event(const std::string& uid, const std::string& name, absl::Duration offset = absl::ZeroDuration()) {
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    pb::Event* e = env.mutable_event();
    e->set_type(pb::EVENT_TYPE_TRACK);
    e->set_name(name);
    e->set_user_id(uid);
    e->set_channel(pb::CHANNEL_WEB);
    e->set_message_id(absl::StrCat(uid, "-", ++seq_));
    SetTimestamp(clock_.Now() + offset, e->mutable_timestamp());
    return env;
  }

  // As ingest appends: XADD events:{p} * e <envelope>.
  std::string Append(const pb::EventEnvelope& env, const std::string& partition_user = "") {
    const uint32_t p = keys::PartitionOf(partition_user.empty() ? env.canonical_user_id() : partition_user, kPartitions);
    auto r = redis_->Command({"XADD", keys::EventStream(p), "*", "e", env.SerializeAsString()});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->str : "";
  }

  std::optional<JourneySnapshot> Journey(const std::string& uid) {
    auto s = logic_->GetJourney(uid, "");
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::nullopt;
  }

  sv1::Funnel Funnel() {
    sv1::GetFunnelRequest req;
    SetTimestamp(clock_.Now() - absl::Hours(48), req.mutable_range()->mutable_from());
    SetTimestamp(clock_.Now() + absl::Hours(48), req.mutable_range()->mutable_to());
    auto f = logic_->GetFunnel(req);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : sv1::Funnel();
  }

  sv1::Funnel SegmentFunnel(const std::string& segment) {
    sv1::GetFunnelRequest req;
    req.set_segment(segment);
    SetTimestamp(clock_.Now() - absl::Hours(48), req.mutable_range()->mutable_from());
    SetTimestamp(clock_.Now() + absl::Hours(48), req.mutable_range()->mutable_to());
    auto f = logic_->GetFunnel(req);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : sv1::Funnel();
  }

  // As persona publishes membership: field "persona" of the user's view hash.
  void SetSegments(const std::string& uid, const std::vector<std::string>& segments) {
    pb::PersonaSnapshot persona;
    persona.set_user_id(uid);
    for (const auto& s : segments) persona.add_segments(s);
    ASSERT_TRUE(redis_->Command({"HSET", keys::View("default", uid), std::string(keys::kViewPersonaField),
                                 persona.SerializeAsString()})
                    .ok());
  }

  static pb::EventEnvelope MergeOf(const std::string& previous, const std::string& canonical) {
    pb::EventEnvelope merge;
    merge.set_kind(pb::ENVELOPE_KIND_MERGE);
    merge.set_workspace_id("default");
    merge.set_canonical_user_id(canonical);
    merge.set_previous_id(previous);
    return merge;
  }

  // A user id whose stream partition is `p` or, with `other_than`, anything but that.
  static std::string UserIn(const std::string& prefix, uint32_t p, bool other_than = false) {
    for (int i = 0;; ++i) {
      const std::string id = absl::StrCat(prefix, "-", i);
      if ((keys::PartitionOf(id, kPartitions) == p) != other_than) return id;
    }
  }

  std::vector<stream::StreamEntry> Entries(std::vector<pb::EventEnvelope> envs, int first_seq = 1) {
    std::vector<stream::StreamEntry> out;
    for (auto& env : envs) out.push_back({absl::StrCat("1000-", first_seq++), std::move(env)});
    return out;
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::RedisClient> redis_;
  ManualClock clock_;
  std::unique_ptr<DefinitionStore> definitions_;
  std::unique_ptr<JourneyApplier> applier_;
  std::unique_ptr<JourneyLogic> logic_;
  int seq_ = 0;
};

TEST_F(JourneyRedisTest, ConsumerAppliesTheStreamThroughFourStages) {
  stream::ConsumerOptions opts;
  opts.group = "journey";
  opts.replica_id = "r1";
  opts.partitions = kPartitions;
  opts.lease_refresh = absl::Milliseconds(50);
  stream::PartitionedConsumer consumer(redis_.get(), applier_.get(), opts);
  consumer.Start();
  pb::EventEnvelope view = Event("u1", "Product Viewed");
  view.mutable_event()->set_product_id("p-1");
  Append(view);
  ASSERT_TRUE(testing::PollUntil([&] { auto j = Journey("u1"); return j && j->stage() == "CONSIDERATION"; }));
  Append(Event("u1", "Product Added", absl::Minutes(1)));
  Append(Event("u1", "Order Completed", absl::Minutes(2)));
  Append(Event("u1", "Order Completed", absl::Hours(24)));
  ASSERT_TRUE(testing::PollUntil([&] { auto j = Journey("u1"); return j && j->stage() == "LOYALTY"; }));
  consumer.Stop();
  auto j = Journey("u1");
  ASSERT_EQ(j->history_size(), 4);
  EXPECT_EQ(j->history(1).stage(), "DECISION");
  EXPECT_EQ(j->history(2).stage(), "PURCHASE");
  EXPECT_EQ(j->touchpoints_size(), 4);
  EXPECT_EQ(j->recent_product_ids(0), "p-1");
  EXPECT_EQ(j->applied_offsets().size(), 1u);
  sv1::Funnel f = Funnel();
  for (const auto& step : f.steps()) EXPECT_EQ(step.customers(), 1) << step.stage();
  auto transitions = logic_->ReadTransitions("0-0", 100, absl::Milliseconds(1));
  ASSERT_TRUE(transitions.ok());
  ASSERT_EQ(transitions->size(), 4u);
  EXPECT_EQ((*transitions)[0].kind(), pb::TRANSITION_KIND_ENTRY);
  EXPECT_EQ((*transitions)[3].to_stage(), "LOYALTY");
}

TEST_F(JourneyRedisTest, RedeliveredEntriesAreAppliedOnce) {
  auto batch = Entries({Event("u2", "Product Viewed"), Event("u2", "Product Added"), Event("u3", "Product Viewed")});
  ASSERT_TRUE(applier_->ApplyBatch(0, batch).ok());
  ASSERT_TRUE(applier_->ApplyBatch(0, batch).ok());
  // A redelivery that overlaps new entries applies only the new ones.
  auto more = batch;
  more.push_back({"1000-4", Event("u2", "Order Completed")});
  ASSERT_TRUE(applier_->ApplyBatch(0, more).ok());
  auto j = Journey("u2");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->touchpoints_size(), 3);
  EXPECT_EQ(j->stage(), "PURCHASE");
  sv1::Funnel f = Funnel();
  EXPECT_EQ(f.steps(0).customers(), 2);  // AWARENESS
  EXPECT_EQ(f.steps(1).customers(), 2);  // CONSIDERATION
  EXPECT_EQ(f.steps(2).customers(), 1);  // DECISION
  EXPECT_EQ(f.steps(3).customers(), 1);  // PURCHASE
  auto transitions = logic_->ReadTransitions("0-0", 100, absl::Milliseconds(1));
  ASSERT_TRUE(transitions.ok());
  EXPECT_EQ(transitions->size(), 4u);  // u2: entry, forward, forward; u3: entry
}

// Runs `between` once, just before the first batch write (WATCH ... EXEC) goes out: another
// writer (the partition's next owner, another partition's owner) acting between this batch's
// read and its write.
class InterleavingRedis final : public storage::RedisClient {
 public:
  InterleavingRedis(storage::RedisClient* inner, std::function<void()> between)
      : inner_(inner), between_(std::move(between)) {}
  absl::StatusOr<std::vector<storage::RedisReply>> Pipeline(const std::vector<storage::RedisCommand>& cmds,
                                                           absl::Duration timeout) override {
    if (between_ && !cmds.empty() && cmds[0][0] == "WATCH") {
      auto f = std::move(between_);
      between_ = nullptr;
      f();
    }
    return inner_->Pipeline(cmds, timeout);
  }

 private:
  storage::RedisClient* inner_;
  std::function<void()> between_;
};

// Another replica writes the partition between this replica's read and its write (a lease
// handed over mid-batch): the stale batch must not be applied.
TEST_F(JourneyRedisTest, AStaleReplicaCannotApplyABatchTwice) {
  InterleavingRedis handover(redis_.get(), [&] {
    ASSERT_TRUE(redis_->Command({"SET", keys::JourneyAppliedWatermark(0), "1000-1"}).ok());
  });
  JourneyApplier stale(&handover, definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  auto batch = Entries({Event("u10", "Product Viewed")});
  absl::Status status = stale.ApplyBatch(0, batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_FALSE(Journey("u10").has_value());
  // Redelivered to the stale replica: at or below the watermark, so skipped.
  EXPECT_TRUE(stale.ApplyBatch(0, batch).ok());
  EXPECT_FALSE(Journey("u10").has_value());
  auto more = batch;
  more.push_back({"1000-2", Event("u10", "Product Added")});
  ASSERT_TRUE(applier_->ApplyBatch(0, more).ok());
  EXPECT_EQ(Journey("u10")->touchpoints_size(), 1);
}

// Sends the first batch write in two parts on its one connection: WATCH and the fence, then
// (after `between` ran on another connection) MULTI ... EXEC. So `between` lands after the
// fence's compare and before EXEC, where only WATCH can refuse the write.
class SplitWriteRedis final : public storage::RedisClient {
 public:
  SplitWriteRedis(storage::RedisClient* one_connection, std::function<void()> between)
      : inner_(one_connection), between_(std::move(between)) {}
  absl::StatusOr<std::vector<storage::RedisReply>> Pipeline(const std::vector<storage::RedisCommand>& cmds,
                                                           absl::Duration timeout) override {
    if (!between_ || cmds.size() < 3 || cmds[0][0] != "WATCH" || cmds[1][0] != "EVAL") {
      return inner_->Pipeline(cmds, timeout);
    }
    auto first = inner_->Pipeline({cmds.begin(), cmds.begin() + 2}, timeout);
    if (!first.ok()) return first;
    auto f = std::move(between_);
    between_ = nullptr;
    f();
    auto rest = inner_->Pipeline({cmds.begin() + 2, cmds.end()}, timeout);
    if (!rest.ok()) return rest;
    for (auto& r : *rest) first->push_back(std::move(r));
    return first;
  }

 private:
  storage::RedisClient* inner_;
  std::function<void()> between_;
};

TEST_F(JourneyRedisTest, AHandoverBetweenTheFenceAndTheTransactionAbortsIt) {
  auto one = storage::HiredisClient::FromUrl(redis_server_.url(), 1);  // WATCH holds per connection
  ASSERT_TRUE(one.ok());
  SplitWriteRedis split(one->get(), [&] {
    ASSERT_TRUE(redis_->Command({"SET", keys::JourneyAppliedWatermark(0), "1000-1"}).ok());
  });
  JourneyApplier stale(&split, definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  auto batch = Entries({Event("u11", "Product Viewed")});
  absl::Status status = stale.ApplyBatch(0, batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_FALSE(Journey("u11").has_value());
  auto funnel = redis_->Command({"KEYS", "*journey:agg:*"});
  ASSERT_TRUE(funnel.ok());
  EXPECT_TRUE(funnel->elements.empty());  // no aggregate of the refused batch either
  EXPECT_TRUE(stale.ApplyBatch(0, batch).ok());  // redelivered: at or below the watermark
  EXPECT_FALSE(Journey("u11").has_value());
}

TEST_F(JourneyRedisTest, MergeMovesTheVisitorsJourneyIntoTheCustomer) {
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event("u4", "Page Viewed")}, 1)).ok());
  pb::EventEnvelope merge;
  merge.set_kind(pb::ENVELOPE_KIND_MERGE);
  merge.set_workspace_id("default");
  merge.set_canonical_user_id("u4");
  merge.set_previous_id("anon-4");
  auto batch = Entries({Event("anon-4", "Product Viewed", absl::Minutes(1)),
                        Event("anon-4", "Product Added", absl::Minutes(2)), merge},
                       10);
  ASSERT_TRUE(applier_->ApplyBatch(2, batch).ok());
  ASSERT_TRUE(applier_->ApplyBatch(2, batch).ok());  // redelivered: merges once
  ASSERT_TRUE(redis_->Command({"SET", keys::Alias("default", "anon-4"), "u4"}).ok());
  auto via_alias = logic_->GetJourney("", "anon-4");
  ASSERT_TRUE(via_alias.ok());
  ASSERT_TRUE(via_alias->has_value());
  const JourneySnapshot& j = **via_alias;
  EXPECT_EQ(j.user_id(), "u4");
  EXPECT_EQ(j.stage(), "DECISION");
  EXPECT_EQ(j.touchpoints_size(), 3);
  ASSERT_EQ(j.merged_ids_size(), 1);
  EXPECT_EQ(j.merged_ids(0), "anon-4");
  EXPECT_FALSE(Journey("anon-4").has_value());
}

// Browse anonymously, identify, go on as the known customer: the funnel counts one person
// once per stage, whichever partition the consumer happens to apply first.
TEST_F(JourneyRedisTest, AStitchedPersonCountsOncePerStage) {
  const std::string anon = UserIn("anon-s", 0);
  const std::string known = UserIn("known-s", 0, true);
  const uint32_t known_p = keys::PartitionOf(known, kPartitions);
  // The visitor: AWARENESS, CONSIDERATION. Their partition is applied late.
  auto visitor = Entries({Event(anon, "Page Viewed"), Event(anon, "Product Viewed", absl::Minutes(1)),
                          MergeOf(anon, known)},
                         1);
  // The known customer's own partition runs first: CONSIDERATION, DECISION under their id.
  ASSERT_TRUE(applier_->ApplyBatch(known_p, Entries({Event(known, "Product Viewed", absl::Minutes(5)),
                                                     Event(known, "Product Added", absl::Minutes(6))},
                                                    1))
                  .ok());
  EXPECT_EQ(Funnel().steps(0).customers(), 1);
  ASSERT_TRUE(applier_->ApplyBatch(0, visitor).ok());
  ASSERT_TRUE(applier_->ApplyBatch(0, visitor).ok());  // redelivered: takes nothing back twice
  sv1::Funnel f = Funnel();
  EXPECT_EQ(f.steps(0).customers(), 1);  // AWARENESS: was 2 before merges took back the double count
  EXPECT_EQ(f.steps(1).customers(), 1);  // CONSIDERATION
  EXPECT_EQ(f.steps(2).customers(), 1);  // DECISION
  EXPECT_EQ(f.steps(3).customers(), 0);
  auto j = Journey(known);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->stage(), "DECISION");
  ASSERT_EQ(j->reached_size(), 3);
  EXPECT_EQ(ToTime(j->reached(1).at()), clock_.Now() + absl::Minutes(1));  // the visitor's reach stays
  // A second visitor merged into a customer with no journey yet counts as they were.
  const std::string anon2 = UserIn("anon-t", 0);
  const std::string known2 = UserIn("known-t", 0, true);
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event(anon2, "Product Viewed"), MergeOf(anon2, known2)}, 10)).ok());
  f = Funnel();
  EXPECT_EQ(f.steps(0).customers(), 2);
  EXPECT_EQ(f.steps(1).customers(), 2);
}

// Membership at event time: a stage reached while in a segment counts in that segment's
// funnel, whatever the customer's membership is later.
TEST_F(JourneyRedisTest, SegmentFunnelsCountMembersAtEventTime) {
  SetSegments("seg-a", {"vip", "email-openers"});
  SetSegments("seg-b", {"email-openers"});
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("seg-a", "Product Viewed"), Event("seg-b", "Product Viewed"),
                                               Event("seg-c", "Product Viewed"), Event("seg-a", "Product Added")}))
                  .ok());
  SetSegments("seg-a", {"email-openers"});  // leaves vip, then orders
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("seg-a", "Order Completed", absl::Minutes(10))}, 10)).ok());
  sv1::Funnel vip = SegmentFunnel("vip");
  EXPECT_EQ(vip.steps(0).customers(), 1);
  EXPECT_EQ(vip.steps(1).customers(), 1);
  EXPECT_EQ(vip.steps(2).customers(), 1);  // DECISION, reached while in vip
  EXPECT_EQ(vip.steps(3).customers(), 0);  // PURCHASE came after leaving
  sv1::Funnel openers = SegmentFunnel("email-openers");
  EXPECT_EQ(openers.steps(1).customers(), 2);
  EXPECT_EQ(openers.steps(3).customers(), 1);
  EXPECT_GT(openers.steps(2).median_time_to_next_s(), 0);  // DECISION -> PURCHASE in 10 min
  EXPECT_EQ(SegmentFunnel("nobody").steps(0).customers(), 0);
  EXPECT_EQ(Funnel().steps(1).customers(), 3);
  // An abandonment counts in the segments the customer is in when the timer fires.
  SetSegments("seg-b", {"email-openers"});
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("seg-b", "Product Added", absl::Minutes(1))}, 20)).ok());
  const uint32_t p = keys::PartitionOf("seg-b", kPartitions);
  clock_.Advance(absl::Hours(25));
  ASSERT_EQ(applier_->FireDueTimers(p, clock_.Now()).value_or(-1), 1);
  EXPECT_EQ(SegmentFunnel("email-openers").steps(2).abandoned(), 1);
  EXPECT_EQ(SegmentFunnel("vip").steps(2).abandoned(), 0);
  sv1::GetFunnelRequest too_long;
  too_long.set_segment(std::string(300, 's'));
  EXPECT_EQ(logic_->GetFunnel(too_long).status().code(), absl::StatusCode::kInvalidArgument);
}

// The journey map per segment against an independent count: 60 customers in fixed segments
// send a deterministic mix of views, adds, orders and CSAT answers through the stream and the
// consumer; every figure of each segment's map (touchpoints per event, reach, flows,
// sentiment, abandonment and the pain point it makes) equals what plain code counts from the
// same events, and the segments' figures are not the overall ones.
TEST_F(JourneyRedisTest, SegmentJourneyMapsMatchAnIndependentCount) {
  const std::vector<std::string> kNames = {"Product Viewed", "Product Added", "Order Completed", "Survey Answered"};
  struct Expected {
    std::map<std::string, long long> events;  // event name -> events by members
    long long members = 0, reached_decision = 0, reached_purchase = 0, abandoned = 0;
    long long sentiment_n = 0;
    double sentiment_sum = 0;
  };
  std::map<std::string, Expected> expected;  // "" = everyone
  constexpr int kUsers = 60;
  auto segments_of = [](int i) {
    std::vector<std::string> s;
    if (i % 3 == 0) s.push_back("vip");
    if (i % 2 == 0) s.push_back("email-openers");
    return s;
  };
  auto steps_of = [](int i) { return 1 + (i / 2) % 4; };  // 1 view .. 4 view, add, order, survey
  for (int i = 0; i < kUsers; ++i) {
    SetSegments(absl::StrCat("map-", i), segments_of(i));
    std::vector<std::string> in = segments_of(i);
    in.push_back("");
    for (const auto& seg : in) {
      Expected& e = expected[seg];
      ++e.members;
      for (int k = 0; k < steps_of(i); ++k) ++e.events[kNames[k]];
      e.reached_decision += steps_of(i) >= 2;
      e.reached_purchase += steps_of(i) >= 3;
      e.abandoned += steps_of(i) == 2;  // left in DECISION: the cart timer fires
      if (steps_of(i) == 4) {
        ++e.sentiment_n;
        e.sentiment_sum += ((i % 5) + 1 - 1) / 4.0;
      }
    }
  }
  // Rounds interleave the customers, so every batch mixes them.
  long long total_events = 0;
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < kUsers; ++i) {
      if (steps_of(i) <= k) continue;
      pb::EventEnvelope env = Event(absl::StrCat("map-", i), kNames[k], absl::Minutes(k));
      if (k == 3) {
        env.mutable_event()->set_sentiment_score((i % 5) + 1);
        env.mutable_event()->set_sentiment_scale(pb::SENTIMENT_SCALE_CSAT_5);
      }
      Append(env);
      ++total_events;
    }
  }
  stream::ConsumerOptions opts;
  opts.group = "journey";
  opts.replica_id = "r1";
  opts.partitions = kPartitions;
  opts.batch_size = 16;
  opts.lease_refresh = absl::Milliseconds(50);
  opts.block_read = absl::Milliseconds(50);  // one blocking read over the partitions, as the binary does
  auto map_of = [&](const std::string& segment) {
    sv1::GetJourneyMapRequest req;
    req.set_segment(segment);
    SetTimestamp(clock_.Now() - absl::Hours(48), req.mutable_range()->mutable_from());
    SetTimestamp(clock_.Now() + absl::Hours(48), req.mutable_range()->mutable_to());
    auto m = logic_->GetJourneyMap(req);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : sv1::JourneyMap();
  };
  auto touchpoints_of = [](const sv1::JourneyMap& m) {
    std::map<std::string, long long> by_event;
    for (const auto& t : m.touchpoints()) by_event[t.event_name()] += t.count();
    return by_event;
  };
  {
    stream::PartitionedConsumer consumer(redis_.get(), applier_.get(), opts);
    consumer.Start();
    ASSERT_TRUE(testing::PollUntil([&] {
      long long n = 0;
      for (const auto& [name, c] : touchpoints_of(map_of(""))) n += c;
      return n == total_events;
    })) << "not all " << total_events << " events applied";
    consumer.Stop();
  }
  clock_.Advance(absl::Hours(25));
  for (uint32_t p = 0; p < kPartitions; ++p) ASSERT_TRUE(applier_->FireDueTimers(p, clock_.Now()).ok());

  for (const auto& [segment, e] : expected) {
    SCOPED_TRACE(segment.empty() ? "overall" : segment);
    const sv1::JourneyMap m = map_of(segment);
    EXPECT_EQ(touchpoints_of(m), e.events);
    ASSERT_EQ(m.funnel().steps_size(), 6);
    EXPECT_EQ(m.funnel().steps(1).customers(), e.members);
    EXPECT_EQ(m.funnel().steps(2).customers(), e.reached_decision);
    EXPECT_EQ(m.funnel().steps(3).customers(), e.reached_purchase);
    std::map<std::tuple<std::string, std::string, int>, long long> flows;
    for (const auto& f : m.flows()) flows[{f.from_stage(), f.to_stage(), f.kind()}] = f.customers();
    EXPECT_EQ((flows[{"", "CONSIDERATION", pb::TRANSITION_KIND_ENTRY}]), e.members);
    EXPECT_EQ((flows[{"CONSIDERATION", "DECISION", pb::TRANSITION_KIND_FORWARD}]), e.reached_decision);
    EXPECT_EQ((flows[{"DECISION", "PURCHASE", pb::TRANSITION_KIND_FORWARD}]), e.reached_purchase);
    EXPECT_EQ((flows[{"DECISION", "DECISION", pb::TRANSITION_KIND_ABANDONED}]), e.abandoned);
    ASSERT_EQ(m.stage_stats_size(), 6);
    EXPECT_EQ(m.stage_stats(2).abandoned(), e.abandoned);
    EXPECT_EQ(m.stage_stats(3).sentiment_samples(), e.sentiment_n);
    EXPECT_NEAR(m.stage_stats(3).sentiment_mean(), e.sentiment_n ? e.sentiment_sum / e.sentiment_n : 0, 1e-9);
    // The abandoned carts are blamed on the touchpoint that left them: the top pain point.
    ASSERT_GT(m.pain_points_size(), 0);
    EXPECT_EQ(m.pain_points(0).stage(), "DECISION");
    EXPECT_EQ(m.pain_points(0).event_name(), "Product Added");
    EXPECT_EQ(m.pain_points(0).customers_lost(), e.abandoned);
  }
  EXPECT_NE(expected["vip"].members, expected["email-openers"].members);
  EXPECT_EQ(map_of("nobody").touchpoints_size(), 0);
  EXPECT_EQ(map_of("nobody").funnel().steps(1).customers(), 0);
  sv1::GetJourneyMapRequest too_long;
  too_long.set_segment(std::string(300, 's'));
  EXPECT_EQ(logic_->GetJourneyMap(too_long).status().code(), absl::StatusCode::kInvalidArgument);
}

// The applier keeps a partition's snapshots between batches: whatever else writes the
// partition's customers (another replica after a handover, a timer fired here or elsewhere)
// is seen by the next batch, never overwritten with the cached copy.
TEST_F(JourneyRedisTest, CachedSnapshotsGiveWayToOtherWriters) {
  const std::string x = UserIn("cache-x", 1), y = UserIn("cache-y", 1);
  JourneyApplier other(redis_.get(), definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event(x, "Product Viewed"), Event(y, "Product Added")}, 1)).ok());
  // Another replica applies the next entries (a lease handover and back).
  ASSERT_TRUE(other.ApplyBatch(1, Entries({Event(x, "Product Added", absl::Minutes(1))}, 3)).ok());
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event(x, "Order Completed", absl::Minutes(2))}, 5)).ok());
  auto jx = Journey(x);
  ASSERT_TRUE(jx.has_value());
  EXPECT_EQ(jx->stage(), "PURCHASE");
  std::vector<std::string> stages;
  for (const auto& h : jx->history()) stages.push_back(h.stage());
  EXPECT_NE(std::find(stages.begin(), stages.end(), "DECISION"), stages.end()) << "the other replica's step was lost";
  // y's cart timer fires on the other replica, then on this one for a second customer.
  clock_.Advance(absl::Hours(25));
  ASSERT_EQ(other.FireDueTimers(1, clock_.Now()).value_or(-1), 1);
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event(y, "Product Viewed")}, 7)).ok());
  auto jy = Journey(y);
  ASSERT_TRUE(jy.has_value());
  EXPECT_TRUE(jy->has_abandoned_at()) << "the fired timer's state was overwritten";
  const std::string z = UserIn("cache-z", 1);
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event(z, "Product Added")}, 9)).ok());
  clock_.Advance(absl::Hours(25));
  // z's timer and y's again (y stayed in DECISION, re-armed by the view).
  ASSERT_EQ(applier_->FireDueTimers(1, clock_.Now()).value_or(-1), 2);
  ASSERT_TRUE(applier_->ApplyBatch(1, Entries({Event(z, "Product Viewed")}, 11)).ok());
  auto jz = Journey(z);
  ASSERT_TRUE(jz.has_value());
  EXPECT_TRUE(jz->has_abandoned_at());
  EXPECT_EQ(Funnel().steps(2).abandoned(), 3);
}

// The canonical customer of a merge lives in another partition, whose owner applies their
// events at the same moment: neither write may overwrite the other.
TEST_F(JourneyRedisTest, ACrossPartitionMergeAndTheCustomersOwnBatchDoNotOverwriteEachOther) {
  const std::string anon = UserIn("anon-x", 0);
  const std::string known = UserIn("known-x", 0, true);
  const uint32_t known_p = keys::PartitionOf(known, kPartitions);
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event(anon, "Product Viewed")}, 1)).ok());
  ASSERT_TRUE(applier_->ApplyBatch(known_p, Entries({Event(known, "Page Viewed")}, 1)).ok());
  auto merge = Entries({MergeOf(anon, known)}, 2);
  auto own = Entries({Event(known, "Product Added", absl::Minutes(2))}, 2);

  // 1. The customer's partition read them, then the merge lands: its batch is refused, and
  //    applied again on top of the merge.
  InterleavingRedis merge_first(redis_.get(), [&] { ASSERT_TRUE(applier_->ApplyBatch(0, merge).ok()); });
  JourneyApplier owner(&merge_first, definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  EXPECT_EQ(owner.ApplyBatch(known_p, own).code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(owner.ApplyBatch(known_p, own).ok());  // redelivered
  auto j = Journey(known);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->touchpoints_size(), 3);  // the visitor's view, the page, the add
  EXPECT_EQ(j->stage(), "DECISION");
  ASSERT_EQ(j->merged_ids_size(), 1);

  // 2. The merge read the customer, then their own partition applied an event: the merge's
  //    write is refused (compare-and-set) and applied again on top of it.
  const std::string anon2 = UserIn("anon-y", 0);
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event(anon2, "Product Viewed")}, 10)).ok());
  auto merge2 = Entries({MergeOf(anon2, known)}, 11);
  auto own2 = Entries({Event(known, "Order Completed", absl::Minutes(3))}, 3);
  InterleavingRedis own_first(redis_.get(), [&] { ASSERT_TRUE(applier_->ApplyBatch(known_p, own2).ok()); });
  JourneyApplier merger(&own_first, definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  EXPECT_EQ(merger.ApplyBatch(0, merge2).code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(merger.ApplyBatch(0, merge2).ok());
  j = Journey(known);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->stage(), "PURCHASE");
  EXPECT_EQ(j->touchpoints_size(), 5);
  EXPECT_EQ(j->merged_ids_size(), 2);
  EXPECT_FALSE(Journey(anon2).has_value());
  sv1::Funnel f = Funnel();
  EXPECT_EQ(f.steps(0).customers(), 1);  // one person, three ids
  EXPECT_EQ(f.steps(3).customers(), 1);
}

TEST_F(JourneyRedisTest, EraseDropsTheJourney) {
  pb::EventEnvelope erase;
  erase.set_kind(pb::ENVELOPE_KIND_ERASE);
  erase.set_workspace_id("default");
  erase.set_canonical_user_id("u5");
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("u5", "Product Added"), erase})).ok());
  EXPECT_FALSE(Journey("u5").has_value());
  auto timers = redis_->Command({"ZCARD", keys::JourneyTimers(keys::PartitionOf("u5", kPartitions))});
  EXPECT_EQ(timers->integer, 0);
}

TEST_F(JourneyRedisTest, InactivityTimerFiresOnceWithoutAnEventAcrossReplicas) {
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("u6", "Product Added")})).ok());
  const uint32_t p = keys::PartitionOf("u6", kPartitions);
  auto early = applier_->FireDueTimers(p, clock_.Now() + absl::Hours(23));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, 0);
  clock_.Advance(absl::Hours(25));
  // A second replica (its own applier) races the first for the same timer.
  JourneyApplier other(redis_.get(), definitions_.get(), &clock_, ApplierOptions{"default", kPartitions, 100000});
  int fired = 0;
  std::thread t([&] { fired += other.FireDueTimers(p, clock_.Now()).value_or(0); });
  int mine = applier_->FireDueTimers(p, clock_.Now()).value_or(0);
  t.join();
  EXPECT_EQ(fired + mine, 1);
  EXPECT_EQ(*applier_->FireDueTimers(p, clock_.Now() + absl::Hours(100)), 0);
  auto j = Journey("u6");
  EXPECT_TRUE(j->abandoned());
  EXPECT_EQ(j->abandoned_stage(), "DECISION");
  sv1::Funnel f = Funnel();
  EXPECT_EQ(f.steps(2).abandoned(), 1);
  sv1::GetJourneyMapRequest req;
  SetTimestamp(clock_.Now() - absl::Hours(72), req.mutable_range()->mutable_from());
  SetTimestamp(clock_.Now() + absl::Hours(1), req.mutable_range()->mutable_to());
  auto map = logic_->GetJourneyMap(req);
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_GE(map->pain_points_size(), 1);
  EXPECT_EQ(map->pain_points(0).stage(), "DECISION");
  EXPECT_EQ(map->pain_points(0).customers_lost(), 1);
  bool abandoned_flow = false;
  for (const auto& flow : map->flows()) abandoned_flow |= flow.kind() == pb::TRANSITION_KIND_ABANDONED;
  EXPECT_TRUE(abandoned_flow);
}

TEST_F(JourneyRedisTest, TransitionsResumeFromACursorWithoutGaps) {
  auto start = logic_->ResolveCursor("");
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event("u7", "Page Viewed"), Event("u7", "Product Viewed"),
                                               Event("u7", "Product Added"), Event("u7", "Order Completed")}))
                  .ok());
  auto first = logic_->ReadTransitions(*start, 2, absl::Milliseconds(1));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  auto rest = logic_->ReadTransitions(first->back().cursor(), 100, absl::Milliseconds(1));
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*first)[1].to_stage(), "CONSIDERATION");
  EXPECT_EQ((*rest)[0].from_stage(), "CONSIDERATION");
  EXPECT_EQ((*rest)[0].to_stage(), "DECISION");
  EXPECT_FALSE(logic_->ResolveCursor("nope").ok());
}

TEST_F(JourneyRedisTest, AppliedDefinitionReachesOtherReplicas) {
  sv1::ApplyDefinitionRequest bad;
  bad.set_yaml("id: default\nstages: [A]\n");
  auto invalid = logic_->ApplyDefinition(bad, false);
  EXPECT_FALSE(invalid.valid());
  ASSERT_FALSE(invalid.errors().empty());
  sv1::ApplyDefinitionRequest req;
  req.set_yaml("id: default\nstages: [AWARENESS, CONSIDERATION, VIP]\nrules:\n  - event: Product Viewed\n"
               "    to: CONSIDERATION\n  - event: Order Completed\n    when: revenue > 100\n    to: VIP\n");
  auto validated = logic_->ApplyDefinition(req, true);
  EXPECT_TRUE(validated.valid()) << (validated.errors().empty() ? "" : validated.errors(0));
  EXPECT_EQ(definitions_->Current()->version(), 1);
  auto applied = logic_->ApplyDefinition(req, false);
  ASSERT_TRUE(applied.valid());
  EXPECT_EQ(applied.version(), 2);
  // Another replica still on version 1 adopts version 2 on refresh.
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  DefinitionStore other(redis_.get(), &clock_, "default", *CompiledDefinition::Compile(*def));
  ASSERT_TRUE(other.Refresh().ok());
  EXPECT_EQ(other.Current()->version(), 2);
  EXPECT_EQ(other.Current()->stage(2), "VIP");
  pb::EventEnvelope small = Event("u8", "Order Completed");
  small.mutable_event()->set_revenue(50);
  pb::EventEnvelope big = Event("u9", "Order Completed");
  big.mutable_event()->set_revenue(500);
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({small, big})).ok());
  EXPECT_EQ(Journey("u8")->stage(), "AWARENESS");
  EXPECT_EQ(Journey("u9")->stage(), "VIP");
}

TEST_F(JourneyRedisTest, DefinitionHistoryKeepsTheNewestVersionsWithTheirTimes) {
  auto def = definitions_->Current()->proto();
  const int applies = DefinitionStore::kMaxStoredVersions + 3;
  for (int i = 0; i < applies; ++i) {
    clock_.Advance(absl::Minutes(1));
    def.set_version(0);
    ASSERT_TRUE(definitions_->Apply(def, false).ok());
  }
  auto listed = definitions_->List("default");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(static_cast<int>(listed->size()), DefinitionStore::kMaxStoredVersions);
  // Newest first: the file's version 1 and the oldest applied ones dropped.
  EXPECT_EQ(listed->front().version(), applies + 1);
  EXPECT_TRUE(listed->front().active());
  EXPECT_EQ(listed->back().version(), applies + 1 - DefinitionStore::kMaxStoredVersions + 1);
  EXPECT_FALSE(listed->back().active());
  EXPECT_EQ(listed->front().applied_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(listed->front().applied_at().seconds() - (*listed)[1].applied_at().seconds(), 60);
}

}  // namespace
}  // namespace journey::journey_state
