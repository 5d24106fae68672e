// Triggered actions from the journey applier against a real redis-server, time from a manual
// clock: an abandoned cart (the inactivity timer) appends exactly one action to its
// partition's action stream however often the batch is redelivered or the timer fired;
// transitions and sentiment drops fire their triggers; holdout and consent suppress, counted.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "common/experiment/assignment.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/journey/action_triggers.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_logic.h"
#include "tests/testing/redis_server.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
constexpr int kPartitions = 4;

class ActionTriggersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server_.Start().ok());
    auto client = storage::HiredisClient::FromUrl(redis_server_.url());
    ASSERT_TRUE(client.ok()) << client.status();
    redis_ = std::move(*client);
    auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
    ASSERT_TRUE(def.ok()) << def.status();
    definitions_ = std::make_unique<DefinitionStore>(redis_.get(), &clock_, "default", *CompiledDefinition::Compile(*def));
    auto triggers = orchestration::LoadTriggerDir(std::string(JOURNEY_SOURCE_DIR) + "/config/triggers");
    ASSERT_TRUE(triggers.ok()) << triggers.status();
    triggers->rules.default_time_zone = "UTC";
    // Noon UTC on a Tuesday: outside every quiet hour of the default config.
    clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 12, 1, 12, 0), absl::UTCTimeZone()));
    outbox_ = std::make_unique<orchestration::ActionOutbox>(redis_.get(), &clock_, *triggers);
    triggers_ = std::make_unique<ActionTriggers>(outbox_.get());
    applier_ = NewApplier();
  }

  std::unique_ptr<JourneyApplier> NewApplier() {
    auto a = std::make_unique<JourneyApplier>(redis_.get(), definitions_.get(), &clock_,
                                              ApplierOptions{"default", kPartitions, 100000});
    a->SetActionTriggers(triggers_.get());
    return a;
  }

  // A customer id in partition 0, in (or out of) the default 5% holdout.
  static std::string Customer(const std::string& prefix, bool held_out = false) {
    for (int i = 0;; ++i) {
      const std::string id = absl::StrCat(prefix, "-", i);
      if (keys::PartitionOf(id, kPartitions) != 0) continue;
      if (experiment::InHoldout(experiment::HoldoutConfig{}, "default", id) == held_out) return id;
    }
  }

  void GrantConsent(const std::string& uid, bool granted = true) {
    pb::PersonaSnapshot persona;
    persona.set_user_id(uid);
    (*persona.mutable_consent())["marketing"] = granted;
    ASSERT_TRUE(redis_->Command({"HSET", keys::View("default", uid), std::string(keys::kViewPersonaField),
                                 persona.SerializeAsString()})
                    .ok());
  }

  pb::EventEnvelope Event(const std::string& uid, const std::string& name) {
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    pb::Event* e = env.mutable_event();
    e->set_type(pb::EVENT_TYPE_TRACK);
    e->set_name(name);
    e->set_user_id(uid);
    e->set_channel(pb::CHANNEL_WEB);
    e->set_message_id(absl::StrCat(uid, "-", ++seq_));
    SetTimestamp(clock_.Now(), e->mutable_timestamp());
    return env;
  }

  std::vector<stream::StreamEntry> Entries(std::vector<pb::EventEnvelope> envs) {
    std::vector<stream::StreamEntry> out;
    for (auto& env : envs) out.push_back({absl::StrCat("1000-", ++entry_seq_), std::move(env)});
    return out;
  }

  std::vector<pb::Action> Actions(uint32_t partition = 0) {
    std::vector<pb::Action> out;
    auto r = redis_->Command({"XRANGE", keys::ActionStream(partition), "-", "+"});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return out;
    for (const auto& e : r->elements) {
      pb::Action a;
      EXPECT_TRUE(a.ParseFromString(e.elements[1].elements[1].str));
      out.push_back(a);
    }
    return out;
  }

  long long Count(const std::string& field) {
    auto counts = orchestration::ReadActionCounts(redis_.get(), "default");
    return counts.ok() ? (*counts)[field] : -1;
  }

  testing::RedisServer redis_server_;
  std::unique_ptr<storage::RedisClient> redis_;
  ManualClock clock_;
  std::unique_ptr<DefinitionStore> definitions_;
  std::unique_ptr<orchestration::ActionOutbox> outbox_;
  std::unique_ptr<ActionTriggers> triggers_;
  std::unique_ptr<JourneyApplier> applier_;
  int seq_ = 0;
  int entry_seq_ = 0;
};

