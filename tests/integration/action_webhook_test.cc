// Webhook delivery of the action streams to a real local HTTP server (civetweb): signatures
// verify, 5xx and timeouts are retried with backoff (time from a manual clock), the dead-letter
// list takes an action after the limit, and a sender stopped mid-batch loses nothing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/orchestration/action_outbox.h"
#include "common/orchestration/webhook_delivery.h"
#include "common/orchestration/webhook_signature.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/webhook_receiver.h"

namespace journey::orchestration {
namespace {

namespace pb = journey::common::v1;
constexpr char kSecret[] = "webhook-test-secret";
constexpr int kPartitions = 2;

// What the tests read of one POST the receiver got.
struct Call {
  std::string key, body;
  bool signature_ok = false;
  int attempt = 0;
};

class Receiver {
 public:
  Receiver()
      : server_({std::string(kIdempotencyHeader), std::string(kTimestampHeader), std::string(kSignatureHeader),
                 std::string(kAttemptHeader)}) {}
  const std::string& url() const { return server_.url(); }
  void Answer(std::vector<int> statuses, std::set<int> stalls = {}, int stall_ms = 0) {
    server_.Answer(std::move(statuses), std::move(stalls), stall_ms);
  }
  std::vector<Call> calls() {
    std::vector<Call> out;
    for (auto& r : server_.requests()) {
      Call c;
      c.key = r.headers[std::string(kIdempotencyHeader)];
      c.body = r.body;
      c.signature_ok = VerifyWebhookSignature(kSecret, r.headers[std::string(kTimestampHeader)], r.body,
                                              r.headers[std::string(kSignatureHeader)]);
      c.attempt = std::atoi(r.headers[std::string(kAttemptHeader)].c_str());
      out.push_back(std::move(c));
    }
    return out;
  }

 private:
  testing::WebhookReceiver server_;
};

class ActionWebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    auto client = storage::HiredisClient::FromUrl(redis_server_.url());
    ASSERT_TRUE(client.ok()) << client.status();
    redis_ = std::move(*client);
  }

  WebhookOptions Options(const std::string& consumer = "sender-a") {
    WebhookOptions o;
    o.url = receiver_.url();
    o.secret = kSecret;
    o.consumer = consumer;
    o.partitions = kPartitions;
    o.max_attempts = 4;
    o.initial_backoff = absl::Seconds(1);
    o.timeout = absl::Milliseconds(300);
    return o;
  }

