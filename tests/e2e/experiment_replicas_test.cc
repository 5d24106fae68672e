// Two journey-recommend processes with the same experiment definitions agree on every
// customer's holdout membership, experiment and variant, also after one restarts, and the
// exposures both served count each customer once (read back through GetExperimentResults).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey {
namespace {

using journey::testing::RedisServer;
using journey::testing::ServiceProcess;
namespace rv1 = journey::recommend::v1;

constexpr char kExperiments[] = R"(
holdout: {share: 10%, salt: replicas}
experiments:
  - {id: ranking, layer: products, traffic: 50%, variants: [{id: control}, {id: popularity, ranking: popularity}]}
  - {id: ranking-b, layer: products, traffic: 50%, variants: [{id: control}, {id: other}]}
  - {id: explore, layer: offers, variants: [{id: on}, {id: off, exploration: false}]}
)";

class ExperimentReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    dir_ = absl::StrCat(::testing::TempDir(), "/experiments-", getpid());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/test.yaml") << kExperiments;
    for (int i = 0; i < 2; ++i) {
      replicas_.push_back(std::make_unique<ServiceProcess>(
          "recommend", redis_.url(), std::map<std::string, std::string>{{"experiments_dir", dir_}}));
      ASSERT_TRUE(replicas_.back()->Start().ok()) << replicas_.back()->LogTail();
    }
  }
  void TearDown() override {
    replicas_.clear();
    std::filesystem::remove_all(dir_);
  }

  // "holdout" or "experiment=variant,..." as replica `r` answers for `uid`.
  std::string AssignmentOf(int r, const std::string& uid) {
    auto stub = rv1::Recommend::NewStub(replicas_[r]->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    rv1::GetRecommendationsRequest req;
    req.set_user_id(uid);
    rv1::GetRecommendationsResponse resp;
    grpc::Status s = stub->GetRecommendations(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(resp.degraded());
    if (resp.holdout()) return "holdout";
    std::string out;
    for (const auto& e : resp.experiments()) absl::StrAppend(&out, e.experiment_id(), "=", e.variant(), ",");
    return out;
  }

  RedisServer redis_;
  std::string dir_;
  std::vector<std::unique_ptr<ServiceProcess>> replicas_;
};

TEST_F(ExperimentReplicasTest, TwoProcessesAgreeAlsoAfterARestartAndCountEachCustomerOnce) {
  constexpr int kCustomers = 300;
  std::map<std::string, std::string> first;
  int held_out = 0;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string uid = absl::StrCat("customer-", i);
    const std::string a = AssignmentOf(0, uid);
    EXPECT_EQ(a, AssignmentOf(1, uid)) << uid;
    EXPECT_FALSE(a.empty()) << uid << " should be in the holdout or in two experiments";
    first[uid] = a;
    held_out += a == "holdout" ? 1 : 0;
  }
  EXPECT_GT(held_out, 10);
  EXPECT_LT(held_out, 60);

  ASSERT_EQ(replicas_[0]->Stop(), 0);
  ASSERT_TRUE(replicas_[0]->Start().ok()) << replicas_[0]->LogTail();
  for (const auto& [uid, a] : first) EXPECT_EQ(AssignmentOf(0, uid), a) << uid << " after the restart";

  // Both replicas served every customer (twice, for the first): one exposure each.
  auto stub = rv1::Recommend::NewStub(replicas_[1]->channel());
  rv1::GetExperimentResultsResponse results;
  int64_t exposed = 0;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        grpc::ClientContext ctx;
        rv1::GetExperimentResultsRequest req;
        req.set_experiment_id("holdout");
        if (!stub->GetExperimentResults(&ctx, req, &results).ok()) return false;
        exposed = 0;
        for (const auto& v : results.variants()) exposed += v.customers_exposed();
        return exposed >= kCustomers;
      },
      absl::Seconds(10)))
      << "exposed " << exposed;
  EXPECT_EQ(exposed, kCustomers);
  for (const auto& v : results.variants()) {
    if (v.variant() == "holdout") EXPECT_EQ(v.customers_exposed(), held_out);
  }
  grpc::ClientContext ctx;
  rv1::ListExperimentsResponse list;
  ASSERT_TRUE(stub->ListExperiments(&ctx, {}, &list).ok());
  EXPECT_EQ(list.holdout_share_bp(), 1000u);
  ASSERT_EQ(list.experiments_size(), 3);
  EXPECT_EQ(list.experiments(1).bucket_from(), 5000u);
}

}  // namespace
}  // namespace journey
