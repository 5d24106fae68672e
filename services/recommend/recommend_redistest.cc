// Component tests against a real redis-server: snapshots written into the view hash drive
// the offers, caps hold across requests, the stream teaches the model, outcomes and
// inferred conversions reach the statistics, Redis down means degraded answers, and the
// catalog reloads under load without a failed request.
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/server/health_check_client.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/feedback.h"
#include "services/recommend/promotion_gate.h"
#include "services/recommend/queued_health.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/recommend_service.h"
#include "services/recommend/recommendation_queues.h"
#include "services/recommend/stream_learner.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::recommend {
namespace {

// Threads of this process with that name (Linux: /proc/self/task/*/comm).
int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

namespace cv1 = journey::common::v1;

constexpr char kCatalog[] = R"(
offers:
  - {id: guide, kind: content, stages: [AWARENESS]}
  - {id: compare, kind: content, stages: [CONSIDERATION]}
  - {id: free-ship, kind: free_shipping, stages: [DECISION], placements: [cart]}
  - {id: capped, kind: discount, stages: [DECISION], cap_per_day: 2}
  - {id: thanks, kind: content, stages: [PURCHASE]}
  - {id: rewards, kind: loyalty_reward, stages: [LOYALTY]}
  - {id: vip-only, kind: content, stages: [LOYALTY], segments: [vip]}
)";

class RecommendRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    storage::HiredisOptions ho;
    ho.endpoint.host = "127.0.0.1";
    ho.endpoint.port = redis_server_.port();
    ho.command_timeout = absl::Milliseconds(200);
    auto client = storage::HiredisClient::Create(ho);
    ASSERT_TRUE(client.ok());
    redis_ = std::move(*client);
    auto offers = ParseOffersYaml(kCatalog, "test");
    ASSERT_TRUE(offers.ok()) << offers.status();
    store_ = std::make_unique<OfferCatalogStore>(*OfferCatalog::Build(*offers, 0));
    feedback_ = std::make_unique<Feedback>(FeedbackOptions{}, redis_.get(), &stats_, &clock_);
    RecommendOptions options;
    options.seed = 1;
    logic_ = std::make_unique<RecommendLogic>(options, redis_.get(), store_.get(), &products_, &model_, &stats_, &clock_);
    logic_->SetServedListener([this](const ServedRecommendation& s) { feedback_->OnServed(s); });
  }

  void WriteJourney(const std::string& uid, const std::string& stage, std::vector<std::string> segments = {}) {
    cv1::JourneySnapshot j;
    j.set_user_id(uid);
    j.set_stage(stage);
    cv1::PersonaSnapshot p;
    p.set_user_id(uid);
    for (auto& s : segments) p.add_segments(s);
    ASSERT_TRUE(redis_->Command({"HSET", keys::View("default", uid), "journey", j.SerializeAsString(), "persona",
                                 p.SerializeAsString()})
                    .ok());
  }

  v1::GetRecommendationsResponse Get(const std::string& uid, v1::Placement placement = v1::PLACEMENT_UNSPECIFIED,
                                     const std::string& current = "") {
    v1::GetRecommendationsRequest req;
    req.set_user_id(uid);
    req.set_placement(placement);
    req.set_current_product_id(current);
    auto r = logic_->Recommend(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GetRecommendationsResponse();
  }

  static std::vector<std::string> OfferIds(const v1::GetRecommendationsResponse& r) {
    std::vector<std::string> ids;
    for (const auto& o : r.offers()) ids.push_back(o.offer_id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  void Append(const std::string& uid, const std::string& name, const std::string& product, absl::Time t) {
    cv1::EventEnvelope env;
    env.set_kind(cv1::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    env.mutable_event()->set_name(name);
    env.mutable_event()->set_product_id(product);
    env.mutable_event()->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(t));
    ASSERT_TRUE(redis_->Command({"XADD", keys::EventStream(keys::PartitionOf(uid, 16)), "*", "e", env.SerializeAsString()}).ok());
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::HiredisClient> redis_;
  ManualClock clock_{absl::FromUnixSeconds(1790000000)};
  ProductCatalog products_;
  ItemModel model_;
  OfferStatsCache stats_;
  std::unique_ptr<OfferCatalogStore> store_;
  std::unique_ptr<Feedback> feedback_;
  std::unique_ptr<RecommendLogic> logic_;
};

TEST_F(RecommendRedisTest, OffersFollowTheStageInTheSnapshot) {
  auto unknown = Get("nobody");
  EXPECT_EQ(unknown.stage(), "AWARENESS");
  EXPECT_FALSE(unknown.degraded());
  EXPECT_EQ(OfferIds(unknown), std::vector<std::string>{"guide"});
  EXPECT_FALSE(unknown.recommendation_id().empty());

  WriteJourney("u1", "CONSIDERATION");
  EXPECT_EQ(OfferIds(Get("u1")), std::vector<std::string>{"compare"});
  WriteJourney("u1", "DECISION");
  EXPECT_EQ(OfferIds(Get("u1", v1::PLACEMENT_CART)), (std::vector<std::string>{"capped", "free-ship"}));
  EXPECT_EQ(OfferIds(Get("u1", v1::PLACEMENT_HOME)), std::vector<std::string>{"capped"});
  WriteJourney("u1", "PURCHASE");
  auto purchase = Get("u1");
  EXPECT_EQ(OfferIds(purchase), std::vector<std::string>{"thanks"});
  EXPECT_EQ(purchase.offers(0).reasons(0), "stage: purchase");
  WriteJourney("u1", "LOYALTY", {"vip"});
  EXPECT_EQ(OfferIds(Get("u1")), (std::vector<std::string>{"rewards", "vip-only"}));
  EXPECT_NE(Get("u1").recommendation_id(), Get("u1").recommendation_id());
}

// HMGET calls Redis has served so far: one per pipelined read of a customer's state.
int64_t ViewReads(storage::RedisClient* redis) {
  auto info = redis->Command({"INFO", "commandstats"});
  if (!info.ok()) return -1;
  const size_t at = info->str.find("cmdstat_hmget:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(info->str.substr(at + std::strlen("cmdstat_hmget:calls=")));
}

TEST_F(RecommendRedisTest, AnAliasedAnonymousIdGetsTheCustomersState) {
  WriteJourney("u9", "LOYALTY", {"vip"});
  // What ingest writes when visitor anon-9 identifies as u9 (journey moved the state).
  ASSERT_TRUE(redis_->Command({"SET", keys::Alias("default", "anon-9"), "u9"}).ok());
  v1::GetRecommendationsRequest req;
  req.set_anonymous_id("anon-9");
  const int64_t reads_before = ViewReads(redis_.get());
  auto first = logic_->Recommend(req);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stage(), "LOYALTY");
  EXPECT_EQ(OfferIds(*first), (std::vector<std::string>{"rewards", "vip-only"}));
  EXPECT_EQ(ViewReads(redis_.get()) - reads_before, 2) << "the alias pointed elsewhere: one extra read";
  EXPECT_EQ(logic_->aliases()->Resolve("anon-9"), "u9");
  auto second = logic_->Recommend(req);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stage(), "LOYALTY");
  EXPECT_EQ(ViewReads(redis_.get()) - reads_before, 3) << "resolved in process: one read again";

  // The served record and caps belong to the customer, not to the anonymous id.
  ASSERT_TRUE(feedback_->Flush().ok());
  auto last = redis_->Command({"GET", keys::RecommendLast("default", "u9")});
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->is_string());

  // A visitor never linked stays a first-time visitor.
  req.set_anonymous_id("anon-new");
  EXPECT_EQ(logic_->Recommend(req)->stage(), "AWARENESS");
}

TEST_F(RecommendRedisTest, MergeInTheStreamResolvesTheAnonymousId) {
  WriteJourney("u10", "DECISION");
  cv1::EventEnvelope merge;
  merge.set_kind(cv1::ENVELOPE_KIND_MERGE);
  merge.set_workspace_id("default");
  merge.set_canonical_user_id("u10");
  merge.set_previous_id("anon-10");
  ASSERT_TRUE(redis_->Command({"XADD", keys::EventStream(keys::PartitionOf("anon-10", 16)), "*", "e",
                               merge.SerializeAsString()})
                  .ok());
  StreamLearner learner(redis_.get(), &model_, StreamLearnerOptions{}, &clock_);
  learner.SetAliasCache(logic_->aliases());
  ASSERT_TRUE(learner.PollOnce().ok());
  EXPECT_EQ(logic_->aliases()->Resolve("anon-10"), "u10");
  // No alias key in Redis at all: the MERGE alone is enough, in one read.
  v1::GetRecommendationsRequest req;
  req.set_anonymous_id("anon-10");
  req.set_placement(v1::PLACEMENT_CART);
  const int64_t reads_before = ViewReads(redis_.get());
  auto r = logic_->Recommend(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stage(), "DECISION");
  EXPECT_EQ(OfferIds(*r), (std::vector<std::string>{"capped", "free-ship"}));
  EXPECT_EQ(ViewReads(redis_.get()) - reads_before, 1);
}

TEST_F(RecommendRedisTest, DailyCapHoldsAcrossRequestsAndResetsNextDay) {
  WriteJourney("u2", "DECISION");
  auto has_capped = [&] {
    auto ids = OfferIds(Get("u2"));
    return std::find(ids.begin(), ids.end(), "capped") != ids.end();
  };
  EXPECT_TRUE(has_capped());
  ASSERT_TRUE(feedback_->Flush().ok());
  EXPECT_TRUE(has_capped());
  ASSERT_TRUE(feedback_->Flush().ok());
  EXPECT_FALSE(has_capped()) << "shown twice today: cap_per_day 2 reached";
  clock_.Advance(absl::Hours(24));
  EXPECT_TRUE(has_capped()) << "a new day";
}

TEST_F(RecommendRedisTest, StreamTeachesCoOccurrenceAndPopularity) {
  const absl::Time t = absl::FromUnixSeconds(1790000000);
  for (int u = 0; u < 5; ++u) {
    Append("shopper" + std::to_string(u), "Product Viewed", "kettle", t + absl::Seconds(u * 10));
    Append("shopper" + std::to_string(u), "Product Viewed", "teapot", t + absl::Seconds(u * 10 + 1));
  }
  Append("other", "Product Viewed", "socks", t);
  StreamLearner learner(redis_.get(), &model_, StreamLearnerOptions{}, &clock_);
  auto applied = learner.PollOnce();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 11u);
  EXPECT_EQ(*learner.PollOnce(), 0u) << "entries are read once";

  auto recs = Get("new-visitor", v1::PLACEMENT_PRODUCT_PAGE, "kettle");
  ASSERT_GE(recs.products_size(), 2);
  std::vector<std::string> ids;
  for (const auto& p : recs.products()) ids.push_back(p.product_id());
  EXPECT_NE(std::find(ids.begin(), ids.end(), "teapot"), ids.end());
  for (const auto& p : recs.products()) {
    if (p.product_id() == "teapot") EXPECT_EQ(p.reasons(0), "viewed together with kettle");
  }
  auto cold = Get("another-visitor");
  ASSERT_GE(cold.products_size(), 1);
  EXPECT_TRUE(cold.products(0).product_id() == "kettle" || cold.products(0).product_id() == "teapot");
}

