// ProfileAggregator: computed attributes from events, windows, merges, traits.
#include "services/persona/profile_aggregator.h"

#include <gtest/gtest.h>

#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01T00:00:00Z

cpb::Event Track(const std::string& name, absl::Time t) {
  cpb::Event e;
  e.set_type(cpb::EVENT_TYPE_TRACK);
  e.set_name(name);
  ToProto(t, e.mutable_timestamp());
  return e;
}

cpb::Event Order(const std::string& order_id, double revenue, absl::Time t) {
  cpb::Event e = Track(kOrderCompleted, t);
  e.set_order_id(order_id);
  e.set_revenue(revenue);
  return e;
}

class AggregatorTest : public ::testing::Test {
 protected:
  void Apply(const cpb::Event& e) { agg_.ApplyEvent(e, FromProto(e.timestamp()), kNow, &rec_); }
  const pb::ComputedAttributes& Computed() {
    agg_.Refresh(kNow, &rec_);
    return rec_.profile().computed();
  }

  ProfileAggregator agg_;
  pb::ProfileRecord rec_;
};

TEST_F(AggregatorTest, CountsEventsInRollingWindows) {
  Apply(Track("Product Viewed", kNow - absl::Hours(1)));    // today
  Apply(Track("Product Viewed", kNow - absl::Hours(50)));   // 3 days ago
  Apply(Track("Product Viewed", kNow - absl::Hours(24 * 20)));
  Apply(Track("Product Viewed", kNow - absl::Hours(24 * 60)));
  Apply(Track("Product Viewed", kNow - absl::Hours(24 * 200)));  // only in the total
  const auto& w = Computed().event_counts().at("Product Viewed");
  EXPECT_EQ(w.d1(), 0);  // kNow is midnight: an hour before is yesterday
  EXPECT_EQ(w.d7(), 2);
  EXPECT_EQ(w.d30(), 3);
  EXPECT_EQ(w.d90(), 4);
  EXPECT_EQ(w.total(), 5);
}

TEST_F(AggregatorTest, WindowsSlideWithTheReadTime) {
  Apply(Track("Product Viewed", kNow + absl::Minutes(5)));
  agg_.Refresh(kNow + absl::Hours(1), &rec_);
  EXPECT_EQ(rec_.profile().computed().event_counts().at("Product Viewed").d1(), 1);
  agg_.Refresh(kNow + absl::Hours(24 * 8), &rec_);
  EXPECT_EQ(rec_.profile().computed().event_counts().at("Product Viewed").d1(), 0);
  EXPECT_EQ(rec_.profile().computed().event_counts().at("Product Viewed").d7(), 0);
  EXPECT_EQ(rec_.profile().computed().event_counts().at("Product Viewed").d30(), 1);
}

TEST_F(AggregatorTest, OrdersRevenueAndAverageOrderValue) {
  Apply(Order("o-1", 30, kNow - absl::Hours(48)));
  Apply(Order("o-2", 10, kNow - absl::Hours(24)));
  Apply(Order("o-1", 30, kNow - absl::Hours(20)));  // a retried order: counted once
  const auto& c = Computed();
  EXPECT_EQ(c.orders(), 2);
  EXPECT_DOUBLE_EQ(c.revenue(), 40);
  EXPECT_DOUBLE_EQ(c.average_order_value(), 20);
  EXPECT_DOUBLE_EQ(c.days_since_last_order(), 1.0);
  EXPECT_EQ(c.event_counts().at(kOrderCompleted).total(), 2);
}

TEST_F(AggregatorTest, RevenueFromProductsWhenNoRevenueIsSent) {
  cpb::Event e = Order("o-3", 0, kNow);
  auto* p = e.add_products();
  p->set_price(5);
  p->set_quantity(3);
  p->set_category("shoes");
  p->set_brand("acme");
  Apply(e);
  EXPECT_DOUBLE_EQ(Computed().revenue(), 15);
  EXPECT_EQ(Computed().favourite_categories(0), "shoes");
  EXPECT_EQ(Computed().favourite_brands(0), "acme");
}

TEST_F(AggregatorTest, FirstLastSeenSessionsChannelFavouritesSentiment) {
  cpb::Event a = Track("Product Viewed", kNow - absl::Hours(5));
  a.set_channel(cpb::CHANNEL_APP);
  a.set_category("bags");
  cpb::Event b = Track("Product Viewed", kNow - absl::Hours(4) - absl::Minutes(50));  // same session
  b.set_channel(cpb::CHANNEL_APP);
  b.set_category("shoes");
  cpb::Event c = Track("Product Viewed", kNow - absl::Hours(1));  // a gap: new session
  c.set_channel(cpb::CHANNEL_WEB);
  c.set_category("shoes");
  cpb::Event s = Track("Survey Answered", kNow - absl::Minutes(30));
  s.set_sentiment_score(5);
  s.set_sentiment_scale(cpb::SENTIMENT_SCALE_CSAT_5);
  cpb::Event n = Track("Survey Answered", kNow - absl::Minutes(20));
  n.set_sentiment_score(0);
  n.set_sentiment_scale(cpb::SENTIMENT_SCALE_NPS_10);
  for (const auto& e : {a, b, c, s, n}) Apply(e);
  const auto& comp = Computed();
  EXPECT_EQ(FromProto(comp.first_seen()), kNow - absl::Hours(5));
  EXPECT_EQ(FromProto(comp.last_seen()), kNow - absl::Minutes(20));
  EXPECT_EQ(comp.sessions(), 2);
  EXPECT_EQ(comp.preferred_channel(), cpb::CHANNEL_APP);
  ASSERT_EQ(comp.favourite_categories_size(), 2);
  EXPECT_EQ(comp.favourite_categories(0), "shoes");
  EXPECT_DOUBLE_EQ(comp.average_sentiment(), 0.5);
  EXPECT_EQ(comp.events(), 5);
}

