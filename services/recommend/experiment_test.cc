// Experiment definitions (parsing, errors naming file:line and field), assignment (split
// proportions over 100,000 synthetic customers, layers exclusive, holdout in no experiment,
// targeting) and the results arithmetic (intervals, the too-small rule).
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/experiment_config.h"
#include "services/recommend/experiment_stats.h"

namespace journey::recommend {
namespace {

ExperimentConfig MustParse(const std::string& yaml) {
  auto parsed = ParseExperimentsYaml(yaml, "test.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  auto st = ValidateExperiments(&*parsed);
  EXPECT_TRUE(st.ok()) << st;
  return *parsed;
}

std::string ErrorOf(const std::string& yaml) {
  auto parsed = ParseExperimentsYaml(yaml, "test.yaml");
  if (!parsed.ok()) return std::string(parsed.status().message());
  auto st = ValidateExperiments(&*parsed);
  return st.ok() ? "" : std::string(st.message());
}

TEST(ExperimentConfigTest, TheShippedDefinitionsLoad) {
  auto config = LoadExperimentsDir(std::string(JOURNEY_SOURCE_DIR) + "/config/experiments");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->holdout.assignment.share_bp, 500u);
  ASSERT_EQ(config->experiments.size(), 2u);
  EXPECT_EQ(config->experiments[0].variants[1].treatment.ranking, ProductRanking::kPopularity);
  EXPECT_FALSE(config->experiments[1].variants[1].treatment.exploration);
  EXPECT_EQ(config->experiments[1].attribution_window, absl::Hours(72));
  EXPECT_TRUE(config->experiments[1].variants[0].control);
}

TEST(ExperimentConfigTest, AMissingDirectoryIsNoHoldoutAndNoExperiments) {
  auto config = LoadExperimentsDir("/nonexistent/experiments");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->holdout.enabled());
  EXPECT_TRUE(config->experiments.empty());
}

TEST(ExperimentConfigTest, HoldoutShareDefaultsToFivePercent) {
  EXPECT_EQ(MustParse("holdout: {salt: s1}\n").holdout.assignment.share_bp, 500u);
  EXPECT_EQ(MustParse("holdout: {share: 0.1}\n").holdout.assignment.share_bp, 1000u);
  EXPECT_EQ(MustParse("holdout: {share: 2.5%}\n").holdout.assignment.share_bp, 250u);
}

TEST(ExperimentConfigTest, ErrorsNameFileLineAndField) {
  const std::string head = "experiments:\n  - id: x\n";
  EXPECT_EQ(ErrorOf(head + "    variants:\n      - {id: a}\n      - {id: b, wieght: 2}\n"),
            "test.yaml:5: experiments[0].variants[1].wieght: unknown field (want id, weight, control, ranking, "
            "exploration, offers)");
  EXPECT_NE(ErrorOf("holdout: {share: 140%}\n").find("test.yaml:1: holdout.share: \"140%\" is not a share"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "    primary_metric: clicks\n    variants: [{id: a}, {id: b}]\n")
                .find("test.yaml:3: experiments[0].primary_metric: unknown metric \"clicks\""),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "    variants: [{id: a}]\n").find("experiments[0].variants: want at least two variants"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "    variants: [{id: a, control: true}, {id: b, control: true}]\n")
                .find("more than one variant has control: true"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "    start: tomorrow\n    variants: [{id: a}, {id: b}]\n")
                .find("test.yaml:3: experiments[0].start: \"tomorrow\" is not an RFC 3339 time"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "    target: {placements: [sidebar]}\n    variants: [{id: a}, {id: b}]\n")
                .find("experiments[0].target.placements[0]: unknown placement \"sidebar\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("experiments:\n  - {id: a, layer: l, traffic: 60%, variants: [{id: a}, {id: b}]}\n"
                    "  - {id: b, layer: l, traffic: 50%, variants: [{id: a}, {id: b}]}\n")
                .find("test.yaml:3: traffic: layer \"l\" would exceed 100%"),
            std::string::npos);
  EXPECT_NE(ErrorOf("experiments:\n  - {id: holdout, variants: [{id: a}, {id: b}]}\n").find("reserved"),
            std::string::npos);
}

