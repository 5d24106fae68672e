// End to end: a real redis-server and the four real service binaries; one customer's events
// go in through ingest's gRPC API and come out as journey stages and stage-fitted offers.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey {
namespace {

using journey::testing::PollUntil;
using journey::testing::RedisServer;
using journey::testing::ServiceProcess;

// Authentication is on: every service inserts this admin key at start, every call sends it.
constexpr char kAdminKey[] = "jk_e2e_bootstrap_admin_key_0123456789";

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx->AddMetadata("authorization", std::string("Bearer ") + kAdminKey);
  return ctx;
}

class SuiteFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    for (const char* name : {"ingest", "journey", "persona", "recommend"}) {
      services_[name] = std::make_unique<ServiceProcess>(name, redis_.url());
      services_[name]->set_bootstrap_admin_key(kAdminKey);
      auto status = services_[name]->Start();
      ASSERT_TRUE(status.ok()) << status;
    }
    ingest_ = ingest::v1::Ingest::NewStub(services_["ingest"]->channel());
    journey_ = state::v1::Journey::NewStub(services_["journey"]->channel());
    persona_ = persona::v1::Persona::NewStub(services_["persona"]->channel());
    recommend_ = recommend::v1::Recommend::NewStub(services_["recommend"]->channel());
  }

  grpc::Status Track(const std::string& user, const std::string& message_id, const std::string& name,
                     const std::string& product, const std::string& order, double revenue, absl::Time at) {
    ingest::v1::TrackRequest request;
    auto* e = request.mutable_event();
    e->set_message_id(message_id);
    e->set_type(common::v1::EVENT_TYPE_TRACK);
    e->set_user_id(user);
    e->set_name(name);
    e->set_product_id(product);
    e->set_order_id(order);
    e->set_revenue(revenue);
    e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(at));
    ingest::v1::TrackResponse response;
    return ingest_->Track(Ctx().get(), request, &response);
  }

  common::v1::JourneySnapshot Journey(const std::string& user) {
    state::v1::GetJourneyRequest request;
    request.set_user_id(user);
    state::v1::GetJourneyResponse response;
    auto status = journey_->GetJourney(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.journey();
  }

  // The stage, or "" while the journey service cannot answer (e.g. right after Redis restarts).
  std::string StageOrEmpty(const std::string& user) {
    state::v1::GetJourneyRequest request;
    request.set_user_id(user);
    state::v1::GetJourneyResponse response;
    return journey_->GetJourney(Ctx().get(), request, &response).ok() ? response.journey().stage() : "";
  }

  std::string OfferIds(const std::string& user) {
    recommend::v1::GetRecommendationsRequest request;
    request.set_user_id(user);
    request.set_limit(5);
    recommend::v1::GetRecommendationsResponse response;
    auto status = recommend_->GetRecommendations(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const auto& o : response.offers()) ids.push_back(o.offer_id());
    return absl::StrJoin(ids, ",");
  }

  RedisServer redis_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> services_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<state::v1::Journey::Stub> journey_;
  std::unique_ptr<persona::v1::Persona::Stub> persona_;
  std::unique_ptr<recommend::v1::Recommend::Stub> recommend_;
};