TEST_F(AggregatorTest, ExplicitSessionIdsCountSessions) {
  cpb::Event a = Track("Product Viewed", kNow - absl::Hours(2));
  a.set_session_id("s1");
  cpb::Event b = Track("Product Viewed", kNow - absl::Hours(1));  // an hour later, same session id
  b.set_session_id("s1");
  cpb::Event c = Track("Product Viewed", kNow - absl::Minutes(59));
  c.set_session_id("s2");
  for (const auto& e : {a, b, c}) Apply(e);
  EXPECT_EQ(Computed().sessions(), 2);
}

TEST_F(AggregatorTest, IdentifyTraitsAreTypedWithSourceAndTime) {
  cpb::Event id;
  id.set_type(cpb::EVENT_TYPE_IDENTIFY);
  ToProto(kNow, id.mutable_timestamp());
  (*id.mutable_traits())["plan"].set_string_value("gold");
  (*id.mutable_traits())["age"].set_number_value(42);
  Apply(id);
  // An older update does not overwrite a newer one.
  google::protobuf::Map<std::string, cpb::TraitValue> old;
  old["plan"].set_string_value("silver");
  agg_.ApplyTraits(old, "crm", kNow - absl::Hours(1), &rec_);
  const auto& traits = rec_.profile().traits();
  EXPECT_EQ(traits.at("plan").value().string_value(), "gold");
  EXPECT_EQ(traits.at("plan").source(), "identify");
  EXPECT_EQ(FromProto(traits.at("plan").updated_at()), kNow);
  EXPECT_DOUBLE_EQ(traits.at("age").value().number_value(), 42);
  EXPECT_EQ(Computed().events(), 0);  // identify is not a behavioural event
}

TEST_F(AggregatorTest, MergeAddsCountersAndCountsSharedOrdersOnce) {
  pb::ProfileRecord anon;
  anon.mutable_profile()->set_user_id("anon-1");
  agg_.ApplyEvent(Track("Product Viewed", kNow - absl::Hours(3)), kNow - absl::Hours(3), kNow, &anon);
  agg_.ApplyEvent(Order("o-1", 20, kNow - absl::Hours(2)), kNow - absl::Hours(2), kNow, &anon);
  rec_.mutable_profile()->set_user_id("u-1");
  Apply(Order("o-1", 20, kNow - absl::Hours(2)));
  Apply(Order("o-2", 5, kNow - absl::Hours(1)));
  agg_.Merge(anon, kNow, &rec_);
  const auto& c = Computed();
  EXPECT_EQ(c.orders(), 2);
  EXPECT_DOUBLE_EQ(c.revenue(), 25);
  EXPECT_EQ(c.event_counts().at(kOrderCompleted).total(), 2);
  EXPECT_EQ(c.event_counts().at(kOrderCompleted).d7(), 2);
  EXPECT_EQ(c.event_counts().at("Product Viewed").total(), 1);
  EXPECT_EQ(FromProto(c.first_seen()), kNow - absl::Hours(3));
  ASSERT_EQ(rec_.profile().anonymous_ids_size(), 1);
  EXPECT_EQ(rec_.profile().anonymous_ids(0), "anon-1");
}

TEST_F(AggregatorTest, SnapshotCarriesWhatRecommendReads) {
  Apply(Order("o-1", 20, kNow));
  (*rec_.mutable_profile()->mutable_consent())["marketing"].set_granted(true);
  (*rec_.mutable_applied_offsets())[3] = "5-0";
  agg_.Refresh(kNow, &rec_);
  cpb::PersonaSnapshot s = ProfileAggregator::Snapshot(rec_, kNow);
  EXPECT_EQ(s.orders(), 1);
  EXPECT_TRUE(s.consent().at("marketing"));
  EXPECT_EQ(s.applied_offsets().at(3), "5-0");
}

TEST(SentimentTest, NormalisesEachScale) {
  EXPECT_DOUBLE_EQ(ProfileAggregator::NormalisedSentiment(3, cpb::SENTIMENT_SCALE_CSAT_5), 0.5);
  EXPECT_DOUBLE_EQ(ProfileAggregator::NormalisedSentiment(10, cpb::SENTIMENT_SCALE_NPS_10), 1.0);
  EXPECT_DOUBLE_EQ(ProfileAggregator::NormalisedSentiment(1.7, cpb::SENTIMENT_SCALE_UNSPECIFIED), 1.0);
}

}  // namespace
}  // namespace journey::persona
