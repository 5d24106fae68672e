// Funnel and journey-map figures from known aggregate totals.
#include "services/journey/journey_report.h"

#include <gtest/gtest.h>

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;

std::shared_ptr<const CompiledDefinition> Definition() {
  auto def = ParseDefinitionYaml("id: shop\nstages: [A, B, C]\nrules:\n  - event: Go\n    to: B\n", "t.yaml");
  EXPECT_TRUE(def.ok()) << def.status();
  return *CompiledDefinition::Compile(*def);
}

TEST(JourneyReportTest, FunnelConversionsAndDropOff) {
  AggregateTotals t;
  t.stages["A"].reached = 100;
  t.stages["B"].reached = 40;
  t.stages["C"].reached = 10;
  t.stages["B"].abandoned = 7;
  auto funnel = BuildFunnel(t, *Definition());
  ASSERT_EQ(funnel.steps_size(), 3);
  EXPECT_EQ(funnel.steps(0).customers(), 100);
  EXPECT_DOUBLE_EQ(funnel.steps(1).step_conversion(), 0.4);
  EXPECT_DOUBLE_EQ(funnel.steps(2).step_conversion(), 0.25);
  EXPECT_DOUBLE_EQ(funnel.steps(2).overall_conversion(), 0.1);
  EXPECT_EQ(funnel.steps(0).dropped(), 60);
  EXPECT_EQ(funnel.steps(1).dropped(), 30);
  EXPECT_EQ(funnel.steps(2).dropped(), 0);
  EXPECT_EQ(funnel.steps(1).abandoned(), 7);
}

TEST(JourneyReportTest, HistogramQuantileInterpolatesWithinTheBucket) {
  std::array<long long, kTimeBucketsS.size()> h{};
  h[1] = 10;  // (60, 300]
  EXPECT_DOUBLE_EQ(HistogramQuantile(h, 0.5), 180);
  h[0] = 10;  // [0, 60]
  EXPECT_DOUBLE_EQ(HistogramQuantile(h, 0.5), 60);
  EXPECT_DOUBLE_EQ(HistogramQuantile(h, 0.9), 60 + 0.8 * 240);
  EXPECT_DOUBLE_EQ(HistogramQuantile({}, 0.5), 0);
}

TEST(JourneyReportTest, PainPointsRankLossesWeightedBySentiment) {
  AggregateTotals t;
  t.stages["A"].reached = 100;
  // Journey average sentiment (19 + 5) / 30 = 0.8: 20 samples at A (0.95), 10 at B (0.5).
  t.stages["A"].sentiment = {20, 20 * 0.95, 20 * 0.95 * 0.95};
  t.stages["B"].sentiment = {10, 10 * 0.5, 10 * 0.5 * 0.5};
  TouchpointTotals unhappy;
  unhappy.count = 30;
  unhappy.lost = 10;
  unhappy.sentiment = {10, 10 * 0.5, 10 * 0.5 * 0.5};
  TouchpointTotals happy;
  happy.count = 50;
  happy.lost = 12;
  happy.sentiment = {20, 20 * 0.95, 20 * 0.95 * 0.95};
  t.touchpoints[{"B", "web", "Checkout Started"}] = unhappy;
  t.touchpoints[{"A", "email", "Email Opened"}] = happy;
  auto map = BuildJourneyMap(t, *Definition());
  ASSERT_GE(map.pain_points_size(), 2);
  // 10 lost with a 0.3 gap scores 10 * 1.3 + 10 * 0.3 = 16 > 12 lost at no gap.
  EXPECT_EQ(map.pain_points(0).event_name(), "Checkout Started");
  EXPECT_NEAR(map.pain_points(0).score(), 16.0, 1e-9);
  EXPECT_LE(map.pain_points(0).score_low(), map.pain_points(0).score());
  EXPECT_GE(map.pain_points(0).score_high(), map.pain_points(0).score());
  EXPECT_EQ(map.pain_points(0).samples(), 10);
  EXPECT_EQ(map.pain_points(1).event_name(), "Email Opened");
  EXPECT_DOUBLE_EQ(map.pain_points(1).score(), 12);
  EXPECT_EQ(map.touchpoints(0).event_name(), "Email Opened");  // ranked by volume
  EXPECT_EQ(map.touchpoints(0).channel(), pb::CHANNEL_EMAIL);
  EXPECT_TRUE(map.definitions().count("pain_point.score"));
  EXPECT_EQ(map.stages_size(), 3);
}

TEST(JourneyReportTest, TouchpointThatExplainsAStagesLossesOutranksTheStage) {
  AggregateTotals t;
  t.stages["A"].reached = 100;
  t.stages["B"].reached = 60;
  t.stages["B"].abandoned = 30;
  // B's sentiment: 20 unhappy answers at checkout (0.2) and 10 happy ones elsewhere (0.9).
  t.stages["B"].sentiment = {30, 20 * 0.2 + 10 * 0.9, 20 * 0.04 + 10 * 0.81};
  t.stages["A"].sentiment = {30, 30 * 0.9, 30 * 0.81};
  TouchpointTotals checkout;  // where most of B's customers leave
  checkout.count = 60;
  checkout.lost = 24;
  checkout.sentiment = {20, 20 * 0.2, 20 * 0.04};
  TouchpointTotals cart;
  cart.count = 60;
  cart.lost = 6;
  t.touchpoints[{"B", "web", "Checkout Step Viewed"}] = checkout;
  t.touchpoints[{"B", "web", "Cart Viewed"}] = cart;
  auto map = BuildJourneyMap(t, *Definition());
  ASSERT_GE(map.pain_points_size(), 3);
  EXPECT_EQ(map.pain_points(0).event_name(), "Checkout Step Viewed");
  EXPECT_EQ(map.pain_points(0).customers_lost(), 24);
  // The stage keeps only what its top touchpoint does not explain: 30 - 24.
  const auto& stage = map.pain_points(1).event_name().empty() ? map.pain_points(1) : map.pain_points(2);
  EXPECT_TRUE(stage.event_name().empty());
  EXPECT_EQ(stage.stage(), "B");
  EXPECT_EQ(stage.customers_lost(), 6);
  EXPECT_EQ(stage.samples(), 10);  // the checkout's 20 answers are the checkout's, not the stage's
  EXPECT_NEAR(stage.sentiment_mean(), 0.9, 1e-9);
}

TEST(JourneyReportTest, StageWithLossesSpreadOverTouchpointsStaysOnTop) {
  AggregateTotals t;
  t.stages["A"].reached = 100;
  t.stages["B"].abandoned = 40;
  for (const char* event : {"E1", "E2", "E3", "E4"}) {
    TouchpointTotals tp;
    tp.count = 50;
    tp.lost = 10;
    t.touchpoints[{"B", "web", event}] = tp;
  }
  auto map = BuildJourneyMap(t, *Definition());
  ASSERT_GE(map.pain_points_size(), 1);
  EXPECT_TRUE(map.pain_points(0).event_name().empty());
  EXPECT_EQ(map.pain_points(0).stage(), "B");
  EXPECT_EQ(map.pain_points(0).customers_lost(), 30);
}

}  // namespace
}  // namespace journey::journey_state
