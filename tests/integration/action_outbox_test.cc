// The action outbox against a real redis-server, time from a manual clock: cool-downs,
// re-entry, quiet hours deferral and release, duplicates, and the global cap under two
// outboxes (two connections, two threads, as two replicas) deciding at once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "tests/testing/redis_server.h"

namespace journey::orchestration {
namespace {

namespace pb = journey::common::v1;

class ActionOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    redis_ = Connect();
    config_.rules.global_cap_per_day = 3;
    config_.rules.default_time_zone = "UTC";
    config_.rules.quiet_hours[pb::CHANNEL_EMAIL] = {21 * 60, 8 * 60};
    config_.holdout.share_bp = 0;  // nobody held out unless a test says so
    TriggerSpec promo;
    promo.id = "promo";
    promo.offer_id = "save10";
    promo.channel = pb::CHANNEL_PUSH;
    promo.promotional = true;
    TriggerSpec flow = promo;
    flow.id = "flow";
    flow.promotional = false;
    flow.reentry_after = absl::Hours(48);
    TriggerSpec mail = promo;
    mail.id = "mail";
    mail.channel = pb::CHANNEL_EMAIL;
    mail.promotional = false;
    config_.triggers = {promo, flow, mail};
    // 12:00 UTC: outside the email quiet hours.
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 12, 1, 12, 0), absl::UTCTimeZone()));
    outbox_ = std::make_unique<ActionOutbox>(redis_.get(), &clock_, config_);
  }

  std::unique_ptr<storage::RedisClient> Connect() {
    auto client = storage::HiredisClient::FromUrl(redis_server_.url());
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(*client);
  }

  ActionCandidate Candidate(const std::string& trigger, const std::string& cause, const std::string& uid = "u1") {
    ActionCandidate c;
    for (const TriggerSpec& t : outbox_->config().triggers) {
      if (t.id == trigger) c.trigger = &t;
    }
    c.cause_id = cause;
    c.partition = 0;
    c.action.set_workspace_id("default");
    c.action.set_user_id(uid);
    return c;
  }

  std::string DecideOne(ActionCandidate c) {
    std::vector<ActionCandidate> one;
    one.push_back(std::move(c));
    auto r = outbox_->Decide(std::move(one));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front() : "";
  }

  void StartCooldown(const std::string& kind, absl::Duration length) {
    std::vector<storage::RedisCommand> cmds;
    AppendCooldownCommands("default", "u1", kind, clock_.Now(), length, &cmds);
    auto replies = redis_->Pipeline(cmds);
    ASSERT_TRUE(replies.ok()) << replies.status();
    for (const auto& r : *replies) ASSERT_FALSE(r.is_error()) << r.str;
  }

  long long StreamLength() {
    auto r = redis_->Command({"XLEN", keys::ActionStream(0)});
    return r.ok() ? r->integer : -1;
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::RedisClient> redis_;
  ManualClock clock_;
  TriggerConfig config_;
  std::unique_ptr<ActionOutbox> outbox_;
};

TEST_F(ActionOutboxTest, SameCauseDecidesOnceAndCarriesItsKey) {
  EXPECT_EQ(DecideOne(Candidate("promo", "c1")), "sent");
  EXPECT_EQ(DecideOne(Candidate("promo", "c1")), "duplicate");
  EXPECT_EQ(StreamLength(), 1);
  auto entries = redis_->Command({"XRANGE", keys::ActionStream(0), "-", "+"});
  ASSERT_TRUE(entries.ok());
  pb::Action a;
  ASSERT_TRUE(a.ParseFromString(entries->elements[0].elements[1].elements[1].str));
  EXPECT_EQ(a.idempotency_key(), IdempotencyKey("default", "u1", "promo", "c1"));
  EXPECT_EQ(a.offer_id(), "save10");
  EXPECT_EQ(a.channel(), pb::CHANNEL_PUSH);
  auto counts = ReadActionCounts(redis_.get(), "default");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["sent||promo"], 1);
  EXPECT_EQ((*counts)["duplicate||promo"], 1);
}

TEST_F(ActionOutboxTest, CooldownAfterConversionAndDismissalHoldsPromotionsOnly) {
  StartCooldown("conversion", absl::Hours(24));
  EXPECT_EQ(DecideOne(Candidate("promo", "c1")), "suppressed:cooldown_conversion");
  EXPECT_EQ(DecideOne(Candidate("flow", "c1")), "sent");  // not promotional
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(DecideOne(Candidate("promo", "c2")), "sent");
  StartCooldown("dismissal", absl::Hours(6));
  // The hash outlives its longest cool-down (24 h conversion, started first), in Redis's time.
  auto ttl = redis_->Command({"PTTL", keys::OrchestrationCooldown("default", "u1")});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(25)));
  clock_.Advance(absl::Hours(6) - absl::Seconds(1));
  EXPECT_EQ(DecideOne(Candidate("promo", "c3")), "suppressed:cooldown_dismissal");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(DecideOne(Candidate("promo", "c4")), "sent");
  auto counts = ReadActionCounts(redis_.get(), "default");
  EXPECT_EQ((*counts)["suppressed|cooldown_conversion|promo"], 1);
  EXPECT_EQ((*counts)["suppressed|cooldown_dismissal|promo"], 1);
}

