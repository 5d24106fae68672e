// The stage machine over event sequences, under the shipped default definition.
#include "services/journey/journey_state_machine.h"

#include <gtest/gtest.h>

#include "services/journey/event_fields.h"

#ifndef JOURNEY_SOURCE_DIR
#define JOURNEY_SOURCE_DIR "."
#endif

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;

std::shared_ptr<const CompiledDefinition> DefaultDefinition() {
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  EXPECT_TRUE(def.ok()) << def.status();
  auto compiled = CompiledDefinition::Compile(*def);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return *compiled;
}

class StateMachineTest : public ::testing::Test {
 protected:
  pb::Event Track(const std::string& name, absl::Duration after_start = absl::ZeroDuration()) {
    pb::Event e;
    e.set_type(pb::EVENT_TYPE_TRACK);
    e.set_name(name);
    e.set_message_id("m" + std::to_string(++seq_));
    e.set_channel(pb::CHANNEL_WEB);
    SetTimestamp(clock_.Now() + after_start, e.mutable_timestamp());
    return e;
  }
  StepOutcome Apply(const pb::Event& e) { return machine_.Apply(e, &snap_); }

  ManualClock clock_;
  JourneyStateMachine machine_{DefaultDefinition(), &clock_};
  JourneySnapshot snap_;
  int seq_ = 0;
};

TEST_F(StateMachineTest, ViewCartOrderRepeatOrderGoesThroughFourStages) {
  std::vector<std::string> stages;
  pb::Event view = Track("Product Viewed");
  view.set_product_id("p1");
  Apply(view);
  stages.push_back(snap_.stage());
  clock_.Advance(absl::Minutes(5));
  pb::Event add = Track("Product Added");
  add.set_product_id("p1");
  add.set_price(20);
  add.set_quantity(2);
  Apply(add);
  stages.push_back(snap_.stage());
  EXPECT_DOUBLE_EQ(snap_.open_cart_value(), 40);
  clock_.Advance(absl::Minutes(5));
  pb::Event order = Track("Order Completed");
  order.set_revenue(40);
  Apply(order);
  stages.push_back(snap_.stage());
  EXPECT_DOUBLE_EQ(snap_.open_cart_value(), 0);
  clock_.Advance(absl::Hours(24 * 10));
  Apply(Track("Order Completed"));
  stages.push_back(snap_.stage());
  EXPECT_EQ(stages, (std::vector<std::string>{"CONSIDERATION", "DECISION", "PURCHASE", "LOYALTY"}));
  EXPECT_EQ(snap_.orders(), 2);
  ASSERT_EQ(snap_.history_size(), 4);
  EXPECT_EQ(snap_.history(0).kind(), pb::TRANSITION_KIND_ENTRY);
  EXPECT_EQ(snap_.history(1).duration_ms(), 5 * 60 * 1000);
  EXPECT_EQ(snap_.history(2).duration_ms(), 10 * 24 * 3600 * 1000LL);
  EXPECT_FALSE(snap_.history(3).has_left_at());
  EXPECT_EQ(snap_.touchpoints_size(), 4);
  EXPECT_EQ(snap_.furthest_stage(), "LOYALTY");
  EXPECT_EQ(snap_.recent_product_ids(0), "p1");
}

TEST_F(StateMachineTest, RepeatOrderOutsideWindowIsNotLoyalty) {
  Apply(Track("Order Completed"));
  EXPECT_EQ(snap_.stage(), "PURCHASE");
  clock_.Advance(absl::Hours(24 * 91));
  Apply(Track("Order Completed"));
  EXPECT_EQ(snap_.stage(), "PURCHASE");
  EXPECT_EQ(snap_.orders(), 2);
}

TEST_F(StateMachineTest, FirstTouchWithoutRuleIsAwarenessAndReachIsCumulative) {
  StepOutcome first = Apply(Track("Something Unmapped"));
  EXPECT_EQ(snap_.stage(), "AWARENESS");
  ASSERT_EQ(first.changes.size(), 1u);
  EXPECT_EQ(first.changes[0].kind, pb::TRANSITION_KIND_ENTRY);
  EXPECT_EQ(first.newly_reached, std::vector<std::string>{"AWARENESS"});
  // Checkout skips CONSIDERATION: both count as reached, once.
  StepOutcome checkout = Apply(Track("Checkout Started"));
  EXPECT_EQ(checkout.newly_reached, (std::vector<std::string>{"CONSIDERATION", "DECISION"}));
  // Browsing while deciding does not move back.
  StepOutcome view = Apply(Track("Product Viewed"));
  EXPECT_EQ(snap_.stage(), "DECISION");
  EXPECT_TRUE(view.changes.empty());
  EXPECT_TRUE(view.newly_reached.empty());
}

TEST_F(StateMachineTest, EmptyingTheCartStepsBack) {
  pb::Event add = Track("Product Added");
  add.set_product_id("p1");
  add.set_price(10);
  Apply(add);
  pb::Event remove = Track("Product Removed");
  remove.set_product_id("p1");
  remove.set_price(10);
  StepOutcome back = Apply(remove);
  EXPECT_EQ(snap_.stage(), "CONSIDERATION");
  ASSERT_EQ(back.changes.size(), 1u);
  EXPECT_EQ(back.changes[0].kind, pb::TRANSITION_KIND_BACKWARD);
  EXPECT_EQ(back.changes[0].blamed_event, "Product Removed");
  EXPECT_EQ(snap_.furthest_stage(), "DECISION");
}

