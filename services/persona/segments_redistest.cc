// Segments, RFM and CRM sync against a real redis-server: incremental membership equals a
// full recomputation, scheduled re-evaluation, RFM over a population, a watcher that resumes
// without gaps, idempotent upserts, consent, and erasure that leaves no key behind.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/persona/crm_sync.h"
#include "services/persona/membership_engine.h"
#include "services/persona/membership_scheduler.h"
#include "services/persona/profile_stream_handler.h"
#include "services/persona/proto_time.h"
#include "services/persona/segment_files.h"
#include "services/persona/segment_triggers.h"
#include "tests/testing/redis_server.h"

namespace journey::persona {
namespace {

constexpr int kPartitions = 4;
constexpr char kSegments[] = R"(
segments:
  - id: repeat_buyers
    condition: {event_count: {event: Order Completed, op: ">=", count: 2, window: 7d}}
  - id: viewers
    condition: {event_count: {event: Product Viewed, op: ">=", count: 1, window: 1d}}
  - id: gold
    condition: {compare: {attribute: trait.plan, op: "==", value: gold}}
  - id: marketable
    condition: {compare: {attribute: consent.marketing, op: "==", value: true}}
  - id: champions
    condition: {compare: {attribute: rfm.persona, op: "==", value: Champions}}
  - id: big_spender
    persona: true
    priority: 2
    condition: {all: [{compare: {attribute: computed.revenue, op: ">=", value: 100}}]}
  - id: browser
    persona: true
    priority: 1
    condition: {all: [{event_count: {event: Product Viewed, op: ">=", count: 1}}]}
)";

class SegmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    clock_.Advance(absl::Hours(12));  // midday: "1 minute ago" is today for the 1-day windows
    storage::HiredisOptions options;
    options.endpoint.port = redis_.port();
    auto client = storage::HiredisClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    catalog_ = std::make_unique<SegmentCatalog>(client_.get(), &clock_, CatalogOptions{absl::ZeroDuration()});
    auto defs = ParseSegmentDefinitions(kSegments);
    ASSERT_TRUE(defs.ok()) << defs.status();
    for (const auto& d : *defs) ASSERT_TRUE(catalog_->Apply("default", d).ok()) << d.id();
    store_ = std::make_unique<ProfileStore>(client_.get());
    engine_ = std::make_unique<MembershipEngine>(catalog_.get());
    handler_ = std::make_unique<ProfileStreamHandler>(store_.get(), &aggregator_, engine_.get(), &clock_);
    logic_ = std::make_unique<PersonaLogic>(store_.get(), &aggregator_, engine_.get(), &clock_, PersonaLogicOptions{});
    crm_ = std::make_unique<CrmSync>(store_.get(), logic_.get(), engine_.get(), CrmOptions{kPartitions});
    scheduler_ = std::make_unique<MembershipScheduler>(store_.get(), catalog_.get(), logic_.get(), &aggregator_,
                                                       SchedulerOptions{"test"});
  }

  // Applies envelopes as the consumer would (one batch per partition) and remembers them
  // per user for the full recomputation.
  void Feed(const std::vector<cpb::EventEnvelope>& envs) {
    std::map<uint32_t, std::vector<stream::StreamEntry>> batches;
    for (const auto& env : envs) {
      const uint32_t p = keys::PartitionOf(env.canonical_user_id(), kPartitions);
      auto id = client_->Command({"XADD", keys::EventStream(p), "*", "e", env.SerializeAsString()});
      ASSERT_TRUE(id.ok());
      batches[p].push_back({id->str, env});
      history_[env.canonical_user_id()].push_back(env);
    }
    for (auto& [p, entries] : batches) ASSERT_TRUE(handler_->ApplyBatch(p, entries).ok());
  }

  cpb::EventEnvelope Ev(const std::string& uid, const std::string& name, absl::Duration ago, double revenue = 0) {
    cpb::EventEnvelope env;
    env.set_kind(cpb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    auto* e = env.mutable_event();
    e->set_type(cpb::EVENT_TYPE_TRACK);
    e->set_name(name);
    e->set_message_id(absl::StrCat(uid, "-", ++seq_));
    if (revenue > 0) {
      e->set_order_id(absl::StrCat("o-", seq_));
      e->set_revenue(revenue);
    }
    ToProto(clock_.Now() - ago, e->mutable_timestamp());
    return env;
  }

  // Membership from scratch: replay the user's events into an empty record and evaluate.
  std::vector<std::string> Recomputed(const std::string& uid) {
    pb::ProfileRecord r;
    r.mutable_profile()->set_user_id(uid);
    for (const auto& env : history_[uid]) {
      aggregator_.ApplyEvent(env.event(), ProfileAggregator::EventTime(env, clock_.Now()), clock_.Now(), &r);
    }
    aggregator_.Refresh(clock_.Now(), &r);
    MembershipEngine::EvaluateWith(*catalog_->Get("default"), clock_.Now(), false, &r);
    return {r.profile().segments().begin(), r.profile().segments().end()};
  }

  std::vector<std::string> Stored(const std::string& uid) {
    auto p = logic_->GetProfile(uid, "");
    EXPECT_TRUE(p.ok());
    return {p->segments().begin(), p->segments().end()};
  }

  std::vector<pb::SegmentChange> AllChanges(const std::string& from = "0") {
    auto start = crm_->StartCursor(from);
    EXPECT_TRUE(start.ok()) << start.status();
    std::vector<pb::SegmentChange> out;
    std::string at = *start;
    while (true) {
      auto batch = crm_->ReadChanges(at, 3, absl::Milliseconds(1));
      EXPECT_TRUE(batch.ok());
      if (batch->empty()) return out;
      for (auto& c : *batch) {
        at = c.cursor();
        out.push_back(c);
      }
    }
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<storage::HiredisClient> client_;
  ManualClock clock_;
  ProfileAggregator aggregator_;
  std::unique_ptr<SegmentCatalog> catalog_;
  std::unique_ptr<ProfileStore> store_;
  std::unique_ptr<MembershipEngine> engine_;
  std::unique_ptr<ProfileStreamHandler> handler_;
  std::unique_ptr<PersonaLogic> logic_;
  std::unique_ptr<CrmSync> crm_;
  std::unique_ptr<MembershipScheduler> scheduler_;
  std::map<std::string, std::vector<cpb::EventEnvelope>> history_;
  int seq_ = 0;
};

TEST_F(SegmentsTest, IncrementalMembershipEqualsFullRecomputation) {
  std::vector<std::string> users;
  for (int u = 0; u < 12; ++u) users.push_back(absl::StrCat("user-", u));
  // Several rounds of mixed events, each applied incrementally.
  for (int round = 0; round < 4; ++round) {
    std::vector<cpb::EventEnvelope> envs;
    for (int u = 0; u < 12; ++u) {
      if ((u + round) % 3 == 0) envs.push_back(Ev(users[u], "Order Completed", absl::Hours(u), 20.0 * (u + 1)));
      if ((u * round) % 4 == 1) envs.push_back(Ev(users[u], "Product Viewed", absl::Minutes(u)));
    }
    Feed(envs);
    clock_.Advance(absl::Hours(20));
  }
  for (const auto& u : users) {
    // Time moved since the last event: the scheduled pass brings stored membership up to date.
    (void)u;
  }
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  for (const auto& u : users) EXPECT_EQ(Stored(u), Recomputed(u)) << u;
  // And again after windows slid past every event.
  clock_.Advance(absl::Hours(24 * 8));
  auto run = scheduler_->RunOnce();
  ASSERT_TRUE(run.ok());
  EXPECT_GT(run->rewritten, 0);
  for (const auto& u : users) EXPECT_EQ(Stored(u), Recomputed(u)) << u;
  int with_segments = 0;
  for (const auto& u : users) with_segments += Stored(u).empty() ? 0 : 1;
  EXPECT_GT(with_segments, 0);
}

TEST_F(SegmentsTest, PersonaPrimaryByPriorityWithScores) {
  Feed({Ev("p-1", "Product Viewed", absl::Minutes(5)), Ev("p-1", "Order Completed", absl::Minutes(1), 150)});
  auto p = logic_->GetProfile("p-1", "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->persona(), "big_spender");
  EXPECT_DOUBLE_EQ(p->persona_scores().at("browser"), 1.0);
  EXPECT_DOUBLE_EQ(p->persona_scores().at("big_spender"), 1.0);
  auto view = client_->Command({"HGET", keys::View("default", "p-1"), "persona"});
  cpb::PersonaSnapshot snap;
  ASSERT_TRUE(view.ok() && snap.ParseFromString(view->str));
  EXPECT_EQ(snap.persona(), "big_spender");
}

TEST_F(SegmentsTest, RfmScoresAgainstHandComputedPopulation) {
  // Five customers: customer i ordered i times, the last order i days ago, 100*i in total.
  std::vector<cpb::EventEnvelope> envs;
  for (int i = 1; i <= 5; ++i) {
    for (int k = 0; k < i; ++k) {
      envs.push_back(Ev(absl::StrCat("c-", i), "Order Completed", absl::Hours(24 * i + k), 100.0 * i / i));
    }
  }
  Feed(envs);
  auto run = scheduler_->RunOnce();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->customers, 5);
  // Sorted values 1..5 (days, orders): boundaries at indexes 0,1,2,3 = 1,2,3,4.
  // Customer 1: 1 day -> R5, 1 order -> F1, revenue 100 -> M1: New.
  auto c1 = logic_->GetProfile("c-1", "");
  EXPECT_EQ(c1->rfm().recency(), 5);
  EXPECT_EQ(c1->rfm().frequency(), 1);
  EXPECT_EQ(c1->rfm().monetary(), 1);
  EXPECT_EQ(c1->rfm().persona(), "New");
  auto c5 = logic_->GetProfile("c-5", "");
  EXPECT_EQ(c5->rfm().recency(), 1);
  EXPECT_EQ(c5->rfm().frequency(), 5);
  EXPECT_EQ(c5->rfm().monetary(), 5);
  EXPECT_EQ(c5->rfm().persona(), "Cannot Lose Them");
  auto c3 = logic_->GetProfile("c-3", "");
  EXPECT_EQ(c3->rfm().recency(), 3);
  EXPECT_EQ(c3->rfm().frequency(), 3);
  EXPECT_EQ(c3->rfm().persona(), "Needs Attention");
  // Scores apply incrementally between runs: a new order makes customer 1 score F2.
  Feed({Ev("c-1", "Order Completed", absl::Minutes(1), 10)});
  EXPECT_EQ(logic_->GetProfile("c-1", "")->rfm().frequency(), 2);
}

TEST_F(SegmentsTest, WatcherResumesFromItsCursorWithoutGapsOrDuplicates) {
  Feed({Ev("w-1", "Product Viewed", absl::Minutes(1))});
  Feed({Ev("w-2", "Product Viewed", absl::Minutes(1))});
  // The CRM reads what exists, then "disconnects" after two changes.
  auto start = crm_->StartCursor("0");
  ASSERT_TRUE(start.ok());
  auto first = crm_->ReadChanges(*start, 2, absl::Milliseconds(1));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  const std::string saved = first->back().cursor();
  // Changes happen while it is away.
  Feed({Ev("w-3", "Product Viewed", absl::Minutes(1))});
  pb::SetConsentRequest consent;
  consent.set_user_id("w-1");
  consent.set_purpose("marketing");
  consent.set_granted(true);
  ASSERT_TRUE(crm_->SetConsent(consent).ok());
  clock_.Advance(absl::Hours(48));
  ASSERT_TRUE(scheduler_->RunOnce().ok());  // everyone leaves "viewers"
  auto resumed = AllChanges(saved);
  std::vector<pb::SegmentChange> all = AllChanges("0");
  ASSERT_EQ(first->size() + resumed.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& got = i < first->size() ? (*first)[i] : resumed[i - first->size()];
    EXPECT_EQ(got.sequence(), all[i].sequence());
    EXPECT_EQ(got.sequence(), static_cast<int64_t>(i + 1)) << "sequences have no gaps";
  }
  // What the CRM saw adds up to the current membership.
  std::map<std::pair<std::string, std::string>, bool> member;
  for (const auto& c : all) member[{c.user_id(), c.segment()}] = c.entered();
  for (const char* u : {"w-1", "w-2", "w-3"}) {
    std::set<std::string> seen;
    for (const auto& [k, in] : member) {
      if (k.first == u && in) seen.insert(k.second);
    }
    auto stored = Stored(u);
    EXPECT_EQ(seen, std::set<std::string>(stored.begin(), stored.end())) << u;
  }
  EXPECT_TRUE(member[std::make_pair(std::string("w-1"), std::string("marketable"))]);
  EXPECT_FALSE(member[std::make_pair(std::string("w-2"), std::string("viewers"))]);
  // A cursor from a trimmed part of the stream is refused rather than silently skipped.
  ASSERT_TRUE(client_->Command({"XTRIM", keys::SegmentChanges("default"), "MAXLEN", "1"}).ok());
  EXPECT_EQ(crm_->StartCursor(saved).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(SegmentsTest, JourneyStageMovedWithoutAPersonaEventIsPickedUpOnSchedule) {
  auto deciding = ParseSegmentDefinitions(
      "id: deciding\ncondition: {compare: {attribute: journey.stage, op: \"==\", value: DECISION}}\n");
  ASSERT_TRUE(deciding.ok()) << deciding.status();
  ASSERT_TRUE(catalog_->Apply("default", (*deciding)[0]).ok());
  Feed({Ev("j-1", "Product Added", absl::Minutes(1))});
  EXPECT_TRUE(Stored("j-1").empty());  // journey had not written its snapshot yet
  // Journey applies the same event afterwards and writes its snapshot into the shared view.
  cpb::JourneySnapshot journey;
  journey.set_user_id("j-1");
  journey.set_stage("DECISION");
  ASSERT_TRUE(client_->Command({"HSET", keys::View("default", "j-1"), "journey", journey.SerializeAsString()}).ok());
  auto run = scheduler_->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->rewritten, 1);
  EXPECT_EQ(Stored("j-1"), std::vector<std::string>{"deciding"});
  auto view = client_->Command({"HGET", keys::View("default", "j-1"), "persona"});
  cpb::PersonaSnapshot snap;
  ASSERT_TRUE(view.ok() && snap.ParseFromString(view->str));
  EXPECT_EQ(snap.journey_stage(), "DECISION");
  std::vector<pb::SegmentChange> changes = AllChanges("0");
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().segment(), "deciding");
  EXPECT_TRUE(changes.back().entered());
  // Nothing moved since: the next pass writes nothing.
  auto again = scheduler_->RunOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rewritten, 0);
}