TEST_F(ActionTriggersTest, AbandonedCartAppendsExactlyOneRecoveryAction) {
  const std::string uid = Customer("cart");
  GrantConsent(uid);
  pb::EventEnvelope add = Event(uid, "Product Added");
  add.mutable_event()->set_price(40);
  add.mutable_event()->set_quantity(2);
  add.mutable_event()->set_product_id("sku-1");
  auto batch = Entries({Event(uid, "Product Viewed"), add});
  ASSERT_TRUE(applier_->ApplyBatch(0, batch).ok());
  ASSERT_TRUE(applier_->ApplyBatch(0, batch).ok());  // redelivered
  EXPECT_TRUE(Actions().empty());                    // nothing until the cart is abandoned
  clock_.Advance(absl::Hours(23));
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now()).value_or(-1), 0);
  EXPECT_TRUE(Actions().empty());
  clock_.Advance(absl::Hours(2));  // 13:00 UTC the next day
  auto other = NewApplier();       // a second replica racing for the same timer
  const int fired = applier_->FireDueTimers(0, clock_.Now()).value_or(-1) + other->FireDueTimers(0, clock_.Now()).value_or(-1);
  EXPECT_EQ(fired, 1);
  const std::vector<pb::Action> actions = Actions();
  ASSERT_EQ(actions.size(), 1u);
  const pb::Action& a = actions[0];
  EXPECT_EQ(a.trigger_id(), "cart-recovery");
  EXPECT_EQ(a.offer_id(), "cart-recovery-10");
  EXPECT_EQ(a.channel(), pb::CHANNEL_EMAIL);
  EXPECT_EQ(a.user_id(), uid);
  EXPECT_EQ(a.stage(), "DECISION");
  EXPECT_EQ(a.cause(), pb::ACTION_CAUSE_TRANSITION);
  EXPECT_EQ(a.reason(), "DECISION abandoned");
  EXPECT_GT(a.cart_value(), 0);
  EXPECT_EQ(a.idempotency_key().size(), 64u);
  EXPECT_EQ(Count("sent||cart-recovery"), 1);
  // The timer fired once, and a later pass does not fire it again.
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now() + absl::Hours(48)).value_or(-1), 0);
  EXPECT_EQ(Actions().size(), 1u);
}

TEST_F(ActionTriggersTest, HoldoutAndMissingConsentSuppressAndAreCounted) {
  const std::string held = Customer("held", true);
  GrantConsent(held);
  const std::string no_consent = Customer("nocons");
  GrantConsent(no_consent, false);
  const std::string never_asked = Customer("never");  // no persona snapshot at all
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event(held, "Product Added"), Event(no_consent, "Product Added"),
                                                Event(never_asked, "Product Added")}))
                  .ok());
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now()).value_or(-1), 3);
  EXPECT_TRUE(Actions().empty());
  EXPECT_EQ(Count("suppressed|holdout|cart-recovery"), 1);
  EXPECT_EQ(Count("suppressed|consent|cart-recovery"), 2);

  // GetActionStats reads them back per trigger, outcome and reason, ordered.
  JourneyLogic logic(redis_.get(), definitions_.get(), &clock_, LogicOptions{});
  auto stats = logic.GetActionStats({});
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->stats_size(), 2);
  EXPECT_EQ(stats->stats(0).trigger_id(), "cart-recovery");
  EXPECT_EQ(stats->stats(0).outcome(), "suppressed");
  EXPECT_EQ(stats->stats(0).reason(), "consent");
  EXPECT_EQ(stats->stats(0).count(), 2);
  EXPECT_EQ(stats->stats(1).reason(), "holdout");
  EXPECT_EQ(stats->stats(1).count(), 1);
  journey::state::v1::GetActionStatsRequest only;
  only.set_trigger_id("support-apology");
  ASSERT_TRUE(logic.GetActionStats(only).ok());
  EXPECT_EQ(logic.GetActionStats(only)->stats_size(), 0);
  only.set_trigger_id("a|b");
  EXPECT_EQ(logic.GetActionStats(only).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(logic.GetActionStats(only).status().message(), "trigger_id"));
}

