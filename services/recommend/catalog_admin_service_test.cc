// The offer catalog's admin RPCs on two journey-recommend replicas sharing one redis-server,
// black-box over gRPC: ValidateOffers answers what ApplyOffers would do and writes nothing,
// DeleteOffer removes one offer on every replica, bad input names the field, and concurrent
// applies and deletes on different replicas never undo each other.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::recommend {
namespace {

namespace v1 = journey::recommend::v1;

constexpr char kCatalog[] = R"(
offers:
  - {id: guide, kind: content, stages: [AWARENESS]}
  - {id: compare, kind: content, stages: [CONSIDERATION], title: Compare}
  - {id: free-ship, kind: free_shipping, stages: [DECISION], placements: [cart]}
)";

class CatalogAdminServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new testing::RedisServer();
    ASSERT_TRUE(redis_->Start().ok());
    a_ = new testing::ServiceProcess("recommend", redis_->url());
    b_ = new testing::ServiceProcess("recommend", redis_->url());
    ASSERT_TRUE(a_->Start().ok()) << a_->LogTail();
    ASSERT_TRUE(b_->Start().ok()) << b_->LogTail();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(a_->Stop(), 0) << a_->LogTail();
    EXPECT_EQ(b_->Stop(), 0) << b_->LogTail();
    delete a_;
    delete b_;
    delete redis_;
  }

  void SetUp() override {
    // Every test starts from kCatalog on both replicas.
    v1::ApplyOffersRequest req;
    req.set_yaml(kCatalog);
    req.set_replace_all(true);
    auto r = Apply(*a_, req);
    ASSERT_TRUE(r.valid()) << (r.errors().empty() ? "" : r.errors(0));
    ASSERT_TRUE(testing::PollUntil([&] { return List(*b_).version() == r.version(); }, absl::Seconds(10)));
  }

  static std::unique_ptr<v1::Recommend::Stub> Stub(testing::ServiceProcess& p) {
    return v1::Recommend::NewStub(p.channel());
  }
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return ctx;
  }
  static v1::ListOffersResponse List(testing::ServiceProcess& p) {
    v1::ListOffersResponse r;
    EXPECT_TRUE(Stub(p)->ListOffers(Ctx().get(), {}, &r).ok());
    return r;
  }
  static std::vector<std::string> Ids(const v1::ListOffersResponse& r) {
    std::vector<std::string> ids;
    for (const auto& o : r.offers()) ids.push_back(o.id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  static v1::ApplyOffersResponse Apply(testing::ServiceProcess& p, const v1::ApplyOffersRequest& req) {
    v1::ApplyOffersResponse r;
    grpc::Status s = Stub(p)->ApplyOffers(Ctx().get(), req, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  }
  static grpc::Status Delete(testing::ServiceProcess& p, const std::string& id, v1::DeleteOfferResponse* r) {
    v1::DeleteOfferRequest req;
    req.set_offer_id(id);
    return Stub(p)->DeleteOffer(Ctx().get(), req, r);
  }
  static std::string StoredCatalogVersion() {
    auto client = storage::HiredisClient::FromUrl(redis_->url());
    EXPECT_TRUE(client.ok());
    auto v = (*client)->Command({"HGET", keys::RecommendOfferCatalog("default"), "version"});
    EXPECT_TRUE(v.ok());
    return v.ok() ? v->str : "";
  }

  static testing::RedisServer* redis_;
  static testing::ServiceProcess* a_;
  static testing::ServiceProcess* b_;
};

testing::RedisServer* CatalogAdminServiceTest::redis_ = nullptr;
testing::ServiceProcess* CatalogAdminServiceTest::a_ = nullptr;
testing::ServiceProcess* CatalogAdminServiceTest::b_ = nullptr;

TEST_F(CatalogAdminServiceTest, ValidateOffersSaysWhatApplyWouldDoAndWritesNothing) {
  const v1::ListOffersResponse before = List(*a_);
  const std::string stored_before = StoredCatalogVersion();
  v1::ApplyOffersRequest req;
  // One new offer, one changed (title), one the same as stored (defaults filled in alike).
  req.set_yaml(R"(
offers:
  - {id: vip-gift, kind: loyalty_reward, stages: [LOYALTY]}
  - {id: compare, kind: content, stages: [CONSIDERATION], title: Compare them all}
  - {id: guide, kind: content, stages: [awareness]}
)");
  v1::ApplyOffersResponse r;
  grpc::Status s = Stub(*b_)->ValidateOffers(Ctx().get(), req, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(r.valid()) << (r.errors().empty() ? "" : r.errors(0));
  EXPECT_EQ(r.version(), before.version() + 1);
  EXPECT_EQ(std::vector<std::string>(r.added().begin(), r.added().end()), std::vector<std::string>{"vip-gift"});
  EXPECT_EQ(std::vector<std::string>(r.changed().begin(), r.changed().end()), std::vector<std::string>{"compare"});
  EXPECT_TRUE(r.removed().empty());
  EXPECT_EQ(r.unchanged(), 2);  // guide, free-ship
  EXPECT_EQ(r.offers(), 4);
  // replace_all would drop what the request does not name.
  req.set_replace_all(true);
  s = Stub(*a_)->ValidateOffers(Ctx().get(), req, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(std::vector<std::string>(r.removed().begin(), r.removed().end()), std::vector<std::string>{"free-ship"});
  EXPECT_EQ(r.offers(), 3);
  // Nothing was written: same stored version, same catalog on both replicas.
  EXPECT_EQ(StoredCatalogVersion(), stored_before);
  EXPECT_EQ(List(*a_).version(), before.version());
  EXPECT_EQ(Ids(List(*a_)), Ids(before));
  EXPECT_EQ(Ids(List(*b_)), Ids(before));
  // And applying the same request gives the answer validation announced.
  req.set_replace_all(false);
  v1::ApplyOffersResponse applied = Apply(*a_, req);
  ASSERT_TRUE(applied.valid());
  EXPECT_EQ(applied.version(), before.version() + 1);
  EXPECT_EQ(std::vector<std::string>(applied.added().begin(), applied.added().end()),
            std::vector<std::string>{"vip-gift"});
}

TEST_F(CatalogAdminServiceTest, ValidateOffersNamesTheFieldOfABadCatalog) {
  const int64_t version = List(*a_).version();
  v1::ApplyOffersRequest req;
  req.set_yaml("offers:\n  - {id: x, kind: coupon, stages: [DECISION]}\n");
  v1::ApplyOffersResponse r;
  ASSERT_TRUE(Stub(*a_)->ValidateOffers(Ctx().get(), req, &r).ok());
  EXPECT_FALSE(r.valid());
  ASSERT_EQ(r.errors_size(), 1);
  EXPECT_TRUE(absl::StrContains(r.errors(0), "yaml: offers[0].kind: unknown kind \"coupon\"")) << r.errors(0);
  EXPECT_EQ(r.version(), version);
  // A catalog error found only when the whole catalog is checked: a duplicate id.
  req.set_yaml("offers:\n  - {id: dup, kind: content, stages: [AWARENESS]}\n  - {id: dup, kind: content, stages: [LOYALTY]}\n");
  ASSERT_TRUE(Stub(*a_)->ValidateOffers(Ctx().get(), req, &r).ok());
  EXPECT_FALSE(r.valid());
  ASSERT_EQ(r.errors_size(), 1);
  EXPECT_TRUE(absl::StrContains(r.errors(0), "yaml: offers[1] (id \"dup\").id: duplicate offer id")) << r.errors(0);
  // And an offer the catalog rejects as a whole (valid_to before valid_from).
  req.set_yaml("offers:\n  - {id: late, kind: content, stages: [AWARENESS], valid_from: 2026-12-02T00:00:00Z, "
               "valid_to: 2026-12-01T00:00:00Z}\n");
  ASSERT_TRUE(Stub(*a_)->ValidateOffers(Ctx().get(), req, &r).ok());
  EXPECT_FALSE(r.valid());
  ASSERT_EQ(r.errors_size(), 1);
  EXPECT_TRUE(absl::StrContains(r.errors(0), "(id \"late\").valid_to: must be after valid_from")) << r.errors(0);
  // Nothing to validate at all is a bad request, naming the field.
  grpc::Status s = Stub(*a_)->ValidateOffers(Ctx().get(), v1::ApplyOffersRequest(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "yaml:")) << s.error_message();
  EXPECT_EQ(List(*a_).version(), version);
}

TEST_F(CatalogAdminServiceTest, DeleteOfferReachesEveryReplica) {
  // A customer nobody knows is in AWARENESS, where "guide" is the one offer.
  auto offered = [](testing::ServiceProcess& p) {
    v1::GetRecommendationsRequest get;
    get.set_user_id("unknown-customer");
    v1::GetRecommendationsResponse rec;
    EXPECT_TRUE(Stub(p)->GetRecommendations(Ctx().get(), get, &rec).ok());
    std::vector<std::string> ids;
    for (const auto& o : rec.offers()) ids.push_back(o.offer_id());
    return ids;
  };
  ASSERT_EQ(offered(*b_), std::vector<std::string>{"guide"});
  const int64_t version = List(*b_).version();
  v1::DeleteOfferResponse r;
  grpc::Status s = Delete(*a_, "guide", &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.version(), version + 1);
  EXPECT_EQ(r.offers(), 2);
  EXPECT_EQ(Ids(List(*a_)), (std::vector<std::string>{"compare", "free-ship"}));
  // The other replica adopts the new version from Redis on its own, and stops offering it.
  ASSERT_TRUE(testing::PollUntil([&] { return List(*b_).version() == version + 1; }, absl::Seconds(10)))
      << b_->LogTail();
  EXPECT_EQ(Ids(List(*b_)), (std::vector<std::string>{"compare", "free-ship"}));
  EXPECT_TRUE(offered(*b_).empty());
}

TEST_F(CatalogAdminServiceTest, DeleteOfferRefusesAnUnknownOrMissingId) {
  const int64_t version = List(*a_).version();
  v1::DeleteOfferResponse r;
  grpc::Status s = Delete(*b_, "no-such-offer", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "offer_id: the catalog has no offer 'no-such-offer'"))
      << s.error_message();
  s = Delete(*b_, "", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "offer_id: required");
  // Deleting twice: the second one finds nothing.
  ASSERT_TRUE(Delete(*a_, "guide", &r).ok());
  s = Delete(*b_, "guide", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(List(*a_).version(), version + 1);
}

TEST_F(CatalogAdminServiceTest, ConcurrentAppliesAndDeletesOnTwoReplicasAllTakeEffect) {
  // Ten offers to delete through replica B while replica A adds ten others, all at once.
  v1::ApplyOffersRequest seed;
  std::string yaml = "offers:\n";
  for (int i = 0; i < 10; ++i) absl::StrAppend(&yaml, "  - {id: old-", i, ", kind: content, stages: [AWARENESS]}\n");
  seed.set_yaml(yaml);
  const int64_t seeded = Apply(*a_, seed).version();
  ASSERT_TRUE(testing::PollUntil([&] { return List(*b_).version() >= seeded; }, absl::Seconds(10)));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      v1::ApplyOffersRequest add;
      add.set_yaml(absl::StrCat("offers:\n  - {id: new-", i, ", kind: content, stages: [LOYALTY]}\n"));
      v1::ApplyOffersResponse r;
      grpc::Status s = Stub(*a_)->ApplyOffers(Ctx().get(), add, &r);
      if (!s.ok() || !r.valid()) ++failures;
    });
    threads.emplace_back([&, i] {
      v1::DeleteOfferResponse r;
      if (!Delete(*b_, absl::StrCat("old-", i), &r).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<std::string> want = {"compare", "free-ship", "guide"};
  for (int i = 0; i < 10; ++i) want.push_back(absl::StrCat("new-", i));
  std::sort(want.begin(), want.end());
  const int64_t final_version = seeded + 20;
  for (testing::ServiceProcess* p : {a_, b_}) {
    EXPECT_TRUE(testing::PollUntil([&] { return List(*p).version() == final_version; }, absl::Seconds(10)))
        << "version " << List(*p).version();
    EXPECT_EQ(Ids(List(*p)), want);
  }
}

}  // namespace
}  // namespace journey::recommend
