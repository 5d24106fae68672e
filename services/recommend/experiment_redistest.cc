// Experiments against a real redis-server: the holdout never gets a personalized offer, the
// canonical id (after login) decides the assignment, a seeded simulation with a known
// uplift reads back the counts an independent tally made and an interval covering the
// truth, and duplicate exposures, orders and reports count once.
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/experiment/assignment.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/recommend/experiment_admin.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/experiment_config.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/feedback.h"
#include "services/recommend/recommend_logic.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::recommend {
namespace {

namespace cv1 = journey::common::v1;

constexpr char kCatalog[] = R"(
offers:
  - {id: guide, kind: content, stages: [AWARENESS], priority: 1}
  - {id: story, kind: content, stages: [AWARENESS]}
  - {id: vip-deal, kind: discount, stages: [DECISION, LOYALTY], segments: [vip], priority: 5}
  - {id: capped, kind: discount, stages: [DECISION], cap_per_day: 5, priority: 3}
  - {id: consent, kind: content, stages: [DECISION], consent_purpose: marketing, priority: 3}
  - {id: free-ship, kind: free_shipping, stages: [DECISION]}
  - {id: rewards, kind: loyalty_reward, stages: [LOYALTY]}
)";

class ExperimentRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    storage::HiredisOptions ho;
    ho.endpoint.host = "127.0.0.1";
    ho.endpoint.port = redis_server_.port();
    ho.command_timeout = absl::Milliseconds(500);
    auto client = storage::HiredisClient::Create(ho);
    ASSERT_TRUE(client.ok());
    redis_ = std::move(*client);
    auto offers = ParseOffersYaml(kCatalog, "test");
    ASSERT_TRUE(offers.ok()) << offers.status();
    store_ = std::make_unique<OfferCatalogStore>(*OfferCatalog::Build(*offers, 0));
  }

  // Wires logic, feedback and the recorder as main.cc does, with these definitions.
  void Configure(const std::string& yaml, absl::Duration exposure_refresh = absl::Seconds(60)) {
    auto parsed = ParseExperimentsYaml(yaml, "test.yaml");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_TRUE(ValidateExperiments(&*parsed).ok());
    experiments_ = std::make_unique<ExperimentStore>(std::make_shared<const ExperimentSet>("default", *parsed));
    ExperimentRecorderOptions ro;
    ro.exposure_refresh = exposure_refresh;
    recorder_ = std::make_unique<ExperimentRecorder>(ro, redis_.get(), experiments_.get(), &clock_);
    feedback_ = std::make_unique<Feedback>(FeedbackOptions{}, redis_.get(), &stats_, &clock_);
    feedback_->SetExperimentRecorder(recorder_.get());
    RecommendOptions options;
    options.seed = 7;
    // These tests count exposures; a read slower than the serving budget (50 ms, easily
    // passed on a loaded CI machine) would answer degraded, without experiments.
    options.redis_timeout = absl::Seconds(2);
    logic_ = std::make_unique<RecommendLogic>(options, redis_.get(), store_.get(), &products_, &model_, &stats_, &clock_);
    logic_->SetExperiments(experiments_.get());
    logic_->SetServedListener([this](const ServedRecommendation& s) {
      feedback_->OnServed(s);
      recorder_->RecordExposures(s.user_id, s.exposures, s.served_at);
    });
  }

  void WriteState(const std::string& uid, const std::string& stage, std::vector<std::string> segments,
                  bool marketing_consent = true) {
    cv1::JourneySnapshot j;
    j.set_user_id(uid);
    j.set_stage(stage);
    cv1::PersonaSnapshot p;
    p.set_user_id(uid);
    for (auto& s : segments) p.add_segments(s);
    (*p.mutable_consent())["marketing"] = marketing_consent;
    ASSERT_TRUE(redis_->Command({"HSET", keys::View("default", uid), "journey", j.SerializeAsString(), "persona",
                                 p.SerializeAsString()})
                    .ok());
  }

  v1::GetRecommendationsResponse Get(const std::string& user_id, const std::string& anonymous_id = "",
                                     v1::Placement placement = v1::PLACEMENT_HOME) {
    v1::GetRecommendationsRequest req;
    req.set_user_id(user_id);
    req.set_anonymous_id(anonymous_id);
    req.set_placement(placement);
    auto r = logic_->Recommend(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GetRecommendationsResponse();
  }

  v1::GetExperimentResultsResponse Results(const std::string& id) {
    EXPECT_TRUE(feedback_->Flush().ok());
    EXPECT_TRUE(recorder_->Flush().ok());
    auto r = recorder_->Results(id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GetExperimentResultsResponse();
  }

  static const v1::VariantResults* Variant(const v1::GetExperimentResultsResponse& r, const std::string& id) {
    for (const auto& v : r.variants()) {
      if (v.variant() == id) return &v;
    }
    return nullptr;
  }

  static testing::RedisServer::Options AppendOnly() {
    testing::RedisServer::Options o;
    o.append_only = true;  // the retry test restarts it and needs what was written
    return o;
  }

  testing::RedisServer redis_server_{AppendOnly()};
  std::unique_ptr<storage::HiredisClient> redis_;
  ManualClock clock_{absl::FromUnixSeconds(1796169600)};  // 2026-12-02
  ProductCatalog products_;
  ItemModel model_;
  OfferStatsCache stats_;
  std::unique_ptr<OfferCatalogStore> store_;
  std::unique_ptr<ExperimentStore> experiments_;
  std::unique_ptr<ExperimentRecorder> recorder_;
  std::unique_ptr<Feedback> feedback_;
  std::unique_ptr<RecommendLogic> logic_;
};

TEST_F(ExperimentRedisTest, TheHoldoutNeverGetsAPersonalizedOffer) {
  Configure("holdout: {share: 20%, salt: test}\n"
            "experiments:\n  - {id: explore, variants: [{id: on}, {id: off, exploration: false}]}\n");
  // Every customer is a consenting VIP deciding to buy: a personalized answer includes the
  // segment offer (vip-deal), the consent offer and the capped one.
  const std::set<std::string> stateless = {"guide", "story", "free-ship", "rewards"};
  int held_out = 0, personalized_with_vip = 0;
  std::set<std::vector<std::string>> holdout_answers;
  for (int i = 0; i < 1000; ++i) {
    const std::string uid = absl::StrCat("c", i);
    WriteState(uid, i % 2 == 0 ? "DECISION" : "LOYALTY", {"vip"});
    const v1::GetRecommendationsResponse r = Get(uid);
    ASSERT_FALSE(r.degraded());
    EXPECT_EQ(r.holdout(), experiment::InHoldout({2000, "test"}, "default", uid)) << uid;
    std::vector<std::string> ids;
    for (const auto& o : r.offers()) {
      ids.push_back(o.offer_id());
      if (r.holdout()) {
        EXPECT_TRUE(stateless.count(o.offer_id())) << uid << " in the holdout got " << o.offer_id();
        ASSERT_FALSE(o.reasons().empty());
        EXPECT_EQ(o.reasons(0), "baseline: holdout, not personalized");
      }
    }
    if (r.holdout()) {
      ++held_out;
      EXPECT_EQ(r.experiments_size(), 0) << uid;
      EXPECT_TRUE(r.experiment().empty());
      holdout_answers.insert(ids);
    } else {
      ASSERT_EQ(r.experiments_size(), 1) << uid;
      EXPECT_EQ(r.experiment(), "explore");
      if (std::find(ids.begin(), ids.end(), "vip-deal") != ids.end()) ++personalized_with_vip;
    }
  }
  EXPECT_NEAR(held_out, 200, 50);
  EXPECT_EQ(personalized_with_vip, 1000 - held_out);  // the check above could fail
  // Stage-agnostic: a DECISION and a LOYALTY customer of the holdout see the same list.
  EXPECT_EQ(holdout_answers.size(), 1u);
  // Both groups are exposed in the holdout's own results.
  const auto results = Results(kHoldoutExperimentId);
  ASSERT_NE(Variant(results, kHoldoutVariant), nullptr);
  EXPECT_EQ(Variant(results, kHoldoutVariant)->customers_exposed(), held_out);
  EXPECT_EQ(Variant(results, kPersonalizedVariant)->customers_exposed(), 1000 - held_out);
}

TEST_F(ExperimentRedisTest, TheCanonicalIdAfterLoginDecidesTheAssignment) {
  Configure("holdout: {share: 50%, salt: login}\n"
            "experiments:\n  - {id: e, variants: [{id: a}, {id: b}]}\n");
  // A visitor and the customer they become, with different assignments.
  std::string anon, customer;
  for (int i = 0; anon.empty() || customer.empty(); ++i) {
    const std::string id = absl::StrCat("id-", i);
    const bool held = experiment::InHoldout({5000, "login"}, "default", id);
    if (held && anon.empty()) anon = id;
    if (!held && customer.empty()) customer = id;
  }
  // Before login: the anonymous id is the canonical id, so it decides (holdout).
  EXPECT_TRUE(Get("", anon).holdout());
  // Ingest links the visitor to the customer (the alias key recommend reads).
  ASSERT_TRUE(redis_->Command({"SET", keys::Alias("default", anon), customer}).ok());
  const v1::GetRecommendationsResponse after = Get("", anon);
  const v1::GetRecommendationsResponse as_customer = Get(customer);
  EXPECT_FALSE(after.holdout()) << "after login the customer's assignment wins";
  ASSERT_EQ(after.experiments_size(), 1);
  EXPECT_EQ(after.variant(), as_customer.variant());
  // Exposures are recorded under the canonical id: the visitor's before, the customer's after.
  ASSERT_TRUE(recorder_->Flush().ok());
  auto member = [&](const std::string& experiment, const std::string& id) {
    auto r = redis_->Command({"HGET", keys::ExperimentMembers("default", experiment), "e:" + id});
    return r.ok() && r->is_string() ? r->str : std::string();
  };
  EXPECT_EQ(member(kHoldoutExperimentId, anon).substr(0, 8), "holdout|");
  EXPECT_EQ(member(kHoldoutExperimentId, customer).substr(0, 13), "personalized|");
  EXPECT_EQ(member("e", customer).substr(0, 2), as_customer.variant() + "|");
  EXPECT_TRUE(member("e", anon).empty()) << "the held-out visitor was in no experiment";
}

// 20,000 customers, control converts with p = 0.10, the variant with p = 0.13 (true uplift
// 0.03); order values uniform in [20, 80] (mean 50: true revenue uplift 1.5 per customer).
// Conversions come from the stream (orders) and, for some, also from ReportOutcome with the
// same order id; every order is delivered twice, a fifth of the customers are served twice,
// some orders fall outside the window, some come from customers never exposed.
TEST_F(ExperimentRedisTest, SeededSimulationReadsBackExactCountsAndCoversTheTrueUplift) {
  Configure("experiments:\n"
            "  - id: sim\n    primary_metric: conversion\n    attribution_window: 24h\n"
            "    end: 2027-01-01T00:00:00Z\n"
            "    variants: [{id: control, control: true}, {id: treatment}]\n",
            /*exposure_refresh=*/absl::ZeroDuration());
  std::mt19937_64 rng(20261201);
  std::uniform_real_distribution<double> u(0, 1);
  struct Tally {
    int64_t exposed = 0, conversions = 0;
    double revenue = 0;
  };
  std::map<std::string, Tally> tally;
  std::vector<CompletedOrder> orders;
  const absl::Time t0 = clock_.Now();
  constexpr int kCustomers = 20000;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string uid = absl::StrCat("sim-", i);
    const v1::GetRecommendationsResponse r = Get(uid);
    ASSERT_FALSE(r.degraded());
    ASSERT_EQ(r.experiments_size(), 1);
    const std::string variant = r.variant();
    tally[variant].exposed++;
    if (i % 5 == 0) Get(uid);  // served again: the same exposure
    const double p = variant == "treatment" ? 0.13 : 0.10;
    if (u(rng) < p) {
      const double value = 20 + 60 * u(rng);
      tally[variant].conversions++;
      tally[variant].revenue += value;
      orders.push_back({"default", uid, {}, t0 + absl::Hours(2), absl::StrCat("o-", i), value});
      if (i % 7 == 0) {
        v1::ReportOutcomeRequest report;  // the shop also reports it, with the order id
        report.set_recommendation_id(r.recommendation_id());
        report.set_item_id(r.offers(0).offer_id());
        report.set_outcome(v1::OUTCOME_CONVERSION);
        report.set_order_id(absl::StrCat("o-", i));
        report.set_value(value);
        ASSERT_TRUE(feedback_->Flush().ok());  // the recommendation record it looks up
        clock_.Set(t0 + absl::Hours(1));
        ASSERT_TRUE(feedback_->ReportOutcome(report).ok());
        clock_.Set(t0);
      }
    } else if (i % 11 == 0) {
      orders.push_back({"default", uid, {}, t0 + absl::Hours(30), absl::StrCat("late-", i), 99});  // outside 24h
    }
    if (i % 13 == 0) orders.push_back({"default", absl::StrCat("never-", i), {}, t0, absl::StrCat("n-", i), 10});
  }
  ASSERT_TRUE(feedback_->Flush().ok());
  ASSERT_TRUE(recorder_->Flush().ok());
  recorder_->OnOrders(orders);
  recorder_->OnOrders(orders);  // at-least-once delivery: everything again
  const v1::GetExperimentResultsResponse results = Results("sim");
  ASSERT_EQ(results.variants_size(), 2);
  for (const std::string variant : {"control", "treatment"}) {
    const v1::VariantResults* v = Variant(results, variant);
    ASSERT_NE(v, nullptr) << variant;
    EXPECT_EQ(v->customers_exposed(), tally[variant].exposed) << variant;
    EXPECT_EQ(v->conversions(), tally[variant].conversions) << variant;
    EXPECT_NEAR(v->revenue(), tally[variant].revenue, 1e-6 * tally[variant].revenue) << variant;
  }
  EXPECT_EQ(tally["control"].exposed + tally["treatment"].exposed, kCustomers);
  EXPECT_NEAR(static_cast<double>(tally["control"].exposed) / kCustomers, 0.5, 0.02);
  EXPECT_FALSE(results.too_small_to_call());
  const v1::VariantResults* t = Variant(results, "treatment");
  ASSERT_EQ(t->uplift_size(), 3);
  const v1::MetricUplift& conversion = t->uplift(0);
  EXPECT_EQ(conversion.metric(), "conversion");
  EXPECT_LE(conversion.ci_low(), 0.03);
  EXPECT_GE(conversion.ci_high(), 0.03);
  EXPECT_GT(conversion.ci_low(), 0.0) << "a 3-point uplift over 20,000 customers is detectable";
  const v1::MetricUplift& revenue = t->uplift(1);
  EXPECT_EQ(revenue.metric(), "revenue_per_customer");
  EXPECT_LE(revenue.ci_low(), 1.5);
  EXPECT_GE(revenue.ci_high(), 1.5);
  // An experiment with an end keeps its records 90 days past the end and window, not forever.
  auto ttl = redis_->Command({"PTTL", keys::ExperimentTotals("default", "sim")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);
}

// The holdout and experiments without an end have no end to expire after: their records
// expire kResultsRetention after the attribution window of the last exposure, pushed back by
// every exposure; an experiment with an end keeps the fixed end + window + retention.
TEST_F(ExperimentRedisTest, HoldoutRecordsExpireAfterTheLastExposureWindowAndRetention) {
  Configure("holdout: {share: 50%, salt: test, attribution_window: 24h}\n"
            "experiments:\n"
            "  - {id: open, attribution_window: 2h, variants: [{id: a}, {id: b}]}\n"
            "  - {id: ends, layer: other, end: 2027-01-01T00:00:00Z, attribution_window: 3d, variants: [{id: a}, "
            "{id: b}]}\n",
            /*exposure_refresh=*/absl::ZeroDuration());
  auto expire_at = [&](const std::string& key) {
    auto r = redis_->Command({"PEXPIRETIME", key});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? absl::FromUnixMillis(r->integer) : absl::InfinitePast();
  };
  const absl::Time ends = absl::FromUnixSeconds(1798761600);  // 2027-01-01
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const absl::Time now = clock_.Now();
    WriteState("regular", "DECISION", {});
    Get("regular");
    ASSERT_TRUE(recorder_->Flush().ok());
    for (const std::string& key : {keys::ExperimentMembers("default", "holdout"),
                                   keys::ExperimentTotals("default", "holdout")}) {
      EXPECT_EQ(expire_at(key), now + absl::Hours(24) + kResultsRetention) << key;
    }
    EXPECT_EQ(expire_at(keys::ExperimentMembers("default", "open")), now + absl::Hours(2) + kResultsRetention);
    EXPECT_EQ(expire_at(keys::ExperimentTotals("default", "ends")), ends + absl::Hours(72) + kResultsRetention);
    clock_.Advance(absl::Hours(5));  // a later exposure pushes the open-ended ones back
  }
}

