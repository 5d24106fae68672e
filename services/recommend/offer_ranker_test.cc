#include "services/recommend/offer_ranker.h"

#include <gtest/gtest.h>

#include "services/recommend/feedback.h"

namespace journey::recommend {
namespace {

std::shared_ptr<const OfferCatalog> Catalog(const std::string& yaml) {
  auto offers = ParseOffersYaml(yaml, "test");
  EXPECT_TRUE(offers.ok()) << offers.status();
  auto catalog = OfferCatalog::Build(*offers, 1);
  EXPECT_TRUE(catalog.ok()) << catalog.status();
  return *catalog;
}

CustomerContext Customer(const std::string& stage) {
  CustomerContext c;
  c.stage = stage;
  c.now = absl::FromUnixSeconds(1790000000);  // 2026-09
  return c;
}

std::vector<std::string> Ids(const std::vector<RankedOffer>& ranked) {
  std::vector<std::string> ids;
  for (const auto& r : ranked) ids.push_back(r.offer->offer.id());
  return ids;
}

class OfferRankerTest : public ::testing::Test {
 protected:
  std::mt19937_64 rng{42};
  OfferRanker ranker;
};

TEST_F(OfferRankerTest, EachFilterExcludesForItsReason) {
  auto catalog = Catalog(R"(
offers:
  - {id: stage, kind: content, stages: [DECISION]}
  - {id: placement, kind: content, stages: [AWARENESS], placements: [cart]}
  - {id: expired, kind: content, stages: [AWARENESS], valid_to: 2026-01-01T00:00:00Z}
  - {id: future, kind: content, stages: [AWARENESS], valid_from: 2027-01-01T00:00:00Z}
  - {id: segment, kind: content, stages: [AWARENESS], segments: [vip]}
  - {id: consent, kind: discount, stages: [AWARENESS], consent_purpose: marketing}
  - {id: daily, kind: content, stages: [AWARENESS], cap_per_day: 2}
  - {id: lifetime, kind: content, stages: [AWARENESS], cap_lifetime: 5}
  - {id: bought, kind: product, stages: [AWARENESS], attributes: {product_id: p1}}
  - {id: budget, kind: discount, stages: [AWARENESS], budget_conversions: 10}
  - {id: ok, kind: content, stages: [AWARENESS]}
)");
  CustomerContext c = Customer("AWARENESS");
  c.placement = v1::PLACEMENT_HOME;
  c.consent["marketing"] = false;
  c.shown_today[OfferIdHash("daily")] = 2;
  c.shown_lifetime[OfferIdHash("lifetime")] = 5;
  c.purchased_product_ids = {"p1"};
  OfferStatsCache stats;
  stats.Add("budget", "AWARENESS", {100, 20, 10});
  auto why = [&](const std::string& id) { return ranker.Ineligible(*catalog->Find(id), c, &stats); };
  EXPECT_EQ(why("stage"), "stage");
  EXPECT_EQ(why("placement"), "placement");
  EXPECT_EQ(why("expired"), "validity");
  EXPECT_EQ(why("future"), "validity");
  EXPECT_EQ(why("segment"), "segment");
  EXPECT_EQ(why("consent"), "consent");
  EXPECT_EQ(why("daily"), "cap_per_day");
  EXPECT_EQ(why("lifetime"), "cap_lifetime");
  EXPECT_EQ(why("bought"), "already_bought");
  EXPECT_EQ(why("budget"), "budget");
  EXPECT_EQ(why("ok"), "");
  EXPECT_EQ(Ids(ranker.Rank(*catalog, c, &stats, 10, rng)), std::vector<std::string>{"ok"});

  // Lift each condition and the offer comes back.
  c.placement = v1::PLACEMENT_CART;
  c.segments = {"vip"};
  c.consent["marketing"] = true;
  c.shown_today[OfferIdHash("daily")] = 1;
  c.shown_lifetime[OfferIdHash("lifetime")] = 4;
  c.purchased_product_ids.clear();
  for (const char* id : {"placement", "segment", "consent", "daily", "lifetime", "bought"}) EXPECT_EQ(why(id), "") << id;
}

TEST_F(OfferRankerTest, PriorityWinsAndReasonsExplain) {
  auto catalog = Catalog(R"(
offers:
  - {id: low, kind: content, stages: [CONSIDERATION], weight: 1}
  - {id: high, kind: discount, stages: [CONSIDERATION], priority: 3}
  - {id: vip, kind: bundle, stages: [CONSIDERATION], segments: [vip], priority: 1}
)");
  CustomerContext c = Customer("CONSIDERATION");
  c.segments = {"vip"};
  auto ranked = ranker.Rank(*catalog, c, nullptr, 10, rng);
  ASSERT_EQ(Ids(ranked), (std::vector<std::string>{"high", "vip", "low"}));
  EXPECT_EQ(ranked[0].reasons[0], "stage: consideration");
  EXPECT_EQ(ranked[1].reasons[1], "segment: vip");
  EXPECT_EQ(Ids(ranker.Rank(*catalog, c, nullptr, 1, rng)), std::vector<std::string>{"high"});
}

TEST_F(OfferRankerTest, DiversityLimitsOffersOfOneKind) {
  auto catalog = Catalog(R"(
offers:
  - {id: a, kind: content, stages: [X], priority: 3}
  - {id: b, kind: content, stages: [X], priority: 2}
  - {id: c, kind: content, stages: [X], priority: 1}
  - {id: d, kind: discount, stages: [X]}
)");
  EXPECT_EQ(Ids(ranker.Rank(*catalog, Customer("X"), nullptr, 3, rng)), (std::vector<std::string>{"a", "b", "d"}));
}

TEST_F(OfferRankerTest, DegradedOnlyServesUnconditionalOffers) {
  auto catalog = Catalog(R"(
offers:
  - {id: plain, kind: content, stages: [LOYALTY]}
  - {id: capped, kind: content, stages: [AWARENESS], cap_per_day: 1}
  - {id: consent, kind: discount, stages: [AWARENESS], consent_purpose: marketing}
)");
  CustomerContext c = Customer("");
  c.degraded = true;
  auto ranked = ranker.Rank(*catalog, c, nullptr, 10, rng);
  EXPECT_EQ(Ids(ranked), std::vector<std::string>{"plain"});
  EXPECT_EQ(ranked[0].reasons[0], "fallback: customer state unavailable");
}

// Two offers with unknown click rates 2% and 8%: Thompson sampling must learn to serve the
// better one most of the time, while still trying the other now and then.
TEST_F(OfferRankerTest, ThompsonSamplingConvergesToTheBetterOffer) {
  auto catalog = Catalog(R"(
offers:
  - {id: worse, kind: content, stages: [X]}
  - {id: better, kind: discount, stages: [X]}
)");
  OfferStatsCache stats;
  std::mt19937_64 world(7);
  std::bernoulli_distribution click_worse(0.02), click_better(0.08);
  int better_late = 0, worse_late = 0;
  for (int round = 0; round < 5000; ++round) {
    auto ranked = ranker.Rank(*catalog, Customer("X"), &stats, 1, rng);
    ASSERT_EQ(ranked.size(), 1u);
    const std::string id = ranked[0].offer->offer.id();
    const bool clicked = id == "better" ? click_better(world) : click_worse(world);
    stats.Add(id, "X", {1, clicked ? 1 : 0, 0});
    if (round >= 4000) (id == "better" ? better_late : worse_late)++;
  }
  EXPECT_GT(better_late, 850) << "worse was served " << worse_late << " of the last 1000";
  EXPECT_GT(stats.Get("worse", "X").impressions, 20) << "the worse offer must still get a fair trial";
}

}  // namespace
}  // namespace journey::recommend