TEST(ExperimentConfigTest, LayersGetConsecutiveBucketRangesInFileOrder) {
  ExperimentConfig c = MustParse(
      "experiments:\n"
      "  - {id: a, layer: l, traffic: 30%, variants: [{id: x}, {id: y}]}\n"
      "  - {id: b, layer: l, traffic: 50%, variants: [{id: x}, {id: y}]}\n"
      "  - {id: c, variants: [{id: x}, {id: y}]}\n");
  EXPECT_EQ(c.experiments[0].bucket_from, 0u);
  EXPECT_EQ(c.experiments[0].bucket_to, 3000u);
  EXPECT_EQ(c.experiments[1].bucket_from, 3000u);
  EXPECT_EQ(c.experiments[1].bucket_to, 8000u);
  EXPECT_EQ(c.experiments[2].layer, "c");  // a layer of its own
  EXPECT_EQ(c.experiments[2].bucket_to, 10000u);
  EXPECT_TRUE(c.experiments[0].variants[0].control);  // the first unless one says so
}

// 100,000 synthetic customers: holdout 5%, layer "l" split 40% (a: 1:1) / 60% (b: 1:2:1),
// layer "m" 100% (c: 1:1). Tolerances are about 4 standard errors.
TEST(ExperimentAssignmentTest, SplitProportionsOverOneHundredThousandCustomers) {
  ExperimentSet set("ws", MustParse("holdout: {share: 5%, salt: h}\n"
                                    "experiments:\n"
                                    "  - {id: a, layer: l, traffic: 40%, variants: [{id: a0}, {id: a1}]}\n"
                                    "  - id: b\n    layer: l\n    traffic: 60%\n"
                                    "    variants: [{id: b0, weight: 1}, {id: b1, weight: 2}, {id: b2, weight: 1}]\n"
                                    "  - {id: c, layer: m, variants: [{id: c0}, {id: c1}]}\n"));
  constexpr int kCustomers = 100000;
  std::map<std::string, int> count;
  int holdout = 0, in_both = 0;
  std::map<std::string, int> c1_among;  // c's variant c1 among each layer-l variant: layers independent
  std::vector<std::string> none;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string id = absl::StrCat("customer-", i);
    Assignment a = set.Assign(id, {"AWARENESS", &none, v1::PLACEMENT_HOME, absl::Now(), true});
    if (a.holdout) {
      ++holdout;
      EXPECT_TRUE(a.arms.empty()) << id << " is in the holdout and in an experiment";
      EXPECT_EQ(a.holdout_arm.variant->id, kHoldoutVariant);
      continue;
    }
    EXPECT_EQ(a.holdout_arm.variant->id, kPersonalizedVariant);
    std::set<std::string> layers;
    std::string l_variant, m_variant;
    for (const auto& arm : a.arms) {
      if (!layers.insert(arm.experiment->layer).second) ++in_both;
      ++count[arm.experiment->id];
      ++count[arm.variant->id];
      if (arm.experiment->layer == "l") l_variant = arm.variant->id;
      if (arm.experiment->layer == "m") m_variant = arm.variant->id;
    }
    if (m_variant == "c1") ++c1_among[l_variant];
  }
  EXPECT_EQ(in_both, 0) << "two experiments of one layer for one customer";
  auto share = [&](int n) { return static_cast<double>(n) / kCustomers; };
  EXPECT_NEAR(share(holdout), 0.05, 0.003);
  const double in = 1 - share(holdout);
  EXPECT_NEAR(share(count["a"]), 0.40 * in, 0.006);
  EXPECT_NEAR(share(count["b"]), 0.60 * in, 0.006);
  EXPECT_EQ(count["a"] + count["b"], kCustomers - holdout);
  EXPECT_EQ(count["c"], kCustomers - holdout);
  EXPECT_NEAR(static_cast<double>(count["a1"]) / count["a"], 0.5, 0.012);
  EXPECT_NEAR(static_cast<double>(count["b0"]) / count["b"], 0.25, 0.01);
  EXPECT_NEAR(static_cast<double>(count["b1"]) / count["b"], 0.50, 0.01);
  EXPECT_NEAR(static_cast<double>(count["c1"]) / count["c"], 0.5, 0.008);
  // Layers use different salts: c's split is the same inside each of layer l's variants.
  for (const char* v : {"a0", "a1", "b0", "b1", "b2"}) {
    EXPECT_NEAR(static_cast<double>(c1_among[v]) / count[v], 0.5, 0.025) << v;
  }
}

