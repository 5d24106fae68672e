// RFM: quintiles against a small hand-computed population, and the classic personas.
#include "services/persona/rfm.h"

#include <gtest/gtest.h>

namespace journey::persona {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600);

TEST(RfmTest, QuintilesOfTenCustomers) {
  // Recency days 1..10, frequency 1..10, monetary 100..1000 (customer i has i of each).
  std::vector<RfmValues> population;
  for (int i = 1; i <= 10; ++i) population.push_back({double(i), double(i), 100.0 * i});
  pb::RfmModel m = BuildRfmModel(population, kNow);
  // ceil(k*10/5) - 1 = indexes 1, 3, 5, 7 of the sorted values.
  EXPECT_EQ(std::vector<double>(m.recency_days_bounds().begin(), m.recency_days_bounds().end()),
            (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ(std::vector<double>(m.monetary_bounds().begin(), m.monetary_bounds().end()),
            (std::vector<double>{200, 400, 600, 800}));
  EXPECT_EQ(m.population(), 10);

  // Customer 1: bought yesterday (best recency), once, 100 -> R5 F1 M1: New.
  pb::RfmScore a = ScoreRfm(m, {1, 1, 100});
  EXPECT_EQ(a.recency(), 5);
  EXPECT_EQ(a.frequency(), 1);
  EXPECT_EQ(a.monetary(), 1);
  EXPECT_EQ(a.persona(), "New");
  // Customer 10: 10 days ago, 10 orders, 1000 -> R1 F5 M5: Cannot Lose Them.
  pb::RfmScore b = ScoreRfm(m, {10, 10, 1000});
  EXPECT_EQ(b.recency(), 1);
  EXPECT_EQ(b.frequency(), 5);
  EXPECT_EQ(b.monetary(), 5);
  EXPECT_EQ(b.persona(), "Cannot Lose Them");
  // Customer 5: 5 days, 5 orders, 500 -> R3 F3 M3: Needs Attention. A boundary value goes low.
  pb::RfmScore c = ScoreRfm(m, {5, 5, 500});
  EXPECT_EQ(c.recency(), 3);
  EXPECT_EQ(c.frequency(), 3);
  EXPECT_EQ(c.persona(), "Needs Attention");
  pb::RfmScore d = ScoreRfm(m, {4, 4, 400});
  EXPECT_EQ(d.recency(), 4);
  EXPECT_EQ(d.frequency(), 2);
  EXPECT_EQ(d.persona(), "Potential Loyalist");
}

TEST(RfmTest, EmptyPopulationScoresNothing) {
  pb::RfmModel m = BuildRfmModel({}, kNow);
  EXPECT_EQ(ScoreRfm(m, {1, 1, 1}).recency(), 0);
}

TEST(RfmTest, ClassicPersonaMap) {
  EXPECT_EQ(RfmPersona(5, 5), "Champions");
  EXPECT_EQ(RfmPersona(4, 4), "Loyal");
  EXPECT_EQ(RfmPersona(3, 5), "Loyal");
  EXPECT_EQ(RfmPersona(5, 2), "Potential Loyalist");
  EXPECT_EQ(RfmPersona(5, 1), "New");
  EXPECT_EQ(RfmPersona(4, 1), "Promising");
  EXPECT_EQ(RfmPersona(3, 3), "Needs Attention");
  EXPECT_EQ(RfmPersona(3, 1), "About to Sleep");
  EXPECT_EQ(RfmPersona(2, 3), "At Risk");
  EXPECT_EQ(RfmPersona(1, 5), "Cannot Lose Them");
  EXPECT_EQ(RfmPersona(2, 2), "Hibernating");
  EXPECT_EQ(RfmPersona(1, 1), "Lost");
}

TEST(RfmTest, OnlyCustomersAreScored) {
  pb::ProfileRecord r;
  EXPECT_FALSE(RfmValuesOf(r, kNow).has_value());
  r.mutable_profile()->mutable_computed()->set_orders(2);
  r.mutable_profile()->mutable_computed()->set_revenue(30);
  r.mutable_profile()->mutable_computed()->mutable_last_order_at()->set_seconds(absl::ToUnixSeconds(kNow) - 86400 * 3);
  auto v = RfmValuesOf(r, kNow);
  ASSERT_TRUE(v.has_value());
  EXPECT_DOUBLE_EQ(v->recency_days, 3);
  EXPECT_DOUBLE_EQ(v->frequency, 2);
  EXPECT_DOUBLE_EQ(v->monetary, 30);
}

}  // namespace
}  // namespace journey::persona