TEST_F(SuiteFlowTest, CustomerMovesThroughStagesAndOffersFollow) {
  for (auto& [name, svc] : services_) EXPECT_TRUE(svc->Serving()) << name;

  const std::string user = "e2e-customer-1";
  struct Step {
    std::string name, product, order;
    double revenue;
    std::string expected_stage;
  };
  const std::vector<Step> steps = {
      {"Product Viewed", "p-1", "", 0, "CONSIDERATION"},
      {"Product Added", "p-1", "", 0, "DECISION"},
      {"Order Completed", "p-1", "o-1", 42, "PURCHASE"},
      {"Order Completed", "p-2", "o-2", 17, "LOYALTY"},
  };
  absl::Time at = absl::Now() - absl::Minutes(10);
  std::vector<std::string> offers_per_step;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    at += absl::Minutes(1);
    ASSERT_TRUE(Track(user, absl::StrCat("e2e-m", i), s.name, s.product, s.order, s.revenue, at).ok());
    EXPECT_TRUE(PollUntil([&] { return Journey(user).stage() == s.expected_stage; }, absl::Seconds(5)))
        << "after " << s.name << " stage is " << Journey(user).stage() << ", expected " << s.expected_stage;
    offers_per_step.push_back(OfferIds(user));
    EXPECT_FALSE(offers_per_step.back().empty()) << "no offers at " << s.expected_stage;
  }
  std::set<std::string> distinct(offers_per_step.begin(), offers_per_step.end());
  EXPECT_EQ(distinct.size(), steps.size()) << "offers must change with the stage: "
                                           << absl::StrJoin(offers_per_step, " | ");

  // Persona saw the same events: two orders, counted once each.
  persona::v1::GetProfileRequest preq;
  preq.set_user_id(user);
  persona::v1::Profile profile;
  EXPECT_TRUE(PollUntil([&] {
    return persona_->GetProfile(Ctx().get(), preq, &profile).ok() && profile.computed().orders() == 2;
  })) << profile.DebugString();
  EXPECT_DOUBLE_EQ(profile.computed().revenue(), 59.0);
}

TEST_F(SuiteFlowTest, RetriedEventIsCountedOnce) {
  const std::string user = "e2e-retry";
  const absl::Time at = absl::Now() - absl::Minutes(1);
  ASSERT_TRUE(Track(user, "retry-1", "Order Completed", "p-1", "o-1", 10, at).ok());
  ASSERT_TRUE(Track(user, "retry-1", "Order Completed", "p-1", "o-1", 10, at).ok());
  ASSERT_TRUE(Track(user, "retry-2", "Product Viewed", "p-9", "", 0, at + absl::Seconds(1)).ok());
  // The later event is applied, so the retry had its chance to be applied too.
  ASSERT_TRUE(PollUntil([&] { return Journey(user).touchpoints_size() >= 2; }));
  EXPECT_EQ(Journey(user).orders(), 1);
  EXPECT_EQ(Journey(user).touchpoints_size(), 2);
}

TEST_F(SuiteFlowTest, BadEventIsRejectedNamingTheField) {
  ingest::v1::TrackRequest request;
  request.mutable_event()->set_name("Product Viewed");  // neither user_id nor anonymous_id
  ingest::v1::TrackResponse response;
  grpc::Status status = ingest_->Track(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("user_id"), std::string::npos) << status.error_message();
}

TEST_F(SuiteFlowTest, HealthFollowsRedisAndRecovers) {
  redis_.Stop();
  for (auto& [name, svc] : services_) {
    EXPECT_TRUE(PollUntil([&] { return !svc->Serving(); }, absl::Seconds(5))) << name << " still SERVING";
  }
  ASSERT_TRUE(redis_.Start().ok());
  for (auto& [name, svc] : services_) {
    EXPECT_TRUE(PollUntil([&] { return svc->Serving(); }, absl::Seconds(10))) << name << " did not recover";
  }
  // And the data path works again without a restart.
  ASSERT_TRUE(PollUntil([&] {
    return Track("after-restart", "ar-1", "Product Viewed", "p-1", "", 0, absl::Now()).ok();
  }, absl::Seconds(5)));
  EXPECT_TRUE(PollUntil([&] { return StageOrEmpty("after-restart") == "CONSIDERATION"; }, absl::Seconds(10)));
}

TEST_F(SuiteFlowTest, SigtermDrainsEveryServiceCleanly) {
  for (const char* name : {"recommend", "persona", "journey", "ingest"}) {
    EXPECT_EQ(services_[name]->Stop(), 0) << name << " log: " << services_[name]->LogTail();
  }
}

}  // namespace
}  // namespace journey