TEST_F(SegmentsTest, UpsertsAreIdempotentByExternalIdAndExplainRejections) {
  std::vector<pb::UpsertProfileRequest> batch(3);
  batch[0].set_external_id("crm-1");
  (*batch[0].mutable_traits())["plan"].set_string_value("gold");
  (*batch[0].mutable_consent())["marketing"] = true;
  batch[1].set_external_id("");  // rejected
  batch[2].set_external_id("crm-2");
  batch[2].set_user_id("u-known");
  (*batch[2].mutable_traits())["bad"];  // no value: rejected
  pb::UpsertProfilesSummary summary;
  ASSERT_TRUE(crm_->UpsertBatch(batch, 0, &summary).ok());
  EXPECT_EQ(summary.received(), 3);
  EXPECT_EQ(summary.accepted(), 1);
  EXPECT_EQ(summary.rejected(), 2);
  EXPECT_EQ(summary.rejections(0).field(), "external_id");
  EXPECT_EQ(summary.rejections(1).field(), "traits.bad");
  EXPECT_EQ(summary.rejections(1).index(), 2);
  // The same record again: the same profile, nothing duplicated.
  ASSERT_TRUE(crm_->UpsertBatch({batch[0]}, 3, &summary).ok());
  auto p = logic_->GetProfile("crm-1", "");
  ASSERT_TRUE(p.ok() && p->found());
  EXPECT_EQ(p->external_id(), "crm-1");
  EXPECT_EQ(p->traits().at("plan").source(), "crm");
  EXPECT_EQ(std::vector<std::string>(p->segments().begin(), p->segments().end()),
            (std::vector<std::string>{"gold", "marketable"}));
  auto scan = client_->Command({"SCAN", "0", "MATCH", keys::ProfilePattern("default"), "COUNT", "1000"});
  EXPECT_EQ(scan->elements[1].elements.size(), 1u);
  int entered_gold = 0;
  for (const auto& c : AllChanges()) entered_gold += c.segment() == "gold" && c.entered();
  EXPECT_EQ(entered_gold, 1);
}