TEST(ExperimentAssignmentTest, TargetingStartAndEndDecideWhoIsIn) {
  ExperimentSet set("ws", MustParse("experiments:\n"
                                    "  - id: t\n"
                                    "    target: {stages: [decision], segments: [vip, new], placements: [cart]}\n"
                                    "    start: 2026-12-01T00:00:00Z\n    end: 2026-12-08T00:00:00Z\n"
                                    "    variants: [{id: a}, {id: b}]\n"));
  const absl::Time during = absl::FromUnixSeconds(1796169600);  // 2026-12-02
  std::vector<std::string> vip = {"vip"}, other = {"other"};
  auto in = [&](absl::string_view stage, const std::vector<std::string>* segs, v1::Placement p, absl::Time t,
                bool known = true) { return !set.Assign("c1", {stage, segs, p, t, known}).arms.empty(); };
  EXPECT_TRUE(in("DECISION", &vip, v1::PLACEMENT_CART, during));
  EXPECT_FALSE(in("AWARENESS", &vip, v1::PLACEMENT_CART, during));
  EXPECT_FALSE(in("DECISION", &other, v1::PLACEMENT_CART, during));
  EXPECT_FALSE(in("DECISION", &vip, v1::PLACEMENT_HOME, during));
  EXPECT_FALSE(in("DECISION", &vip, v1::PLACEMENT_CART, during - absl::Hours(48)));
  EXPECT_FALSE(in("DECISION", &vip, v1::PLACEMENT_CART, during + absl::Hours(24 * 7)));
  EXPECT_FALSE(in("DECISION", &vip, v1::PLACEMENT_CART, during, /*known=*/false));  // degraded: no state
}

TEST(ExperimentAssignmentTest, TreatmentsCombineAcrossLayers) {
  ExperimentSet set("ws", MustParse("experiments:\n"
                                    "  - {id: p, variants: [{id: a, weight: 0.0001}, {id: pop, weight: 1000, ranking: popularity}]}\n"
                                    "  - {id: q, variants: [{id: a, weight: 0.0001}, {id: off, weight: 1000, exploration: false, offers: [o1]}]}\n"));
  std::vector<std::string> none;
  Assignment a = set.Assign("c", {"AWARENESS", &none, v1::PLACEMENT_HOME, absl::Now(), true});
  ASSERT_EQ(a.arms.size(), 2u);
  EXPECT_EQ(a.treatment.ranking, ProductRanking::kPopularity);
  EXPECT_FALSE(a.treatment.exploration);
  EXPECT_EQ(a.treatment.offer_ids, std::vector<std::string>{"o1"});
}

TEST(ExperimentStatsTest, DifferenceOfProportionsWithTheUnpooledStandardError) {
  // 120/1000 against 100/1000: d = 0.02, se = sqrt(.12*.88/1000 + .1*.9/1000) = 0.0139857.
  Interval ci = ProportionDifference(120, 1000, 100, 1000);
  EXPECT_NEAR(ci.difference, 0.02, 1e-12);
  EXPECT_NEAR(ci.high - ci.difference, 1.959964 * 0.0139857, 1e-5);
  EXPECT_NEAR(ci.difference - ci.low, ci.high - ci.difference, 1e-12);
}

TEST(ExperimentStatsTest, WelchIntervalForRevenuePerCustomer) {
  // Variant: values {0, 10, 20} (mean 10, s^2 = 100); control {0, 0, 6} (mean 2, s^2 = 12).
  Interval ci = MeanDifference(30, 500, 3, 6, 36, 3);
  EXPECT_NEAR(ci.difference, 8, 1e-12);
  EXPECT_NEAR(ci.high - 8, 1.959964 * std::sqrt(100.0 / 3 + 12.0 / 3), 1e-5);
}

TEST(ExperimentStatsTest, TooSmallToCallUntilEnoughCustomersAndEvents) {
  std::map<std::string, ArmTotals> totals;
  totals["control"] = {99, 20, 0, 0, 0};
  totals["b"] = {500, 60, 0, 0, 0};
  auto r = BuildExperimentResults("x", PrimaryMetric::kConversion, "control", {"control", "b"}, totals);
  EXPECT_TRUE(r.too_small_to_call());  // control has 99 exposed
  totals["control"].exposed = 100;
  r = BuildExperimentResults("x", PrimaryMetric::kConversion, "control", {"control", "b"}, totals);
  EXPECT_FALSE(r.too_small_to_call());
  ASSERT_EQ(r.variants_size(), 2);
  EXPECT_TRUE(r.variants(0).control());
  EXPECT_EQ(r.variants(0).uplift_size(), 0);
  ASSERT_EQ(r.variants(1).uplift_size(), 3);
  EXPECT_EQ(r.variants(1).uplift(0).metric(), "conversion");
  EXPECT_NEAR(r.variants(1).uplift(0).difference(), 0.12 - 0.2, 1e-12);
  totals["b"].conversions = 9;  // fewer than 10 events
  EXPECT_TRUE(BuildExperimentResults("x", PrimaryMetric::kConversion, "control", {}, totals).too_small_to_call());
  // Click-through is judged on clicks, of which there are none.
  totals["b"].conversions = 60;
  EXPECT_TRUE(BuildExperimentResults("x", PrimaryMetric::kClickThrough, "control", {}, totals).too_small_to_call());
}

}  // namespace
}  // namespace journey::recommend
