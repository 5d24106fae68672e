#include "services/recommend/offer_catalog.h"

#include <set>

#include <gtest/gtest.h>

namespace journey::recommend {
namespace {

TEST(OfferCatalogTest, ParsesEveryField) {
  auto offers = ParseOffersYaml(R"(
offers:
  - id: a
    kind: free_shipping
    title: Free
    stages: [decision, PURCHASE]
    placements: [cart, checkout]
    segments: [vip]
    personas: [bargain_hunter]
    valid_from: 2026-01-01T00:00:00Z
    valid_to: 2027-01-01T00:00:00Z
    priority: 2
    weight: 1.5
    consent_purpose: marketing
    cap_per_day: 3
    cap_lifetime: 9
    budget_conversions: 100
    attributes: {coupon: X}
)",
                                "t.yaml");
  ASSERT_TRUE(offers.ok()) << offers.status();
  ASSERT_EQ(offers->size(), 1u);
  const v1::Offer& o = (*offers)[0];
  EXPECT_EQ(o.kind(), v1::OFFER_KIND_FREE_SHIPPING);
  EXPECT_EQ(o.stages(0), "DECISION");
  EXPECT_EQ(o.placements(1), v1::PLACEMENT_CHECKOUT);
  EXPECT_EQ(o.cap_lifetime(), 9);
  EXPECT_EQ(o.budget_conversions(), 100);
  EXPECT_EQ(o.attributes().at("coupon"), "X");
  auto catalog = OfferCatalog::Build(*offers, 3);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_EQ((*catalog)->Candidates("PURCHASE", v1::PLACEMENT_UNSPECIFIED).size(), 1u);
  EXPECT_TRUE((*catalog)->Candidates("AWARENESS", v1::PLACEMENT_UNSPECIFIED).empty());
  // The (stage, placement) index: only where the offer may appear.
  EXPECT_EQ((*catalog)->Candidates("DECISION", v1::PLACEMENT_CART).size(), 1u);
  EXPECT_TRUE((*catalog)->Candidates("DECISION", v1::PLACEMENT_HOME).empty());
  // Segments, consent and caps need customer state: never a degraded candidate.
  EXPECT_TRUE((*catalog)->DegradedCandidates(v1::PLACEMENT_CART).empty());
  EXPECT_TRUE((*catalog)->offers()[0].needs_customer_state);
  EXPECT_EQ((*catalog)->offers()[0].valid_to, absl::FromUnixSeconds(1798761600));
}

TEST(OfferCatalogTest, ErrorsNameTheField) {
  auto bad_placement = ParseOffersYaml("offers:\n  - {id: a, kind: content, stages: [X], placements: [hom]}\n", "f.yaml");
  ASSERT_FALSE(bad_placement.ok());
  EXPECT_NE(bad_placement.status().message().find("f.yaml: offers[0].placements[0]: unknown placement \"hom\""),
            std::string::npos)
      << bad_placement.status();
  auto typo = ParseOffersYaml("offers:\n  - {id: a, kind: content, stage: [X]}\n", "f.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("offers[0].stage: unknown field"), std::string::npos) << typo.status();
  auto number = ParseOffersYaml("offers:\n  - {id: a, kind: content, stages: [X], cap_per_day: lots}\n", "f.yaml");
  EXPECT_NE(number.status().message().find("offers[0].cap_per_day: \"lots\" is not a number"), std::string::npos)
      << number.status();
  auto kind = ParseOffersYaml("offers:\n  - {id: a, kind: coupon, stages: [X]}\n", "f.yaml");
  EXPECT_NE(kind.status().message().find("offers[0].kind: unknown kind \"coupon\""), std::string::npos);
}

TEST(OfferCatalogTest, BuildRejectsInconsistentOffers) {
  auto parse = [](const std::string& y) { return *ParseOffersYaml(y, "x"); };
  auto dup = OfferCatalog::Build(parse("offers:\n  - {id: a, kind: content, stages: [X]}\n  - {id: a, kind: content, stages: [Y]}\n"), 1);
  EXPECT_NE(dup.status().message().find("offers[1] (id \"a\").id: duplicate"), std::string::npos) << dup.status();
  auto no_stage = OfferCatalog::Build(parse("offers:\n  - {id: a, kind: content}\n"), 1);
  EXPECT_NE(no_stage.status().message().find(".stages: at least one"), std::string::npos);
  auto window = OfferCatalog::Build(
      parse("offers:\n  - {id: a, kind: content, stages: [X], valid_from: 2027-01-01T00:00:00Z, valid_to: 2026-01-01T00:00:00Z}\n"), 1);
  EXPECT_NE(window.status().message().find(".valid_to: must be after valid_from"), std::string::npos);
  auto caps = OfferCatalog::Build(parse("offers:\n  - {id: a, kind: content, stages: [X], cap_lifetime: -1}\n"), 1);
  EXPECT_NE(caps.status().message().find(".cap_lifetime: must be >= 0"), std::string::npos);
}

TEST(OfferCatalogTest, DefaultCatalogCoversEveryStage) {
  auto offers = LoadOffersFile(std::string(JOURNEY_SOURCE_DIR) + "/config/offers/default.yaml");
  ASSERT_TRUE(offers.ok()) << offers.status();
  auto catalog = OfferCatalog::Build(*offers, 0);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::set<std::string> previous;
  for (const char* stage : {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"}) {
    const auto& ids = (*catalog)->Candidates(stage, v1::PLACEMENT_UNSPECIFIED);
    EXPECT_GE(ids.size(), 3u) << stage;
  }
}

}  // namespace
}  // namespace journey::recommend