  std::unique_ptr<WebhookDelivery> Sender(WebhookOptions o) {
    auto s = WebhookDelivery::Create(redis_.get(), &clock_, std::move(o));
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  // Appends n actions as the outbox does; returns their idempotency keys.
  std::set<std::string> Append(int n, uint32_t partition = 0) {
    std::set<std::string> keys_out;
    for (int i = 0; i < n; ++i) {
      pb::Action a;
      a.set_workspace_id("default");
      a.set_user_id(absl::StrCat("u", i));
      a.set_trigger_id("cart-recovery");
      a.set_offer_id("cart-recovery-10");
      a.set_idempotency_key(IdempotencyKey("default", a.user_id(), "cart-recovery", absl::StrCat("c", ++seq_)));
      keys_out.insert(a.idempotency_key());
      EXPECT_TRUE(redis_->Command({"XADD", keys::ActionStream(partition), "*", "a", a.SerializeAsString()}).ok());
    }
    return keys_out;
  }

  long long Pending(uint32_t partition = 0) {
    auto r = redis_->Command({"XPENDING", keys::ActionStream(partition), "webhook"});
    return r.ok() && !r->elements.empty() ? r->elements[0].integer : -1;
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::RedisClient> redis_;
  ManualClock clock_;
  Receiver receiver_;
  int seq_ = 0;
};

TEST_F(ActionWebhookTest, DeliversSignedActionsWithTheirKeys) {
  std::set<std::string> sent = Append(3, 0);
  for (const auto& k : Append(2, 1)) sent.insert(k);
  auto sender = Sender(Options());
  EXPECT_EQ(sender->RunOnce().value_or(-1), 5);
  std::set<std::string> got;
  for (const auto& c : receiver_.calls()) {
    EXPECT_TRUE(c.signature_ok) << c.body;
    EXPECT_EQ(c.attempt, 1);
    EXPECT_NE(c.body.find("\"offer_id\":\"cart-recovery-10\""), std::string::npos) << c.body;
    got.insert(c.key);
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(Pending(0), 0);
  EXPECT_EQ(Pending(1), 0);
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);  // nothing twice
  EXPECT_EQ(receiver_.calls().size(), 5u);
  auto counts = ReadActionCounts(redis_.get(), "default");
  EXPECT_EQ((*counts)["delivered|webhook|cart-recovery"], 5);
}

TEST_F(ActionWebhookTest, RetriesAfter5xxAndTimeoutsWithExponentialBackoff) {
  // 503, then a stall past the 300 ms timeout, then 200.
  receiver_.Answer({503, 200, 200}, {2}, 1500);
  Append(1);
  auto sender = Sender(Options());
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);  // 503
  EXPECT_EQ(receiver_.calls().size(), 1u);
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);  // backing off: no POST yet
  EXPECT_EQ(receiver_.calls().size(), 1u);
  clock_.Advance(absl::Seconds(1));               // first backoff: 1 s
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);  // times out
  EXPECT_EQ(receiver_.calls().size(), 2u);
  clock_.Advance(absl::Seconds(1));               // second backoff is 2 s: not yet
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);
  EXPECT_EQ(receiver_.calls().size(), 2u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(sender->RunOnce().value_or(-1), 1);  // delivered
  const auto calls = receiver_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].attempt, 3);
  EXPECT_EQ(calls[0].key, calls[2].key);  // the same key on every attempt: receivers dedupe
  EXPECT_TRUE(calls[2].signature_ok);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(ActionWebhookTest, DeadLetterAfterTheLimit) {
  receiver_.Answer({500, 500, 500, 500, 500});
  Append(1);
  auto sender = Sender(Options());
  int done = 0;
  for (int i = 0; i < 4; ++i) {
    done += sender->RunOnce().value_or(-100);
    clock_.Advance(absl::Seconds(60));
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(receiver_.calls().size(), 4u);  // max_attempts
  EXPECT_EQ(Pending(), 0);
  auto dead = redis_->Command({"LRANGE", keys::ActionDeadLetters(0), "0", "-1"});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->elements.size(), 1u);
  pb::Action a;
  ASSERT_TRUE(a.ParseFromString(dead->elements[0].str));
  EXPECT_EQ(a.idempotency_key(), receiver_.calls()[0].key);
  auto counts = ReadActionCounts(redis_.get(), "default");
  EXPECT_EQ((*counts)["dead_letter|webhook|cart-recovery"], 1);
  EXPECT_EQ(sender->RunOnce().value_or(-1), 0);
  EXPECT_EQ(receiver_.calls().size(), 4u);
}

TEST_F(ActionWebhookTest, NothingLostWhenASenderStopsMidBatch) {
  const std::set<std::string> sent = Append(20);
  {
    // Reads all 20 and posts 5, then "dies": the other 15 stay pending, unacknowledged.
    auto doomed = Sender(Options("sender-a"));
    EXPECT_EQ(doomed->RunOnce(5).value_or(-1), 5);
    EXPECT_EQ(Pending(), 15);
  }
  // The same replica restarting finds its own pending entries first.
  auto restarted = Sender(Options("sender-a"));
  EXPECT_EQ(restarted->RunOnce(5).value_or(-1), 5);
  // A second replica takes over what the first leaves idle (reclaim_idle 0 here: at once).
  WebhookOptions other = Options("sender-b");
  other.reclaim_idle = absl::ZeroDuration();
  restarted.reset();
  auto taker = Sender(other);
  EXPECT_EQ(taker->RunOnce().value_or(-1), 10);
  EXPECT_EQ(Pending(), 0);
  std::set<std::string> got;
  for (const auto& c : receiver_.calls()) got.insert(c.key);
  EXPECT_EQ(got, sent);
  EXPECT_EQ(receiver_.calls().size(), 20u);  // and here, none twice
}

}  // namespace
}  // namespace journey::orchestration
