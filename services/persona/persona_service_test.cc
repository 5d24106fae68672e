// The journey-persona binary seen from its gRPC clients (a CRM, a marketer's tool, an
// operator): profiles built from the event stream, segment admin, CRM upserts with their
// summary, segment export, a change feed resumed after a disconnect and a restart, erasure
// that leaves no key of the user behind, and the access export. Events are appended to the
// stream as ingest appends them; everything else goes through the public RPCs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::persona {
namespace {

namespace pb = ::journey::persona::v1;
namespace cpb = ::journey::common::v1;

constexpr int kPartitions = 4;
constexpr char kSegments[] = R"(segments:
  - id: gold
    condition: {compare: {attribute: trait.plan, op: "==", value: gold}}
  - id: buyers
    condition: {event_count: {event: Order Completed, op: ">=", count: 1, window: 30d}}
  - id: deciding
    condition: {compare: {attribute: journey.stage, op: "==", value: DECISION}}
  - id: big_spender
    persona: true
    priority: 2
    condition: {all: [{compare: {attribute: computed.revenue, op: ">=", value: 100}},
                      {compare: {attribute: computed.orders, op: ">=", value: 2}}]}
)";

class PersonaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    char tmpl[] = "/tmp/persona-config-XXXXXX";
    config_dir_ = mkdtemp(tmpl);
    ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", config_dir_, "/segments").c_str()), 0);
    std::ofstream(absl::StrCat(config_dir_, "/segments/test.yaml")) << kSegments;
    persona_ = std::make_unique<journey::testing::ServiceProcess>(
        "persona", redis_.url(),
        std::map<std::string, std::string>{{"partitions", std::to_string(kPartitions)},
                                           {"config_dir", config_dir_},
                                           {"persona_reevaluate_interval_s", "3600"}});
    ASSERT_TRUE(persona_->Start().ok()) << persona_->LogTail();
    stub_ = pb::Persona::NewStub(persona_->channel());
    auto client = storage::HiredisClient::FromUrl(redis_.url(), 1);
    ASSERT_TRUE(client.ok());
    redis_client_ = std::move(*client);
  }

  void TearDown() override {
    if (persona_) EXPECT_EQ(persona_->Stop(), 0) << persona_->LogTail();
    std::system(absl::StrCat("rm -rf ", config_dir_).c_str());
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration deadline = absl::Seconds(10)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return ctx;
  }

  // XADD as ingest does: to the partition of the canonical user id.
  void Append(const cpb::EventEnvelope& env) {
    const uint32_t p = keys::PartitionOf(env.canonical_user_id(), kPartitions);
    auto r = redis_client_->Command({"XADD", keys::EventStream(p), "*", "e", env.SerializeAsString()});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  cpb::EventEnvelope Track(const std::string& uid, const std::string& name) {
    cpb::EventEnvelope env;
    env.set_kind(cpb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    env.set_partition(keys::PartitionOf(uid, kPartitions));
    cpb::Event* e = env.mutable_event();
    e->set_type(cpb::EVENT_TYPE_TRACK);
    e->set_user_id(uid);
    e->set_name(name);
    e->set_message_id(absl::StrCat(uid, "-", ++seq_));
    e->set_channel(cpb::CHANNEL_WEB);
    prototime::ToProto(absl::Now(), e->mutable_timestamp());
    return env;
  }

  cpb::EventEnvelope Order(const std::string& uid, const std::string& order_id, double revenue) {
    cpb::EventEnvelope env = Track(uid, "Order Completed");
    env.mutable_event()->set_order_id(order_id);
    env.mutable_event()->set_revenue(revenue);
    env.mutable_event()->set_category("shoes");
    return env;
  }

  pb::Profile Get(const std::string& user_id, const std::string& anonymous_id = "") {
    pb::GetProfileRequest req;
    req.set_user_id(user_id);
    req.set_anonymous_id(anonymous_id);
    pb::Profile out;
    grpc::Status st = stub_->GetProfile(Ctx().get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  pb::UpsertProfilesSummary Upsert(const std::vector<pb::UpsertProfileRequest>& records) {
    auto ctx = Ctx();
    pb::UpsertProfilesSummary summary;
    auto writer = stub_->UpsertProfiles(ctx.get(), &summary);
    for (const auto& r : records) EXPECT_TRUE(writer->Write(r));
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return summary;
  }

  static pb::UpsertProfileRequest Crm(const std::string& external_id, const std::string& user_id,
                                      const std::string& plan) {
    pb::UpsertProfileRequest r;
    r.set_external_id(external_id);
    r.set_user_id(user_id);
    (*r.mutable_traits())["plan"].set_string_value(plan);
    return r;
  }

  // Every key in Redis whose name contains `needle`.
  std::vector<std::string> KeysContaining(const std::string& needle) {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      auto page = redis_client_->Command({"SCAN", cursor, "MATCH", absl::StrCat("*", needle, "*"), "COUNT", "1000"});
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      cursor = page->elements[0].str;
      for (const auto& k : page->elements[1].elements) out.push_back(k.str);
    } while (cursor != "0");
    return out;
  }

  // Reads changes from `cursor` until `want` arrived or the deadline passed, then hangs up.
  std::vector<pb::SegmentChange> Watch(const std::string& cursor, size_t want) {
    pb::WatchSegmentChangesRequest req;
    req.set_cursor(cursor);
    auto ctx = Ctx(absl::Seconds(15));
    auto reader = stub_->WatchSegmentChanges(ctx.get(), req);
    std::vector<pb::SegmentChange> out;
    pb::SegmentChange c;
    while (out.size() < want && reader->Read(&c)) out.push_back(c);
    ctx->TryCancel();  // the client disconnects
    reader->Finish();
    return out;
  }

  journey::testing::RedisServer redis_;
  std::string config_dir_;
  std::unique_ptr<journey::testing::ServiceProcess> persona_;
  std::unique_ptr<pb::Persona::Stub> stub_;
  std::unique_ptr<storage::RedisClient> redis_client_;
  int seq_ = 0;
};

TEST_F(PersonaServiceTest, GetProfileShowsComputedAttributesTraitsStageAndPersona) {
  // The journey service's snapshot of this user, as journey writes it into the shared view.
  cpb::JourneySnapshot journey;
  journey.set_user_id("u-1");
  journey.set_stage("DECISION");
  ASSERT_TRUE(redis_client_
                  ->Command({"HSET", keys::View("default", "u-1"), std::string(keys::kViewJourneyField),
                             journey.SerializeAsString()})
                  .ok());
  cpb::EventEnvelope identify = Track("u-1", "");
  identify.mutable_event()->set_type(cpb::EVENT_TYPE_IDENTIFY);
  (*identify.mutable_event()->mutable_traits())["plan"].set_string_value("gold");
  Append(identify);
  Append(Track("u-1", "Product Viewed"));
  Append(Order("u-1", "o-1", 70));
  Append(Order("u-1", "o-1", 70));  // the same order again: counted once
  Append(Order("u-1", "o-2", 50));
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-1").computed().orders() == 2; }, absl::Seconds(15)))
      << persona_->LogTail();
  pb::Profile p = Get("u-1");
  EXPECT_TRUE(p.found());
  EXPECT_DOUBLE_EQ(p.computed().revenue(), 120);
  EXPECT_DOUBLE_EQ(p.computed().average_order_value(), 60);
  EXPECT_EQ(p.computed().event_counts().at("Order Completed").d1(), 2);
  EXPECT_EQ(p.computed().event_counts().at("Product Viewed").d30(), 1);
  EXPECT_EQ(p.computed().preferred_channel(), cpb::CHANNEL_WEB);
  ASSERT_EQ(p.computed().favourite_categories_size(), 1);
  EXPECT_EQ(p.computed().favourite_categories(0), "shoes");
  EXPECT_EQ(p.computed().journey_stage(), "DECISION");
  ASSERT_EQ(p.traits().count("plan"), 1u);
  EXPECT_EQ(p.traits().at("plan").value().string_value(), "gold");
  EXPECT_EQ(p.traits().at("plan").source(), "identify");
  EXPECT_GT(p.traits().at("plan").updated_at().seconds(), 0);
  EXPECT_EQ(std::set<std::string>(p.segments().begin(), p.segments().end()),
            (std::set<std::string>{"big_spender", "buyers", "deciding", "gold"}));
  EXPECT_EQ(p.persona(), "big_spender");
  EXPECT_DOUBLE_EQ(p.persona_scores().at("big_spender"), 1.0);

  // What recommend reads: the PersonaSnapshot in the shared view.
  auto view = redis_client_->Command({"HGET", keys::View("default", "u-1"), std::string(keys::kViewPersonaField)});
  ASSERT_TRUE(view.ok() && view->is_string());
  cpb::PersonaSnapshot snap;
  ASSERT_TRUE(snap.ParseFromString(view->str));
  EXPECT_EQ(snap.persona(), "big_spender");
  EXPECT_EQ(snap.journey_stage(), "DECISION");

  EXPECT_FALSE(Get("nobody").found());
  pb::Profile unused;
  grpc::Status st = stub_->GetProfile(Ctx().get(), pb::GetProfileRequest(), &unused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("user_id"), std::string::npos) << st.error_message();
}

TEST_F(PersonaServiceTest, SegmentAdminCreatesUpdatesValidatesEstimatesAndDeletes) {
  pb::ListSegmentsResponse list;
  ASSERT_TRUE(stub_->ListSegments(Ctx().get(), {}, &list).ok());
  EXPECT_EQ(list.segments_size(), 4);  // from --config_dir

  pb::ApplySegmentRequest create;
  create.set_yaml("id: silver\ncondition: {compare: {attribute: trait.plan, op: \"==\", value: silver}}\n");
  pb::ApplySegmentResponse applied;
  ASSERT_TRUE(stub_->ApplySegment(Ctx().get(), create, &applied).ok());
  EXPECT_TRUE(applied.valid());
  EXPECT_EQ(applied.version(), 1);
  ASSERT_TRUE(stub_->ApplySegment(Ctx().get(), create, &applied).ok());
  EXPECT_EQ(applied.version(), 1);  // unchanged: same version
  pb::ApplySegmentRequest update;
  update.set_yaml("id: silver\ncondition: {compare: {attribute: trait.plan, op: in, value: [silver, bronze]}}\n");
  ASSERT_TRUE(stub_->ApplySegment(Ctx().get(), update, &applied).ok());
  EXPECT_EQ(applied.version(), 2);
  list.Clear();
  ASSERT_TRUE(stub_->ListSegments(Ctx().get(), {}, &list).ok());
  bool listed = false;
  for (const auto& d : list.segments()) listed |= d.id() == "silver" && d.version() == 2;
  EXPECT_TRUE(listed);

  pb::ApplySegmentRequest bad;
  bad.set_yaml("id: broken\ncondition: {compare: {attribute: trait.plan, op: \"~=\", value: x}}\n");
  pb::ApplySegmentResponse validated;
  ASSERT_TRUE(stub_->ValidateSegment(Ctx().get(), bad, &validated).ok());
  EXPECT_FALSE(validated.valid());
  ASSERT_EQ(validated.errors_size(), 1);
  EXPECT_EQ(validated.errors(0), "condition.compare.op: unknown operator '~='");
  grpc::Status st = stub_->ApplySegment(Ctx().get(), bad, &applied);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("condition.compare.op"), std::string::npos) << st.error_message();

  // Three profiles, two of them silver or bronze.
  EXPECT_EQ(Upsert({Crm("c-1", "u-a", "silver"), Crm("c-2", "u-b", "bronze"), Crm("c-3", "u-c", "gold")}).accepted(),
            3);
  pb::EstimateSegmentRequest estimate;
  estimate.mutable_segment()->set_id("silver");
  auto* cmp = estimate.mutable_segment()->mutable_condition()->mutable_compare();
  cmp->set_attribute("trait.plan");
  cmp->set_op("in");
  cmp->mutable_value()->mutable_list_value()->add_values("silver");
  cmp->mutable_value()->mutable_list_value()->add_values("bronze");
  pb::EstimateSegmentResponse size;
  ASSERT_TRUE(stub_->EstimateSegment(Ctx().get(), estimate, &size).ok());
  EXPECT_EQ(size.members(), 2);
  EXPECT_EQ(size.population(), 3);
  cmp->set_op("like");
  st = stub_->EstimateSegment(Ctx().get(), estimate, &size);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("condition.compare.op"), std::string::npos) << st.error_message();

  pb::DeleteSegmentRequest del;
  del.set_id("silver");
  pb::DeleteSegmentResponse deleted;
  ASSERT_TRUE(stub_->DeleteSegment(Ctx().get(), del, &deleted).ok());
  EXPECT_EQ(stub_->DeleteSegment(Ctx().get(), del, &deleted).error_code(), grpc::StatusCode::NOT_FOUND);
  list.Clear();
  ASSERT_TRUE(stub_->ListSegments(Ctx().get(), {}, &list).ok());
  EXPECT_EQ(list.segments_size(), 4);
  del.clear_id();
  st = stub_->DeleteSegment(Ctx().get(), del, &deleted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("id"), std::string::npos);
}

