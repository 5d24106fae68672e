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

}  // namespace
}  // namespace journey::journey_state