TEST_F(StateMachineTest, InactivityTimerFiresOnceAfterTheWindow) {
  Apply(Track("Product Added"));
  auto due = machine_.TimerDue(snap_);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(*due, clock_.Now() + absl::Hours(24));
  EXPECT_FALSE(machine_.FireTimer(&snap_, clock_.Now() + absl::Hours(23)).applied);
  clock_.Advance(absl::Hours(25));
  StepOutcome fired = machine_.FireTimer(&snap_, clock_.Now());
  ASSERT_TRUE(fired.applied);
  ASSERT_EQ(fired.changes.size(), 1u);
  EXPECT_EQ(fired.changes[0].kind, pb::TRANSITION_KIND_ABANDONED);
  EXPECT_EQ(fired.changes[0].time, *due);
  EXPECT_EQ(fired.changes[0].blamed_event, "Product Added");
  EXPECT_TRUE(snap_.abandoned());
  EXPECT_EQ(snap_.abandoned_stage(), "DECISION");
  EXPECT_FALSE(machine_.FireTimer(&snap_, clock_.Now()).applied) << "a fired timer must not fire again";
  EXPECT_FALSE(machine_.TimerDue(snap_).has_value());
  // Coming back re-arms; ordering clears the timer.
  Apply(Track("Cart Viewed"));
  EXPECT_FALSE(snap_.abandoned());
  EXPECT_TRUE(machine_.TimerDue(snap_).has_value());
  Apply(Track("Order Completed"));
  EXPECT_FALSE(machine_.TimerDue(snap_).has_value());
}

TEST_F(StateMachineTest, MergeKeepsTheMoreAdvancedStageAndInterleavesTouchpoints) {
  JourneySnapshot anon;
  anon.set_user_id("anon-1");
  pb::Event add = Track("Product Added");
  machine_.Apply(Track("Product Viewed"), &anon);
  clock_.Advance(absl::Minutes(1));
  machine_.Apply(Track("Product Added"), &anon);
  snap_.set_user_id("u-1");
  clock_.Advance(absl::Minutes(1));
  Apply(Track("Page Viewed"));
  machine_.Merge(anon, &snap_);
  EXPECT_EQ(snap_.user_id(), "u-1");
  EXPECT_EQ(snap_.stage(), "DECISION");
  ASSERT_EQ(snap_.touchpoints_size(), 3);
  EXPECT_EQ(snap_.touchpoints(0).event_name(), "Product Viewed");
  EXPECT_EQ(snap_.touchpoints(2).event_name(), "Page Viewed");
  EXPECT_EQ(snap_.merged_ids(0), "anon-1");
  EXPECT_EQ(snap_.history_size(), 3);
}

TEST_F(StateMachineTest, MergeReportsTheLaterReachOfEachStageBothReached) {
  // The visitor reached AWARENESS and CONSIDERATION first; the known customer reached
  // AWARENESS, CONSIDERATION and DECISION later, under their own id.
  JourneySnapshot anon;
  anon.set_user_id("anon-2");
  machine_.Apply(Track("Page Viewed"), &anon);
  machine_.Apply(Track("Product Viewed", absl::Minutes(1)), &anon);
  snap_.set_user_id("u-2");
  Apply(Track("Product Viewed", absl::Hours(1)));
  Apply(Track("Product Added", absl::Hours(2)));
  snap_.mutable_reached(0)->add_segments("vip");
  const std::vector<StageReach> twice = machine_.Merge(anon, &snap_);
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_EQ(twice[0].stage(), "AWARENESS");
  EXPECT_EQ(ToTime(twice[0].at()), clock_.Now() + absl::Hours(1));  // the customer's, the later
  ASSERT_EQ(twice[0].segments_size(), 1);
  EXPECT_EQ(twice[0].segments(0), "vip");
  EXPECT_EQ(twice[1].stage(), "CONSIDERATION");
  // What remains: one reach per stage, the earliest, in stage order.
  ASSERT_EQ(snap_.reached_size(), 3);
  EXPECT_EQ(snap_.reached(0).stage(), "AWARENESS");
  EXPECT_EQ(ToTime(snap_.reached(0).at()), clock_.Now());
  EXPECT_EQ(ToTime(snap_.reached(1).at()), clock_.Now() + absl::Minutes(1));
  EXPECT_EQ(snap_.reached(2).stage(), "DECISION");
  // Into a customer with no journey yet nothing was counted twice.
  JourneySnapshot empty;
  empty.set_user_id("u-3");
  EXPECT_TRUE(machine_.Merge(anon, &empty).empty());
  EXPECT_EQ(empty.reached_size(), 2);
}

TEST_F(StateMachineTest, IdentifyIsNotATouchpoint) {
  pb::Event identify;
  identify.set_type(pb::EVENT_TYPE_IDENTIFY);
  EXPECT_FALSE(Apply(identify).applied);
  EXPECT_TRUE(snap_.stage().empty());
}

TEST_F(StateMachineTest, TouchpointsAreCappedOldestFirst) {
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(absl::Seconds(1));
    Apply(Track("Product Viewed"));
  }
  EXPECT_EQ(snap_.touchpoints_size(), 50);
  EXPECT_EQ(snap_.touchpoints(49).message_id(), "m60");
}

TEST_F(StateMachineTest, SentimentIsNormalisedByScale) {
  pb::Event review = Track("Product Reviewed");
  review.set_sentiment_score(5);
  review.set_sentiment_scale(pb::SENTIMENT_SCALE_RATING_5);
  StepOutcome o = Apply(review);
  ASSERT_NE(o.touchpoint, nullptr);
  EXPECT_DOUBLE_EQ(o.touchpoint->sentiment(), 1.0);
  EXPECT_EQ(snap_.stage(), "POST_PURCHASE");
}

}  // namespace
}  // namespace journey::journey_state