TEST_F(RecommendRedisTest, OutcomesAndInferredConversionsReachStatistics) {
  WriteJourney("u3", "CONSIDERATION");
  auto served = Get("u3");
  ASSERT_TRUE(feedback_->Flush().ok());
  v1::ReportOutcomeRequest click;
  click.set_recommendation_id(served.recommendation_id());
  click.set_item_id("compare");
  click.set_outcome(v1::OUTCOME_CLICK);
  ASSERT_TRUE(feedback_->ReportOutcome(click).ok());
  click.set_item_id("not-served");
  EXPECT_EQ(feedback_->ReportOutcome(click).status().code(), absl::StatusCode::kInvalidArgument);
  click.set_recommendation_id("r-unknown");
  EXPECT_EQ(feedback_->ReportOutcome(click).status().code(), absl::StatusCode::kNotFound);

  feedback_->OnOrders({{"default", "u3", {"p1"}, clock_.Now() + absl::Minutes(5)}});
  ASSERT_TRUE(feedback_->Flush().ok());
  feedback_->OnOrders({{"default", "u3", {"p2"}, clock_.Now() + absl::Minutes(6)}});  // already attributed
  ASSERT_TRUE(feedback_->Flush().ok());

  v1::GetOfferStatsRequest req;
  req.set_offer_id("compare");
  auto stats = feedback_->GetOfferStats(req);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->stats_size(), 1);
  EXPECT_EQ(stats->stats(0).stage(), "CONSIDERATION");
  EXPECT_EQ(stats->stats(0).impressions(), 1);
  EXPECT_EQ(stats->stats(0).clicks(), 1);
  EXPECT_EQ(stats->stats(0).conversions(), 1);
  ASSERT_TRUE(feedback_->RefreshCache().ok());
  EXPECT_EQ(stats_.Get("compare", "CONSIDERATION").clicks, 1);
}