// ApplyExperiments on one replica: validated, stored as version 1, 2, ... by compare-and-set,
// installed there at once and adopted by another replica's sync; bad input changes nothing.
TEST_F(ExperimentRedisTest, AppliedExperimentsReachEveryReplica) {
  Configure("experiments:\n  - {id: from-file, variants: [{id: a}, {id: b}]}\n");
  ExperimentStore other(std::make_shared<const ExperimentSet>("default", ExperimentConfig{}));
  ExperimentAdmin here("default", redis_.get(), experiments_.get(), &clock_);
  ExperimentAdmin there("default", redis_.get(), &other, &clock_);
  ASSERT_TRUE(there.SyncFromRedis().ok());
  EXPECT_EQ(there.version(), 0);  // nothing stored: the files run

  v1::ApplyExperimentsRequest req;
  req.set_yaml("holdout: {share: 10%, salt: applied}\n"
               "experiments:\n  - {id: applied, variants: [{id: x, control: true}, {id: y, exploration: false}]}\n");
  req.set_source("new.yaml");
  auto applied = here.Apply(req);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->version(), 1);
  EXPECT_EQ(applied->experiments(), 1);
  EXPECT_EQ(applied->holdout_share_bp(), 1000u);
  EXPECT_NE(experiments_->Get()->Find("applied"), nullptr);
  EXPECT_EQ(experiments_->Get()->Find("from-file"), nullptr);
  // Served under it at once on this replica.
  WriteState("after-apply", "AWARENESS", {});
  const auto served = Get("after-apply");
  bool under_applied = served.holdout();
  for (const auto& e : served.experiments()) under_applied |= e.experiment_id() == "applied";
  EXPECT_TRUE(under_applied);

  ASSERT_TRUE(there.SyncFromRedis().ok());
  EXPECT_EQ(there.version(), 1);
  ASSERT_NE(other.Get()->Find("applied"), nullptr);
  EXPECT_EQ(other.Get()->config().holdout.assignment.salt, "applied");

  // Compare-and-set: a change made on version 1 after version 2 was stored is refused.
  req.set_expected_version(1);
  ASSERT_TRUE(there.Apply(req).ok());
  auto stale = here.Apply(req);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  EXPECT_TRUE(absl::StrContains(stale.status().message(), "expected_version")) << stale.status();

  // Bad input: INVALID_ARGUMENT naming the field, the running set unchanged.
  v1::ApplyExperimentsRequest bad;
  EXPECT_EQ(here.Apply(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.set_yaml("experiments:\n  - {id: broken, variants: [{id: a, weight: -1}]}\n");
  auto invalid = here.Apply(bad);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(invalid.status().message(), "yaml: request:")) << invalid.status();
  bad.set_yaml("experiments: []\n");
  bad.set_expected_version(-1);
  EXPECT_TRUE(absl::StrContains(here.Apply(bad).status().message(), "expected_version"));
  ASSERT_TRUE(here.SyncFromRedis().ok());
  EXPECT_EQ(here.version(), 2);
  EXPECT_NE(experiments_->Get()->Find("applied"), nullptr);
}

