// Condition evaluation: every operator, windows, missing attributes, validation.
#include "services/persona/condition_evaluator.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

#include "services/persona/profile_aggregator.h"
#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

namespace cpb = ::journey::common::v1;
const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600) + absl::Hours(12);

pb::Condition Cmp(const std::string& attribute, const std::string& op, cpb::TraitValue value = {}) {
  pb::Condition c;
  c.mutable_compare()->set_attribute(attribute);
  c.mutable_compare()->set_op(op);
  *c.mutable_compare()->mutable_value() = value;
  return c;
}
cpb::TraitValue S(const std::string& s) {
  cpb::TraitValue v;
  v.set_string_value(s);
  return v;
}
cpb::TraitValue N(double d) {
  cpb::TraitValue v;
  v.set_number_value(d);
  return v;
}
cpb::TraitValue B(bool b) {
  cpb::TraitValue v;
  v.set_bool_value(b);
  return v;
}
cpb::TraitValue L(std::initializer_list<std::string> items) {
  cpb::TraitValue v;
  v.mutable_list_value();  // a list even when empty
  for (const auto& i : items) v.mutable_list_value()->add_values(i);
  return v;
}
pb::Condition Count(const std::string& event, const std::string& op, int64_t n, int64_t window_s) {
  pb::Condition c;
  c.mutable_event_count()->set_event(event);
  c.mutable_event_count()->set_op(op);
  c.mutable_event_count()->set_count(n);
  c.mutable_event_count()->set_window_s(window_s);
  return c;
}

class ConditionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& traits = *rec_.mutable_profile()->mutable_traits();
    *traits["plan"].mutable_value() = S("gold");
    *traits["age"].mutable_value() = N(42);
    *traits["vip"].mutable_value() = B(true);
    *traits["tags"].mutable_value() = L({"a", "b"});
    (*rec_.mutable_profile()->mutable_consent())["marketing"].set_granted(false);
    rec_.mutable_profile()->mutable_computed()->set_journey_stage("DECISION");
    auto order = [&](absl::Duration ago) {
      cpb::Event e;
      e.set_type(cpb::EVENT_TYPE_TRACK);
      e.set_name(kOrderCompleted);
      e.set_order_id(absl::StrCat("o", absl::ToInt64Seconds(ago)));
      e.set_revenue(10);
      e.set_category("shoes");
      agg_.ApplyEvent(e, kNow - ago, kNow, &rec_);
    };
    order(absl::Hours(1));
    order(absl::Hours(24 * 10));
    order(absl::Hours(24 * 100));
    agg_.Refresh(kNow, &rec_);
  }
  bool Eval(const pb::Condition& c) { return EvaluateCondition(c, rec_, kNow); }

  ProfileAggregator agg_;
  pb::ProfileRecord rec_;
};

TEST_F(ConditionTest, EqualityAndInequality) {
  EXPECT_TRUE(Eval(Cmp("trait.plan", "==", S("gold"))));
  EXPECT_FALSE(Eval(Cmp("trait.plan", "==", S("silver"))));
  EXPECT_TRUE(Eval(Cmp("trait.plan", "!=", S("silver"))));
  EXPECT_TRUE(Eval(Cmp("trait.age", "==", N(42))));
  EXPECT_TRUE(Eval(Cmp("trait.age", "==", S("42"))));  // numeric text compares as a number
  EXPECT_TRUE(Eval(Cmp("trait.vip", "==", B(true))));
  EXPECT_TRUE(Eval(Cmp("consent.marketing", "==", B(false))));
  EXPECT_TRUE(Eval(Cmp("trait.tags", "==", L({"b", "a"}))));
}

TEST_F(ConditionTest, Ordering) {
  EXPECT_TRUE(Eval(Cmp("trait.age", ">", N(41))));
  EXPECT_FALSE(Eval(Cmp("trait.age", ">", N(42))));
  EXPECT_TRUE(Eval(Cmp("trait.age", ">=", N(42))));
  EXPECT_TRUE(Eval(Cmp("trait.age", "<", N(43))));
  EXPECT_FALSE(Eval(Cmp("trait.age", "<", N(42))));
  EXPECT_TRUE(Eval(Cmp("trait.age", "<=", N(42))));
  EXPECT_TRUE(Eval(Cmp("computed.orders", "==", N(3))));
  EXPECT_TRUE(Eval(Cmp("computed.revenue", ">=", N(30))));
  EXPECT_TRUE(Eval(Cmp("computed.days_since_last_order", "<", N(1))));
  EXPECT_FALSE(Eval(Cmp("trait.plan", "<", N(3))));  // incomparable types never match
}

TEST_F(ConditionTest, InContainsExists) {
  EXPECT_TRUE(Eval(Cmp("journey.stage", "in", L({"DECISION", "PURCHASE"}))));
  EXPECT_FALSE(Eval(Cmp("journey.stage", "in", L({"AWARENESS"}))));
  EXPECT_TRUE(Eval(Cmp("trait.tags", "in", L({"z", "b"}))));
  EXPECT_TRUE(Eval(Cmp("trait.tags", "contains", S("a"))));
  EXPECT_FALSE(Eval(Cmp("trait.tags", "contains", S("c"))));
  EXPECT_TRUE(Eval(Cmp("trait.plan", "contains", S("ol"))));
  EXPECT_TRUE(Eval(Cmp("computed.favourite_categories", "contains", S("shoes"))));
  EXPECT_TRUE(Eval(Cmp("trait.plan", "exists")));
  EXPECT_FALSE(Eval(Cmp("trait.nope", "exists")));
}