TEST_F(ActionTriggersTest, TransitionAndSentimentTriggersFire) {
  const std::string uid = Customer("buyer");
  GrantConsent(uid);
  pb::EventEnvelope csat = Event(uid, "Support Ticket Closed");
  csat.mutable_event()->set_channel(pb::CHANNEL_SUPPORT);
  csat.mutable_event()->set_sentiment_score(1);
  csat.mutable_event()->set_sentiment_scale(pb::SENTIMENT_SCALE_CSAT_5);
  pb::EventEnvelope happy = Event(uid, "Support Ticket Closed");
  happy.mutable_event()->set_channel(pb::CHANNEL_SUPPORT);
  happy.mutable_event()->set_sentiment_score(5);
  happy.mutable_event()->set_sentiment_scale(pb::SENTIMENT_SCALE_CSAT_5);
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({Event(uid, "Product Added"), Event(uid, "Order Completed"), csat, happy}))
                  .ok());
  const std::vector<pb::Action> actions = Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].trigger_id(), "first-order-thanks");
  EXPECT_EQ(actions[0].reason(), "DECISION -> PURCHASE");
  EXPECT_EQ(actions[1].trigger_id(), "support-apology");
  EXPECT_EQ(actions[1].cause(), pb::ACTION_CAUSE_SENTIMENT_DROP);
  // The order started the conversion cool-down for promotional triggers.
  auto cool = redis_->Command({"HGET", keys::OrchestrationCooldown("default", uid), "conversion"});
  ASSERT_TRUE(cool.ok());
  EXPECT_EQ(cool->str, std::to_string(absl::ToUnixMillis(clock_.Now() + absl::Hours(24))));
}

TEST_F(ActionTriggersTest, QuietHoursInTheCustomersZoneDeferTheRecovery) {
  const std::string uid = Customer("night");
  GrantConsent(uid);
  // Added to the cart at 21:30 New York time (02:30 UTC);
  // abandoned 24 h later, inside the 21:00-08:00 email quiet hours of New York.
  absl::TimeZone ny;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &ny));
  clock_.Set(absl::FromCivil(absl::CivilMinute(2026, 12, 1, 21, 30), ny));
  pb::EventEnvelope add = Event(uid, "Product Added");
  add.mutable_event()->mutable_context()->set_timezone("America/New_York");
  ASSERT_TRUE(applier_->ApplyBatch(0, Entries({add})).ok());
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now()).value_or(-1), 1);
  EXPECT_TRUE(Actions().empty());
  EXPECT_EQ(Count("deferred|quiet_hours|cart-recovery"), 1);
  // 07:59 the next morning in New York: still deferred; 08:00: released once.
  clock_.Advance(absl::Hours(10) + absl::Minutes(29));
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now()).value_or(-1), 0);
  EXPECT_TRUE(Actions().empty());
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(applier_->FireDueTimers(0, clock_.Now()).value_or(-1), 0);
  ASSERT_EQ(Actions().size(), 1u);
  EXPECT_EQ(absl::FromUnixSeconds(Actions()[0].deferred_until().seconds()), clock_.Now());
}

}  // namespace
}  // namespace journey::journey_state