// ReportOutcome CONVERSION and DISMISS, and an order attributed to a recommendation, start the
// orchestration cool-downs: promotional offers are withheld until they end (manual clock).
TEST_F(RecommendRedisTest, ReportedConversionAndDismissalStartTheCooldowns) {
  FeedbackOptions options;
  options.cooldown_after_conversion = absl::Hours(24);
  options.cooldown_after_dismissal = absl::Hours(6);
  feedback_ = std::make_unique<Feedback>(options, redis_.get(), &stats_, &clock_);
  orchestration::OrchestrationRules rules;
  rules.global_cap_per_day = 100;
  PromotionGate gate(redis_.get(), &clock_, rules, "default");
  logic_->SetPromotionGate(&gate);
  auto promoted = [&](const std::string& uid) {
    auto ids = OfferIds(Get(uid, v1::PLACEMENT_CART));
    return std::find(ids.begin(), ids.end(), "free-ship") != ids.end();
  };
  auto report = [&](const std::string& uid, v1::Outcome outcome) {
    auto served = Get(uid, v1::PLACEMENT_CART);
    EXPECT_TRUE(feedback_->Flush().ok());
    v1::ReportOutcomeRequest r;
    r.set_recommendation_id(served.recommendation_id());
    r.set_item_id("free-ship");
    r.set_outcome(outcome);
    return feedback_->ReportOutcome(r).status();
  };
  WriteJourney("dismisser", "DECISION");
  WriteJourney("buyer", "DECISION");
  WriteJourney("clicker", "DECISION");
  ASSERT_TRUE(promoted("dismisser"));
  ASSERT_TRUE(report("dismisser", v1::OUTCOME_DISMISS).ok());
  ASSERT_TRUE(report("buyer", v1::OUTCOME_CONVERSION).ok());
  ASSERT_TRUE(report("clicker", v1::OUTCOME_CLICK).ok());
  EXPECT_FALSE(promoted("dismisser"));
  EXPECT_FALSE(promoted("buyer"));
  EXPECT_TRUE(promoted("clicker"));  // a click starts no cool-down
  clock_.Advance(absl::Hours(6) + absl::Seconds(1));
  EXPECT_TRUE(promoted("dismisser"));
  EXPECT_FALSE(promoted("buyer"));
  clock_.Advance(absl::Hours(18));
  EXPECT_TRUE(promoted("buyer"));

  // An order after a recommendation is a conversion too.
  WriteJourney("orderer", "DECISION");
  ASSERT_TRUE(promoted("orderer"));
  ASSERT_TRUE(feedback_->Flush().ok());
  feedback_->OnOrders({{"default", "orderer", {"p1"}, clock_.Now() + absl::Minutes(5)}});
  ASSERT_TRUE(feedback_->Flush().ok());
  clock_.Advance(absl::Minutes(6));
  EXPECT_FALSE(promoted("orderer"));
  clock_.Advance(absl::Hours(24));
  EXPECT_TRUE(promoted("orderer"));
  logic_->SetPromotionGate(nullptr);
}