TEST_F(ActionOutboxTest, ReentryWaitsForTheTriggersWindow) {
  EXPECT_EQ(DecideOne(Candidate("flow", "visit-1")), "sent");
  clock_.Advance(absl::Hours(47));
  EXPECT_EQ(DecideOne(Candidate("flow", "visit-2")), "suppressed:reentry");
  EXPECT_EQ(DecideOne(Candidate("flow", "other-user", "u2")), "sent");  // per customer
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(DecideOne(Candidate("flow", "visit-3")), "sent");
}

TEST_F(ActionOutboxTest, QuietHoursDeferToTheirEndThenRelease) {
  // 22:00 UTC: the email goes at 08:00 UTC, not now, and is not dropped.
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 12, 1, 22, 0), absl::UTCTimeZone()));
  EXPECT_EQ(DecideOne(Candidate("mail", "c1")), "deferred");
  EXPECT_EQ(DecideOne(Candidate("promo", "c1")), "sent");  // push has no quiet hours here
  EXPECT_EQ(StreamLength(), 1);
  const absl::Time eight = absl::FromCivil(absl::CivilMinute(2026, 12, 2, 8, 0), absl::UTCTimeZone());
  EXPECT_EQ(outbox_->ReleaseDue(0, eight - absl::Milliseconds(1)).value_or(-1), 0);
  EXPECT_EQ(outbox_->ReleaseDue(0, eight).value_or(-1), 1);
  EXPECT_EQ(outbox_->ReleaseDue(0, eight + absl::Hours(1)).value_or(-1), 0);  // once
  EXPECT_EQ(StreamLength(), 2);
  auto entries = redis_->Command({"XRANGE", keys::ActionStream(0), "-", "+"});
  pb::Action released;
  ASSERT_TRUE(released.ParseFromString(entries->elements[1].elements[1].elements[1].str));
  EXPECT_EQ(released.trigger_id(), "mail");
  EXPECT_EQ(released.deferred_until().seconds(), absl::ToUnixSeconds(eight));
  // In New York it is 17:00: not quiet there.
  ActionCandidate ny = Candidate("mail", "c2");
  ny.time_zone = "America/New_York";
  EXPECT_EQ(DecideOne(std::move(ny)), "sent");
}

TEST_F(ActionOutboxTest, HoldoutAndConsentAreSuppressedAndCounted) {
  TriggerConfig held = config_;
  held.holdout.share_bp = experiment::kAssignmentBuckets;  // everybody
  ActionOutbox all_held(redis_.get(), &clock_, held);
  std::vector<ActionCandidate> one;
  one.push_back(Candidate("promo", "c1"));
  one.back().trigger = &all_held.config().triggers[0];
  EXPECT_EQ(all_held.Decide(std::move(one)).value().front(), "suppressed:holdout");

  TriggerConfig consented = config_;
  consented.triggers[0].consent_purpose = "marketing";
  ActionOutbox needs_consent(redis_.get(), &clock_, consented);
  std::vector<ActionCandidate> two;
  two.push_back(Candidate("promo", "c2"));
  two.push_back(Candidate("promo", "c3"));
  for (auto& c : two) c.trigger = &needs_consent.config().triggers[0];
  two[1].consent["marketing"] = true;
  auto r = needs_consent.Decide(std::move(two));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], "suppressed:consent");
  EXPECT_EQ((*r)[1], "sent");
  auto counts = ReadActionCounts(redis_.get(), "default");
  EXPECT_EQ((*counts)["suppressed|holdout|promo"], 1);
  EXPECT_EQ((*counts)["suppressed|consent|promo"], 1);
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(ActionOutboxTest, GlobalCapHoldsUnderTwoReplicasDecidingAtOnce) {
  auto other_redis = Connect();
  ActionOutbox other(other_redis.get(), &clock_, config_);
  std::atomic<int> sent{0};
  auto run = [&](ActionOutbox* outbox, const std::string& replica) {
    for (int i = 0; i < 40; ++i) {
      std::vector<ActionCandidate> batch;
      batch.push_back(Candidate("promo", absl::StrCat(replica, "-", i)));
      batch.back().trigger = &outbox->config().triggers[0];
      auto r = outbox->Decide(std::move(batch));
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->front() == "sent") ++sent;
    }
  };
  std::thread a(run, outbox_.get(), "a");
  std::thread b(run, &other, "b");
  a.join();
  b.join();
  EXPECT_EQ(sent.load(), 3);
  EXPECT_EQ(StreamLength(), 3);
  auto counts = ReadActionCounts(redis_.get(), "default");
  EXPECT_EQ((*counts)["suppressed|global_cap|promo"], 77);
  // The next UTC day has its own budget.
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(DecideOne(Candidate("promo", "tomorrow")), "sent");
}

}  // namespace
}  // namespace journey::orchestration