TEST_F(SegmentsTest, ErasureLeavesNoKeyBehind) {
  Feed({Ev("anon-e", "Product Viewed", absl::Minutes(3))});
  cpb::EventEnvelope merge;
  merge.set_kind(cpb::ENVELOPE_KIND_MERGE);
  merge.set_workspace_id("default");
  merge.set_canonical_user_id("erase-me");
  merge.set_previous_id("anon-e");
  Feed({merge, Ev("erase-me", "Order Completed", absl::Minutes(1), 150)});
  pb::UpsertProfileRequest up;
  up.set_external_id("ext-e");
  up.set_user_id("erase-me");
  (*up.mutable_traits())["plan"].set_string_value("gold");
  pb::UpsertProfilesSummary summary;
  ASSERT_TRUE(crm_->UpsertBatch({up}, 0, &summary).ok());
  auto exported = crm_->ExportProfile("erase-me");
  ASSERT_TRUE(exported.ok());
  EXPECT_GE(exported->keys_size(), 4);

  auto deleted = crm_->DeleteProfile("erase-me");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GE(*deleted, 3);
  for (const char* id : {"erase-me", "anon-e", "ext-e"}) {
    auto scan = client_->Command({"SCAN", "0", "MATCH", absl::StrCat("*", id, "*"), "COUNT", "10000"});
    ASSERT_TRUE(scan.ok());
    EXPECT_TRUE(scan->elements[1].elements.empty()) << id << ": " << scan->elements[1].elements[0].str;
  }
  EXPECT_FALSE(logic_->GetProfile("erase-me", "")->found());
  // The ERASE envelope is on the user's partition for journey and recommend.
  const uint32_t p = keys::PartitionOf("erase-me", kPartitions);
  auto last = client_->Command({"XREVRANGE", keys::EventStream(p), "+", "-", "COUNT", "1"});
  cpb::EventEnvelope env;
  ASSERT_TRUE(env.ParseFromString(last->elements[0].elements[1].elements[1].str));
  EXPECT_EQ(env.kind(), cpb::ENVELOPE_KIND_ERASE);
  EXPECT_EQ(env.canonical_user_id(), "erase-me");
  // The CRM hears that the person left their segments.
  std::set<std::string> left;
  for (const auto& c : AllChanges()) {
    if (c.user_id() == "erase-me" && !c.entered()) left.insert(c.segment());
  }
  EXPECT_TRUE(left.count("gold"));
  EXPECT_TRUE(left.count("big_spender"));
}