TEST_F(RecommendRedisTest, RedisDownAnswersDegradedWithinTheDeadline) {
  model_.Observe("s", "bestseller", clock_.Now());
  model_.RefreshRankings();
  redis_server_.Stop();
  const absl::Time start = absl::Now();
  v1::GetRecommendationsRequest req;
  req.set_anonymous_id("a1");
  auto r = logic_->Recommend(req, absl::Milliseconds(100));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_TRUE(r->degraded());
  // Only offers without caps, segments or consent, from any stage.
  const std::vector<std::string> unconditional = {"compare", "free-ship", "guide", "rewards", "thanks"};
  EXPECT_GE(r->offers_size(), 3);
  for (const auto& id : OfferIds(*r)) {
    EXPECT_NE(std::find(unconditional.begin(), unconditional.end(), id), unconditional.end()) << id;
  }
  ASSERT_EQ(r->products_size(), 1);
  EXPECT_EQ(r->products(0).product_id(), "bestseller");
  ASSERT_TRUE(redis_server_.Start().ok());
  // The client backs off after failures; once it reconnects answers are whole again.
  EXPECT_TRUE(testing::PollUntil([&] { return !Get("a1").degraded(); }, absl::Seconds(5)));
}

TEST_F(RecommendRedisTest, CatalogReloadsUnderLoadWithoutAFailedRequest) {
  CatalogAdmin admin("default", redis_.get(), store_.get(), &products_);
  OfferCatalogStore other_replica(*OfferCatalog::Build({}, 0));
  CatalogAdmin other_admin("default", redis_.get(), &other_replica, &products_);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, requests{0};
  std::vector<std::thread> load;
  for (int i = 0; i < 2; ++i) {
    load.emplace_back([&] {
      while (!stop) {
        v1::GetRecommendationsRequest req;
        req.set_user_id("loader");
        auto r = logic_->Recommend(req);
        if (!r.ok() || r->offers_size() == 0) failures++;
        requests++;
      }
    });
  }
  for (int v = 1; v <= 20; ++v) {
    v1::ApplyOffersRequest apply;
    apply.set_yaml("offers:\n  - {id: guide-v" + std::to_string(v) + ", kind: content, stages: [AWARENESS]}\n");
    apply.set_replace_all(true);
    auto applied = admin.ApplyOffers(apply);
    ASSERT_TRUE(applied.ok()) << applied.status();
    ASSERT_TRUE(applied->valid());
    EXPECT_EQ(applied->version(), v);
  }
  v1::ApplyOffersRequest bad;
  bad.set_yaml("offers:\n  - {id: x, kind: content, stages: [AWARENESS], weight: -1}\n");
  auto rejected = admin.ApplyOffers(bad);
  ASSERT_TRUE(rejected.ok());
  EXPECT_FALSE(rejected->valid());
  EXPECT_NE(rejected->errors(0).find("weight: must be >= 0"), std::string::npos);
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(failures.load(), 0) << "of " << requests.load();
  EXPECT_EQ(admin.ListOffers().version(), 20);
  EXPECT_EQ(OfferIds(Get("loader")), std::vector<std::string>{"guide-v20"});
  ASSERT_TRUE(other_admin.SyncFromRedis().ok());
  EXPECT_EQ(other_replica.Get()->version(), 20) << "another replica adopts the applied catalog";
}