TEST_F(PersonaServiceTest, UpsertProfilesSummarisesAcceptedAndRejectedRecords) {
  pb::UpsertProfileRequest no_id = Crm("", "u-x", "gold");
  pb::UpsertProfileRequest no_value = Crm("c-9", "u-y", "gold");
  (*no_value.mutable_traits())["empty"];  // a trait without a value
  pb::UpsertProfileRequest with_consent = Crm("c-1", "u-1", "gold");
  (*with_consent.mutable_consent())["marketing"] = true;
  pb::UpsertProfilesSummary summary = Upsert({with_consent, no_id, Crm("c-2", "", "silver"), no_value});
  EXPECT_EQ(summary.received(), 4);
  EXPECT_EQ(summary.accepted(), 2);
  EXPECT_EQ(summary.rejected(), 2);
  ASSERT_EQ(summary.rejections_size(), 2);
  EXPECT_EQ(summary.rejections(0).index(), 1);
  EXPECT_EQ(summary.rejections(0).field(), "external_id");
  EXPECT_EQ(summary.rejections(1).index(), 3);
  EXPECT_EQ(summary.rejections(1).external_id(), "c-9");
  EXPECT_EQ(summary.rejections(1).field(), "traits.empty");

  pb::Profile p = Get("u-1");
  EXPECT_EQ(p.external_id(), "c-1");
  EXPECT_EQ(p.traits().at("plan").source(), "crm");
  EXPECT_TRUE(p.consent().at("marketing").granted());
  EXPECT_EQ(p.consent().at("marketing").source(), "crm");
  EXPECT_EQ(std::vector<std::string>(p.segments().begin(), p.segments().end()), std::vector<std::string>{"gold"});
  // No user id: the external id names the profile, and stays linked to it.
  EXPECT_EQ(Get("c-2").traits().at("plan").value().string_value(), "silver");

  // Idempotent by external id: the same record again changes nothing; a new value updates.
  EXPECT_EQ(Upsert({Crm("c-1", "", "gold")}).accepted(), 1);
  EXPECT_FALSE(Get("c-1").found());  // linked to u-1, not a new profile
  EXPECT_EQ(Upsert({Crm("c-1", "", "silver")}).accepted(), 1);
  EXPECT_EQ(Get("u-1").traits().at("plan").value().string_value(), "silver");
  EXPECT_TRUE(Get("u-1").segments().empty());
}

