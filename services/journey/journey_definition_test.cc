// Journey definition files: the shipped default loads; bad files fail with the line and field.
#include "services/journey/journey_definition.h"

#include <gtest/gtest.h>

#include "services/journey/event_fields.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;

constexpr char kMinimal[] = R"(id: shop
stages: [A, B, C]
rules:
  - event: Go
    to: B
)";

std::string ErrorOf(const std::string& yaml) {
  auto def = ParseDefinitionYaml(yaml, "test.yaml");
  return def.ok() ? "" : std::string(def.status().message());
}

TEST(JourneyDefinitionTest, DefaultFileHasTheSixStagesAndRules) {
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->stages_size(), 6);
  EXPECT_EQ(def->stages(0), "AWARENESS");
  EXPECT_EQ(def->stages(5), "LOYALTY");
  EXPECT_EQ(def->repeat_purchase_window_s(), 90 * 86400);
  ASSERT_EQ(def->timers_size(), 1);
  EXPECT_EQ(def->timers(0).after_s(), 24 * 3600);
  auto compiled = CompiledDefinition::Compile(*def);
  ASSERT_TRUE(compiled.ok());
  ASSERT_NE((*compiled)->RulesFor("Checkout Started"), nullptr);
  EXPECT_EQ((*compiled)->stage((*compiled)->RulesFor("Checkout Started")->front().to_stage), "DECISION");
}

TEST(JourneyDefinitionTest, MinimalFileDefaultsVersionOne) {
  auto def = ParseDefinitionYaml(kMinimal, "test.yaml");
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->version(), 1);
  EXPECT_EQ(def->rules(0).to_stage(), "B");
}

TEST(JourneyDefinitionTest, UnknownStageNamesTheLineAndField) {
  const std::string err = ErrorOf("id: shop\nstages: [A, B]\nrules:\n  - event: Go\n    to: BB\n");
  EXPECT_NE(err.find("test.yaml:5: rules[0].to: unknown stage 'BB'"), std::string::npos) << err;
}

TEST(JourneyDefinitionTest, UnknownFieldIsReportedWithItsLine) {
  const std::string err = ErrorOf("id: shop\nstages: [A, B]\nrules:\n  - event: Go\n    to: B\n    backwards: true\n");
  EXPECT_NE(err.find("test.yaml:6: rules[0].backwards: unknown field"), std::string::npos) << err;
}

TEST(JourneyDefinitionTest, BadPredicateIsReported) {
  const std::string err = ErrorOf("id: shop\nstages: [A, B]\nrules:\n  - event: Go\n    to: B\n    when: revnue > 3\n");
  EXPECT_NE(err.find("test.yaml:6: rules[0].when:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown field 'revnue'"), std::string::npos) << err;
  EXPECT_NE(ErrorOf("id: shop\nstages: [A, B]\nrules:\n  - event: Go\n    to: B\n    when: revenue > lots\n")
                .find("is a number"),
            std::string::npos);
}

TEST(JourneyDefinitionTest, TimerAndRepeatPurchaseAreChecked) {
  const std::string err = ErrorOf(
      "id: shop\nstages: [A, B]\nrepeat_purchase:\n  event: Order Completed\n  within_days: 90\n  stage: Z\n"
      "timers:\n  - stage: B\n    after_hours: -1\n");
  EXPECT_NE(err.find("test.yaml:6: repeat_purchase.stage: unknown stage 'Z'"), std::string::npos) << err;
  EXPECT_NE(err.find("test.yaml:8: timers[0].after_hours: must be positive"), std::string::npos) << err;
}

TEST(JourneyDefinitionTest, NumbersOutOfRangeAreErrorsNotWraparound) {
  const std::string err = ErrorOf(
      "id: shop\nversion: 1e30\nstages: [A, B]\ntouchpoint_cap: 3000000000\nrepeat_purchase:\n"
      "  event: Order Completed\n  within_days: 1e300\n  stage: B\n");
  EXPECT_NE(err.find("test.yaml:2: version: is out of range: '1e30'"), std::string::npos) << err;
  EXPECT_NE(err.find("test.yaml:4: touchpoint_cap: is out of range"), std::string::npos) << err;
  EXPECT_NE(err.find("test.yaml:7: repeat_purchase.within_days: is out of range"), std::string::npos) << err;
  auto def = ParseDefinitionYaml("id: shop\nstages: [A, B]\ntimers:\n  - stage: B\n    after_hours: 0.5\n", "t.yaml");
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->timers(0).after_s(), 1800) << "fractions of a unit that make whole seconds are fine";
}

TEST(JourneyDefinitionTest, SyntaxErrorNamesTheLine) {
  const std::string err = ErrorOf("id: shop\nstages: [A, B\nrules: x\n");
  EXPECT_NE(err.find("test.yaml:"), std::string::npos) << err;
  EXPECT_NE(err.find("not valid YAML"), std::string::npos) << err;
}

TEST(JourneyDefinitionTest, DuplicateStagesAndMissingIdAreSemanticErrors) {
  const std::string err = ErrorOf("stages: [A, A]\n");
  EXPECT_NE(err.find("id: missing"), std::string::npos) << err;
  EXPECT_NE(err.find("stages[1]: 'A' listed twice"), std::string::npos) << err;
}

TEST(RulePredicateTest, NumbersTextAndProperties) {
  auto p = RulePredicate::Parse("revenue > 100 and channel == email");
  ASSERT_TRUE(p.ok()) << p.status();
  pb::Event e;
  e.set_revenue(150);
  e.set_channel(pb::CHANNEL_EMAIL);
  EXPECT_TRUE(p->Matches(e, {}));
  e.set_channel(pb::CHANNEL_WEB);
  EXPECT_FALSE(p->Matches(e, {}));
  e.set_channel(pb::CHANNEL_EMAIL);
  e.set_revenue(100);
  EXPECT_FALSE(p->Matches(e, {}));
  auto prop = RulePredicate::Parse("properties.tier == 'gold'");
  ASSERT_TRUE(prop.ok());
  (*e.mutable_properties())["tier"] = "Gold";
  EXPECT_TRUE(prop->Matches(e, {}));
  auto cart = RulePredicate::Parse("cart_value <= 0");
  ASSERT_TRUE(cart.ok());
  EXPECT_TRUE(cart->Matches(e, PredicateContext{0, 0}));
  EXPECT_FALSE(cart->Matches(e, PredicateContext{5, 0}));
  EXPECT_FALSE(RulePredicate::Parse("channel > email").ok());
  EXPECT_FALSE(RulePredicate::Parse("revenue").ok());
}

}  // namespace
}  // namespace journey::journey_state
