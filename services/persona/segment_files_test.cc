// Segment definitions from YAML/JSON, and the default definitions shipped in config/.
#include "services/persona/segment_files.h"

#include <gtest/gtest.h>

#include "services/persona/condition_evaluator.h"

namespace journey::persona {
namespace {

TEST(SegmentFilesTest, ParsesYamlConditionTree) {
  auto defs = ParseSegmentDefinitions(R"(
segments:
  - id: vip
    name: VIPs
    persona: true
    priority: 3
    condition:
      all:
        - compare: {attribute: trait.plan, op: in, value: [gold, platinum]}
        - not: {compare: {attribute: consent.marketing, op: "==", value: false}}
        - event_count: {event: Order Completed, op: ">=", count: 2, window: 90d}
)");
  ASSERT_TRUE(defs.ok()) << defs.status();
  ASSERT_EQ(defs->size(), 1u);
  const auto& d = (*defs)[0];
  EXPECT_EQ(d.id(), "vip");
  EXPECT_TRUE(d.is_persona());
  EXPECT_EQ(d.priority(), 3);
  ASSERT_EQ(d.condition().all().conditions_size(), 3);
  EXPECT_EQ(d.condition().all().conditions(0).compare().value().list_value().values_size(), 2);
  EXPECT_TRUE(d.condition().all().conditions(1).not_().compare().value().has_bool_value());
  EXPECT_EQ(d.condition().all().conditions(2).event_count().window_s(), 90 * 86400);
}

TEST(SegmentFilesTest, ParsesJsonToo) {
  auto defs = ParseSegmentDefinitions(
      R"({"id": "big", "condition": {"compare": {"attribute": "computed.revenue", "op": ">", "value": 100}}})");
  ASSERT_TRUE(defs.ok()) << defs.status();
  EXPECT_DOUBLE_EQ((*defs)[0].condition().compare().value().number_value(), 100);
}

TEST(SegmentFilesTest, ErrorsNameTheProblem) {
  auto defs = ParseSegmentDefinitions("segments:\n  - id: x\n    condition: {maybe: 1}\n");
  ASSERT_FALSE(defs.ok());
  EXPECT_NE(defs.status().message().find("unknown kind 'maybe'"), std::string::npos) << defs.status();
  EXPECT_FALSE(ParseSegmentDefinitions("segments: [ {id: x").ok());
}

TEST(SegmentFilesTest, ShippedDefaultsAreValid) {
  auto defs = LoadSegmentDirectory(std::string(JOURNEY_SOURCE_DIR) + "/config");
  ASSERT_TRUE(defs.ok()) << defs.status();
  ASSERT_GE(defs->size(), 5u);
  for (const auto& d : *defs) {
    std::vector<std::string> errors;
    ValidateCondition(d.condition(), "condition", &errors);
    EXPECT_TRUE(errors.empty()) << d.id() << ": " << errors[0];
  }
}

}  // namespace
}  // namespace journey::persona