TEST_F(ConditionTest, MissingAttributesOnlySatisfyNotEqual) {
  for (const char* op : {"==", "<", "<=", ">", ">=", "in", "contains"}) {
    EXPECT_FALSE(Eval(Cmp("trait.missing", op, S("x")))) << op;
  }
  EXPECT_TRUE(Eval(Cmp("trait.missing", "!=", S("x"))));
  EXPECT_FALSE(Eval(Cmp("rfm.recency", ">=", N(1))));  // not scored yet
  EXPECT_FALSE(Eval(Cmp("consent.personalization", "==", B(true))));
}

TEST_F(ConditionTest, EventCountsInWindows) {
  EXPECT_TRUE(Eval(Count(kOrderCompleted, "==", 1, 86400)));
  EXPECT_TRUE(Eval(Count(kOrderCompleted, "==", 2, 30 * 86400)));
  EXPECT_TRUE(Eval(Count(kOrderCompleted, ">=", 2, 90 * 86400)));
  EXPECT_TRUE(Eval(Count(kOrderCompleted, "==", 3, 0)));  // all time
  EXPECT_TRUE(Eval(Count("Product Viewed", "==", 0, 7 * 86400)));
  EXPECT_FALSE(Eval(Count(kOrderCompleted, ">", 3, 0)));
  // The 10-day-old order leaves the 7-day window; windows slide with the evaluation time.
  EXPECT_TRUE(EvaluateCondition(Count(kOrderCompleted, "==", 0, 86400), rec_, kNow + absl::Hours(24)));
}

TEST_F(ConditionTest, ComputedListsCompareAsListsEvenWhenEmpty) {
  EXPECT_TRUE(Eval(Cmp("computed.favourite_categories", "==", L({"shoes"}))));
  EXPECT_TRUE(Eval(Cmp("computed.favourite_brands", "==", L({}))));  // no brand seen: an empty list
  EXPECT_FALSE(Eval(Cmp("computed.favourite_brands", "==", S(""))));
  EXPECT_FALSE(Eval(Cmp("computed.favourite_brands", "contains", S("x"))));
}

TEST_F(ConditionTest, CompiledConditionMatchesLikeTheTreeAndSharesItsPreparation) {
  pb::Condition c;
  *c.mutable_all()->add_conditions() = Cmp("trait.plan", "in", L({"gold", "silver"}));
  *c.mutable_all()->add_conditions() = Count(kOrderCompleted, ">=", 2, 30 * 86400);
  *c.mutable_all()->add_conditions() = Cmp("consent.marketing", "==", B(true));
  const CompiledCondition compiled(c);
  const CompiledCondition copy = compiled;  // copies share the prepared tree
  EXPECT_FALSE(compiled.Matches(rec_, kNow));
  EXPECT_DOUBLE_EQ(copy.Score(rec_, kNow), 2.0 / 3.0);
  (*rec_.mutable_profile()->mutable_consent())["marketing"].set_granted(true);
  EXPECT_TRUE(copy.Matches(rec_, kNow));
  EXPECT_FALSE(copy.Matches(rec_, kNow + absl::Hours(24 * 25)));  // the 10-day-old order slid out
  EXPECT_FALSE(CompiledCondition().Matches(rec_, kNow));
}

TEST_F(ConditionTest, AllAnyNot) {
  pb::Condition all;
  *all.mutable_all()->add_conditions() = Cmp("trait.plan", "==", S("gold"));
  *all.mutable_all()->add_conditions() = Cmp("trait.age", ">", N(50));
  EXPECT_FALSE(Eval(all));
  EXPECT_DOUBLE_EQ(ConditionScore(all, rec_, kNow), 0.5);
  pb::Condition any;
  *any.mutable_any()->add_conditions() = all;
  *any.mutable_any()->add_conditions() = Cmp("trait.vip", "==", B(true));
  EXPECT_TRUE(Eval(any));
  pb::Condition neg;
  *neg.mutable_not_() = any;
  EXPECT_FALSE(Eval(neg));
}

TEST(ConditionValidationTest, NamesTheBadNode) {
  pb::Condition c;
  *c.mutable_all()->add_conditions() = Cmp("trait.plan", "~=", S("x"));
  *c.mutable_all()->add_conditions() = Cmp("computed.nonsense", "==", S("x"));
  *c.mutable_all()->add_conditions() = Count("", ">=", 1, 100 * 86400);
  *c.mutable_all()->add_conditions() = Cmp("trait.plan", "==");
  std::vector<std::string> errors;
  ValidateCondition(c, "condition", &errors);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0], "condition.all[0].compare.op: unknown operator '~='");
  EXPECT_EQ(errors[1], "condition.all[1].compare.attribute: unknown attribute 'computed.nonsense'");
  EXPECT_EQ(errors[2], "condition.all[2].event_count.event: required");
  EXPECT_NE(errors[3].find("window_s"), std::string::npos);
  EXPECT_EQ(errors[4], "condition.all[3].compare.value: required for operator '=='");
}

TEST(ConditionTimeTest, KnowsWhatTimeAloneChanges) {
  EXPECT_TRUE(DependsOnTime(Count("x", ">=", 1, 3600)));
  EXPECT_FALSE(DependsOnTime(Count("x", ">=", 1, 0)));
  EXPECT_TRUE(DependsOnTime(Cmp("computed.days_since_last_order", ">", N(3))));
  EXPECT_FALSE(DependsOnTime(Cmp("trait.plan", "==", S("gold"))));
}

}  // namespace
}  // namespace journey::persona