TEST_F(PersonaServiceTest, ExportSegmentStreamsEveryMemberOnce) {
  std::vector<pb::UpsertProfileRequest> records;
  std::set<std::string> gold;
  for (int i = 0; i < 30; ++i) {
    const std::string uid = absl::StrCat("u-", i);
    records.push_back(Crm(absl::StrCat("c-", i), uid, i % 3 == 0 ? "gold" : "silver"));
    if (i % 3 == 0) gold.insert(uid);
  }
  ASSERT_EQ(Upsert(records).accepted(), 30);
  pb::ExportSegmentRequest req;
  req.set_segment("gold");
  auto ctx = Ctx();
  auto reader = stub_->ExportSegment(ctx.get(), req);
  std::multiset<std::string> exported;
  pb::Profile p;
  while (reader->Read(&p)) {
    exported.insert(p.user_id());
    EXPECT_EQ(p.traits().at("plan").value().string_value(), "gold");
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(exported, std::multiset<std::string>(gold.begin(), gold.end()));

  req.set_segment("no_such_segment");
  auto ctx2 = Ctx();
  auto missing = stub_->ExportSegment(ctx2.get(), req);
  while (missing->Read(&p)) {
  }
  grpc::Status st = missing->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("segment"), std::string::npos);
}

TEST_F(PersonaServiceTest, WatchResumesFromItsCursorAfterDisconnectAndRestartWithoutGapsOrDuplicates) {
  // Changes 1-10: ten users enter gold.
  std::vector<pb::UpsertProfileRequest> first;
  for (int i = 0; i < 10; ++i) first.push_back(Crm(absl::StrCat("c-", i), absl::StrCat("u-", i), "gold"));
  ASSERT_EQ(Upsert(first).accepted(), 10);

  std::vector<pb::SegmentChange> seen = Watch("0", 4);  // the CRM reads four, then drops
  ASSERT_EQ(seen.size(), 4u);

  // While it is away: the ten leave gold and the service restarts.
  std::vector<pb::UpsertProfileRequest> second;
  for (int i = 0; i < 10; ++i) second.push_back(Crm(absl::StrCat("c-", i), absl::StrCat("u-", i), "silver"));
  ASSERT_EQ(Upsert(second).accepted(), 10);
  ASSERT_EQ(persona_->Stop(), 0) << persona_->LogTail();
  ASSERT_TRUE(persona_->Start().ok()) << persona_->LogTail();
  stub_ = pb::Persona::NewStub(persona_->channel());

  for (const auto& c : Watch(seen.back().cursor(), 16)) seen.push_back(c);
  ASSERT_EQ(seen.size(), 20u);
  std::set<std::pair<std::string, bool>> events;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].segment(), "gold");
    if (i > 0) EXPECT_EQ(seen[i].sequence(), seen[i - 1].sequence() + 1) << "gap or duplicate at " << i;
    events.insert({seen[i].user_id(), seen[i].entered()});
  }
  EXPECT_EQ(events.size(), 20u);  // every user entered once and left once
  // A cursor that is not one is refused, naming the field.
  pb::WatchSegmentChangesRequest req;
  req.set_cursor("yesterday");
  auto ctx = Ctx();
  auto reader = stub_->WatchSegmentChanges(ctx.get(), req);
  pb::SegmentChange c;
  EXPECT_FALSE(reader->Read(&c));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("cursor"), std::string::npos);
}