TEST_F(RecommendRedisTest, ServesOverGrpcFromTheQueuesAndTheWorkerPool) {
  CatalogAdmin admin("default", redis_.get(), store_.get(), &products_);
  RecommendService service(logic_.get(), &admin, feedback_.get(), /*workers=*/2);
  QueuedHealth health;
  RecommendationQueues queues(&service, /*threads=*/2, &health);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  queues.AddTo(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  queues.Start();
  // Every method (health included) is on the queues: gRPC started none of its callback
  // threads, which would take turns as the poller with the queue threads. (Checked before
  // this test's clients use the callback client API below, which starts them too.)
  EXPECT_EQ(ThreadsNamed("nexting_thread"), 0) << "a callback service is registered";
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = v1::Recommend::NewStub(channel);
  WriteJourney("g1", "CONSIDERATION");

  // Many calls at once on two queue threads: each is answered, none is lost or failed.
  constexpr int kCalls = 40;
  struct Call {
    grpc::ClientContext ctx;
    v1::GetRecommendationsRequest req;
    v1::GetRecommendationsResponse resp;
    grpc::Status status;
  };
  std::vector<Call> calls(kCalls);
  std::atomic<int> done{0};
  for (auto& c : calls) {
    c.req.set_user_id("g1");
    c.ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    stub->async()->GetRecommendations(&c.ctx, &c.req, &c.resp, [&c, &done](grpc::Status s) {
      c.status = std::move(s);
      done++;
    });
  }
  ASSERT_TRUE(testing::PollUntil([&] { return done.load() == kCalls; }, absl::Seconds(10)));
  for (const auto& c : calls) {
    ASSERT_TRUE(c.status.ok()) << c.status.error_message();
    EXPECT_EQ(c.resp.stage(), "CONSIDERATION");
    EXPECT_EQ(OfferIds(c.resp), std::vector<std::string>{"compare"});
  }

  // Errors keep their meaning at the edge.
  grpc::ClientContext bad_ctx;
  v1::GetRecommendationsRequest bad;
  bad.set_user_id("g1");
  bad.set_limit(-1);
  v1::GetRecommendationsResponse ignored;
  const grpc::Status invalid = stub->GetRecommendations(&bad_ctx, bad, &ignored);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(invalid.error_message().find("limit"), std::string::npos);

  // Admin calls go through the same pool.
  grpc::ClientContext upsert_ctx;
  v1::UpsertProductsRequest upsert;
  upsert.add_products()->set_product_id("grpc-product");
  v1::UpsertProductsResponse upserted;
  ASSERT_TRUE(stub->UpsertProducts(&upsert_ctx, upsert, &upserted).ok());
  EXPECT_EQ(upserted.upserted(), 1);
  EXPECT_NE(products_.Find("grpc-product"), nullptr);

  // Health checks are answered on the queues and follow what the runtime sets.
  grpc::HealthCheckServiceInterface* checks = server->GetHealthCheckService();
  ASSERT_NE(checks, nullptr);
  EXPECT_TRUE(server::IsServing(channel, "", 2000));
  EXPECT_FALSE(server::IsServing(channel, "journey.recommend.v1.Recommend", 2000)) << "unknown until set";
  checks->SetServingStatus("journey.recommend.v1.Recommend", true);
  EXPECT_TRUE(server::IsServing(channel, "journey.recommend.v1.Recommend", 2000));
  checks->SetServingStatus(false);
  EXPECT_FALSE(server::IsServing(channel, "journey.recommend.v1.Recommend", 2000));
  EXPECT_FALSE(server::IsServing(channel, "", 2000));
  checks->SetServingStatus(true);
  EXPECT_TRUE(server::IsServing(channel, "", 2000));
  checks->Shutdown();
  checks->SetServingStatus(true);  // ignored after Shutdown, as the default service does
  EXPECT_FALSE(server::IsServing(channel, "", 2000));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  queues.Stop();
}

}  // namespace
}  // namespace journey::recommend