TEST_F(ExperimentRedisTest, DuplicateExposuresConversionsAndClicksCountOnce) {
  Configure("experiments:\n  - {id: d, variants: [{id: only, weight: 1}, {id: never, weight: 0.000001}]}\n",
            /*exposure_refresh=*/absl::ZeroDuration());
  const v1::GetRecommendationsResponse first = Get("dup");
  ASSERT_EQ(first.variant(), "only");
  for (int i = 0; i < 3; ++i) Get("dup");
  ASSERT_TRUE(recorder_->Flush().ok());
  const absl::Time at = clock_.Now() + absl::Minutes(5);
  const CompletedOrder order{"default", "dup", {}, at, "order-1", 40};
  recorder_->OnOrders({order, order});
  recorder_->OnOrders({order});
  recorder_->OnOrders({{"default", "dup", {}, at, "order-2", 10}});  // a second order: revenue, not a customer
  ASSERT_TRUE(feedback_->Flush().ok());
  v1::ReportOutcomeRequest report;
  report.set_recommendation_id(first.recommendation_id());
  report.set_item_id(first.offers(0).offer_id());
  report.set_outcome(v1::OUTCOME_CONVERSION);
  report.set_order_id("order-1");  // the same order again, reported by the shop
  report.set_value(40);
  ASSERT_TRUE(feedback_->ReportOutcome(report).ok());
  report.set_outcome(v1::OUTCOME_CLICK);
  ASSERT_TRUE(feedback_->ReportOutcome(report).ok());
  ASSERT_TRUE(feedback_->ReportOutcome(report).ok());
  const auto results = Results("d");
  const v1::VariantResults* v = Variant(results, "only");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->customers_exposed(), 1);
  EXPECT_EQ(v->conversions(), 1);
  EXPECT_DOUBLE_EQ(v->revenue(), 50);
  EXPECT_EQ(v->clicks(), 1);
  // The retry path: a flush while Redis is down keeps the batch and sends it later, once.
  redis_server_.Stop();
  recorder_->RecordExposures("late", {{"d", "only"}}, clock_.Now());
  EXPECT_FALSE(recorder_->Flush().ok());
  ASSERT_TRUE(redis_server_.Start().ok());
  // Redis may answer LOADING for a moment after the restart: those calls are kept too.
  ASSERT_TRUE(testing::PollUntil([&] { return recorder_->Flush().ok(); }, absl::Seconds(10)));
  auto after = recorder_->Results("d");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Variant(*after, "only")->customers_exposed(), 2);
  EXPECT_EQ(recorder_->dropped(), 0u);
}

}  // namespace
}  // namespace journey::recommend