TEST_F(PersonaServiceTest, DeleteProfileLeavesNoKeyOfTheUserBehind) {
  Append(Track("anon-del", "Product Viewed"));
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("anon-del").found(); }, absl::Seconds(15)));
  cpb::EventEnvelope merge;
  merge.set_kind(cpb::ENVELOPE_KIND_MERGE);
  merge.set_workspace_id("default");
  merge.set_canonical_user_id("u-del");
  merge.set_previous_id("anon-del");
  Append(merge);
  Append(Order("u-del", "o-1", 30));
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-del").computed().orders() == 1; }, absl::Seconds(15)));
  ASSERT_EQ(Upsert({Crm("crm-del", "u-del", "gold")}).accepted(), 1);
  pb::SetConsentRequest consent;
  consent.set_user_id("u-del");
  consent.set_purpose("marketing");
  consent.set_granted(true);
  pb::SetConsentResponse consent_resp;
  ASSERT_TRUE(stub_->SetConsent(Ctx().get(), consent, &consent_resp).ok());
  ASSERT_FALSE(KeysContaining("u-del").empty());
  ASSERT_FALSE(KeysContaining("anon-del").empty());  // the alias
  ASSERT_FALSE(KeysContaining("crm-del").empty());   // the external id link

  pb::DeleteProfileRequest del;
  del.set_user_id("u-del");
  pb::DeleteProfileResponse deleted;
  ASSERT_TRUE(stub_->DeleteProfile(Ctx().get(), del, &deleted).ok());
  EXPECT_GE(deleted.keys_deleted(), 3);
  for (const char* id : {"u-del", "anon-del", "crm-del"}) {
    EXPECT_TRUE(journey::testing::PollUntil([&] { return KeysContaining(id).empty(); }, absl::Seconds(10)))
        << id << ": " << (KeysContaining(id).empty() ? "" : KeysContaining(id)[0]);
  }
  EXPECT_FALSE(Get("u-del").found());
  EXPECT_FALSE(Get("", "anon-del").found());
  // The erasure went onto the user's partition for journey and recommend.
  auto entries = redis_client_->Command({"XREVRANGE", keys::EventStream(keys::PartitionOf("u-del", kPartitions)), "+",
                                         "-", "COUNT", "1"});
  ASSERT_TRUE(entries.ok() && entries->elements.size() == 1);
  cpb::EventEnvelope erase;
  ASSERT_TRUE(erase.ParseFromString(entries->elements[0].elements[1].elements[1].str));
  EXPECT_EQ(erase.kind(), cpb::ENVELOPE_KIND_ERASE);
  EXPECT_EQ(erase.canonical_user_id(), "u-del");

  del.clear_user_id();
  grpc::Status st = stub_->DeleteProfile(Ctx().get(), del, &deleted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("user_id"), std::string::npos);
}

