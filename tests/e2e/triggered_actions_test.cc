// Triggered actions and orchestration with the real binaries: an abandoned cart in
// journey-journey produces exactly one signed webhook call carrying the recovery offer; a
// journey killed while its webhook POST is in flight loses no action after a restart; two
// journey-recommend replicas answering the same customer at once never exceed the global
// daily cap of promotional offers.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/experiment/assignment.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"
#include "journey/common/v1/common.pb.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"
#include "tests/testing/webhook_receiver.h"

namespace journey {
namespace {

namespace pb = journey::common::v1;
namespace rv1 = journey::recommend::v1;
using testing::ServiceProcess;
constexpr int kPartitions = 4;
constexpr char kSecret[] = "e2e-webhook-secret";

std::string TempDir() {
  char tmpl[] = "/tmp/journey-triggers-XXXXXX";
  return mkdtemp(tmpl);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// The same HMAC the sender computes, with openssl's command line, so the check does not
// reuse the code under test.
std::string OpensslHmac(const std::string& secret, const std::string& message) {
  const std::string dir = TempDir();
  WriteFile(dir + "/m", message);
  const std::string cmd = absl::StrCat("openssl dgst -sha256 -hmac '", secret, "' -r ", dir, "/m > ", dir, "/out");
  if (std::system(cmd.c_str()) != 0) return "";
  std::ifstream in(dir + "/out");
  std::string hex;
  in >> hex;
  return hex;
}

class TriggeredActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    auto client = storage::HiredisClient::FromUrl(redis_server_.url());
    ASSERT_TRUE(client.ok());
    redis_ = std::move(*client);
    dir_ = TempDir();
    // The default journey, with carts abandoned after 2 s instead of 24 h.
    std::ifstream def(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
    std::string text((std::istreambuf_iterator<char>(def)), std::istreambuf_iterator<char>());
    text = absl::StrReplaceAll(text, {{"after_hours: 24", "after_s: 2"}});
    WriteFile(dir_ + "/journey.yaml", text);
    std::system(absl::StrCat("mkdir -p ", dir_, "/triggers").c_str());
    WriteFile(dir_ + "/triggers/cart.yaml", R"(
orchestration: {global_cap_per_day: 3}
triggers:
  - {id: cart-recovery, on: abandoned, stage: DECISION, offer: cart-recovery-10, channel: email, consent: marketing, promotional: true}
)");
    WriteFile(dir_ + "/secret", std::string(kSecret) + "\n");
  }

  std::unique_ptr<ServiceProcess> Journey(const std::string& webhook_url) {
    return std::make_unique<ServiceProcess>(
        "journey", redis_server_.url(),
        std::map<std::string, std::string>{{"partitions", std::to_string(kPartitions)},
                                           {"replica_id", "journey-1"},
                                           {"journey_definition", dir_ + "/journey.yaml"},
                                           {"triggers_dir", dir_ + "/triggers"},
                                           {"timer_tick_ms", "100"},
                                           {"action_webhook_url", webhook_url},
                                           {"action_webhook_secret_file", dir_ + "/secret"},
                                           {"action_webhook_timeout_ms", "20000"},
                                           {"action_webhook_backoff_ms", "100"}});
  }

  // A customer out of the holdout who consented to marketing, as persona publishes it.
  std::string Customer(const std::string& prefix) {
    for (int i = 0;; ++i) {
      const std::string id = absl::StrCat(prefix, "-", i);
      if (experiment::InHoldout(experiment::HoldoutConfig{}, "default", id)) continue;
      pb::PersonaSnapshot persona;
      persona.set_user_id(id);
      (*persona.mutable_consent())["marketing"] = true;
      EXPECT_TRUE(redis_->Command({"HSET", keys::View("default", id), std::string(keys::kViewPersonaField),
                                   persona.SerializeAsString()})
                      .ok());
      return id;
    }
  }

  // As ingest appends: a Product Added event for the customer.
  void AddToCart(const std::string& uid) {
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    pb::Event* e = env.mutable_event();
    e->set_type(pb::EVENT_TYPE_TRACK);
    e->set_name("Product Added");
    e->set_user_id(uid);
    e->set_product_id("sku-42");
    e->set_price(59);
    e->set_message_id(absl::StrCat(uid, "-add"));
    prototime::ToProto(absl::Now(), e->mutable_timestamp());
    ASSERT_TRUE(redis_->Command({"XADD", keys::EventStream(keys::PartitionOf(uid, kPartitions)), "*", "e",
                                 env.SerializeAsString()})
                    .ok());
  }

  long long PendingWebhook() {
    long long pending = 0;
    for (int p = 0; p < kPartitions; ++p) {
      auto r = redis_->Command({"XPENDING", keys::ActionStream(p), "webhook"});
      if (r.ok() && !r->elements.empty()) pending += r->elements[0].integer;
    }
    return pending;
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::RedisClient> redis_;
  std::string dir_;
  testing::WebhookReceiver receiver_{{"X-Journey-Signature", "X-Journey-Timestamp", "X-Journey-Idempotency-Key"}};
};

TEST_F(TriggeredActionsTest, AbandonedCartProducesOneSignedWebhookCallWithTheRecoveryOffer) {
  auto journey = Journey(receiver_.url());
  ASSERT_TRUE(journey->Start().ok()) << journey->LogTail();
  const std::string uid = Customer("shopper");
  AddToCart(uid);
  ASSERT_TRUE(testing::PollUntil([&] { return !receiver_.requests().empty(); }, absl::Seconds(20)))
      << journey->LogTail();
  ASSERT_TRUE(testing::PollUntil([&] { return PendingWebhook() == 0; }, absl::Seconds(10)));
  const auto requests = receiver_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_NE(r.body.find("\"offer_id\":\"cart-recovery-10\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(absl::StrCat("\"user_id\":\"", uid, "\"")), std::string::npos) << r.body;
  EXPECT_EQ(r.headers.at("X-Journey-Idempotency-Key").size(), 64u);
  const std::string expected =
      OpensslHmac(kSecret, absl::StrCat(r.headers.at("X-Journey-Timestamp"), ".", r.body));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(r.headers.at("X-Journey-Signature"), "sha256=" + expected);
  EXPECT_EQ(journey->Stop(), 0) << journey->LogTail();
}

TEST_F(TriggeredActionsTest, NoActionLostWhenTheJourneyIsKilledMidDelivery) {
  // The first POST hangs (the receiver is slow), so the sender is mid-delivery when killed.
  receiver_.Answer({}, {1}, 8000);
  auto journey = Journey(receiver_.url());
  ASSERT_TRUE(journey->Start().ok()) << journey->LogTail();
  std::set<std::string> customers;
  for (int i = 0; i < 5; ++i) {
    customers.insert(Customer(absl::StrCat("kill", i)));
    AddToCart(*customers.rbegin());
  }
  ASSERT_TRUE(testing::PollUntil([&] { return !receiver_.requests().empty(); }, absl::Seconds(20)))
      << journey->LogTail();
  // All five abandonments decided (the stream holds them) before the kill.
  ASSERT_TRUE(testing::PollUntil([&] {
    long long n = 0;
    for (int p = 0; p < kPartitions; ++p) n += redis_->Command({"XLEN", keys::ActionStream(p)}).value().integer;
    return n == 5;
  }, absl::Seconds(10)));
  journey->Kill();
  ASSERT_TRUE(journey->Start().ok()) << journey->LogTail();
  ASSERT_TRUE(testing::PollUntil([&] { return PendingWebhook() == 0 && receiver_.requests().size() >= 6; },
                                 absl::Seconds(30)))
      << journey->LogTail();
  std::set<std::string> delivered;
  for (const auto& r : receiver_.requests()) {
    for (const std::string& uid : customers) {
      if (r.body.find(absl::StrCat("\"user_id\":\"", uid, "\"")) != std::string::npos) delivered.insert(uid);
    }
  }
  EXPECT_EQ(delivered, customers);
  EXPECT_EQ(journey->Stop(), 0) << journey->LogTail();
}

TEST_F(TriggeredActionsTest, GlobalCapHoldsAcrossTwoRecommendReplicas) {
  std::vector<std::unique_ptr<ServiceProcess>> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.push_back(std::make_unique<ServiceProcess>(
        "recommend", redis_server_.url(),
        std::map<std::string, std::string>{{"partitions", std::to_string(kPartitions)},
                                           {"triggers_dir", dir_ + "/triggers"}}));
    ASSERT_TRUE(replicas.back()->Start().ok()) << replicas.back()->LogTail();
  }
  const std::string uid = Customer("capped");
  pb::JourneySnapshot journey;
  journey.set_user_id(uid);
  journey.set_stage("DECISION");
  ASSERT_TRUE(redis_->Command({"HSET", keys::View("default", uid), std::string(keys::kViewJourneyField),
                               journey.SerializeAsString()})
                  .ok());
  std::atomic<int> promotional{0}, answered{0};
  auto hammer = [&](ServiceProcess* replica) {
    auto stub = rv1::Recommend::NewStub(replica->channel());
    for (int i = 0; i < 15; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      rv1::GetRecommendationsRequest req;
      req.set_user_id(uid);
      req.set_placement(rv1::PLACEMENT_CART);
      rv1::GetRecommendationsResponse resp;
      if (!stub->GetRecommendations(&ctx, req, &resp).ok() || resp.degraded()) continue;
      ++answered;
      for (const auto& o : resp.offers()) {
        if (o.kind() == rv1::OFFER_KIND_DISCOUNT || o.kind() == rv1::OFFER_KIND_FREE_SHIPPING ||
            o.kind() == rv1::OFFER_KIND_BUNDLE) {
          ++promotional;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(hammer, replicas[t % 2].get());
  for (auto& t : threads) t.join();
  EXPECT_GE(answered.load(), 50);
  EXPECT_EQ(promotional.load(), 3);  // exactly the cap: reached, never exceeded
  auto used = redis_->Command({"GET", keys::OrchestrationCapDay("default", uid,
                                                                absl::FormatTime("%Y%m%d", absl::Now(), absl::UTCTimeZone()))});
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(used->str, "3");
}

}  // namespace
}  // namespace journey