TEST_F(SegmentsTest, ExportSegmentStreamsEachMemberOnce) {
  std::vector<cpb::EventEnvelope> envs;
  for (int i = 0; i < 30; ++i) envs.push_back(Ev(absl::StrCat("x-", i), "Product Viewed", absl::Minutes(1)));
  Feed(envs);
  std::set<std::string> got;
  int calls = 0;
  ASSERT_TRUE(crm_->ExportSegment("viewers", {"viewers"}, [&](const pb::Profile& p) {
                    ++calls;
                    got.insert(p.user_id());
                    return true;
                  }).ok());
  EXPECT_EQ(got.size(), 30u);
  EXPECT_EQ(calls, 30);
  EXPECT_EQ(crm_->ExportSegment("nope", {"viewers"}, [](const pb::Profile&) { return true; }).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace journey::persona

namespace journey::persona {
namespace {

TEST_F(SegmentsTest, SegmentEntryFiresItsTriggerOnce) {
  auto triggers = orchestration::ParseTriggerYaml(R"(
triggers:
  - {id: welcome-viewer, on: segment_entered, segment: viewers, message: "Welcome back", channel: app}
  - {id: bye-gold, on: segment_exited, segment: gold, message: "Miss you", channel: app}
)", "t.yaml");
  ASSERT_TRUE(triggers.ok()) << triggers.status();
  triggers->holdout.share_bp = 0;
  orchestration::ActionOutbox outbox(client_.get(), &clock_, *triggers);
  SegmentTriggers segment_triggers(&outbox, kPartitions);
  ASSERT_TRUE(segment_triggers.any());
  store_->SetPublishedListener(
      [&](const std::vector<const ProfileWrite*>& writes) { return segment_triggers.OnPublished(writes); });
  Feed({Ev("st-1", "Product Viewed", absl::Minutes(1))});
  Feed({Ev("st-1", "Product Viewed", absl::Minutes(1))});  // still a viewer: no change, no action
  const uint32_t p = keys::PartitionOf("st-1", kPartitions);
  auto r = client_->Command({"XRANGE", keys::ActionStream(p), "-", "+"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->elements.size(), 1u);
  cpb::Action a;
  ASSERT_TRUE(a.ParseFromString(r->elements[0].elements[1].elements[1].str));
  EXPECT_EQ(a.trigger_id(), "welcome-viewer");
  EXPECT_EQ(a.user_id(), "st-1");
  EXPECT_EQ(a.cause(), cpb::ACTION_CAUSE_SEGMENT_ENTRY);
  EXPECT_EQ(a.reason(), "segment viewers entered");
  auto counts = orchestration::ReadActionCounts(client_.get(), "default");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["sent||welcome-viewer"], 1);
}

}  // namespace
}  // namespace journey::persona