TEST_F(PersonaServiceTest, ExportProfileReturnsEverythingHeldAndItsKeys) {
  cpb::JourneySnapshot journey;
  journey.set_user_id("u-exp");
  journey.set_stage("PURCHASE");
  ASSERT_TRUE(redis_client_
                  ->Command({"HSET", keys::View("default", "u-exp"), std::string(keys::kViewJourneyField),
                             journey.SerializeAsString()})
                  .ok());
  Append(Order("u-exp", "o-1", 12));
  ASSERT_TRUE(journey::testing::PollUntil([&] { return Get("u-exp").found(); }, absl::Seconds(15)));
  ASSERT_EQ(Upsert({Crm("crm-exp", "u-exp", "gold")}).accepted(), 1);

  pb::GetProfileRequest req;
  req.set_user_id("u-exp");
  pb::ProfileExport out;
  ASSERT_TRUE(stub_->ExportProfile(Ctx().get(), req, &out).ok());
  EXPECT_EQ(out.profile().user_id(), "u-exp");
  EXPECT_EQ(out.profile().computed().orders(), 1);
  EXPECT_EQ(out.profile().traits().at("plan").value().string_value(), "gold");
  EXPECT_EQ(out.journey().stage(), "PURCHASE");
  std::set<std::string> listed(out.keys().begin(), out.keys().end());
  EXPECT_EQ(listed.count(keys::Profile("default", "u-exp")), 1u);
  EXPECT_EQ(listed.count(keys::ExternalId("default", "crm-exp")), 1u);
  for (const auto& k : KeysContaining("u-exp")) EXPECT_EQ(listed.count(k), 1u) << k << " is not in the export";

  req.set_user_id("nobody");
  EXPECT_EQ(stub_->ExportProfile(Ctx().get(), req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace journey::persona
