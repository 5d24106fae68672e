// Defaults, clock-skew correction, typed e-commerce properties, sentiment and channel.
#include "services/ingest/event_normalizer.h"

#include <gtest/gtest.h>

namespace journey::ingest {
namespace {

using journey::common::v1::Event;

const absl::Time kReceived = absl::FromUnixSeconds(1'795'000'000);

TEST(EventNormalizer, FillsMessageIdTimestampAndReceivedAt) {
  Event e;
  ASSERT_FALSE(NormalizeEvent(&e, kReceived));
  EXPECT_EQ(e.message_id().rfind("srv-", 0), 0u);
  EXPECT_EQ(e.received_at().seconds(), absl::ToUnixSeconds(kReceived));
  EXPECT_EQ(e.timestamp().seconds(), absl::ToUnixSeconds(kReceived));
  Event other;
  ASSERT_FALSE(NormalizeEvent(&other, kReceived));
  EXPECT_NE(other.message_id(), e.message_id());
}

TEST(EventNormalizer, CorrectsTheSendersClockSkew) {
  // The device clock is 10 minutes fast: it stamped the event at T+600-5 and sent it at T+600.
  Event e;
  e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(kReceived) + 595);
  e.mutable_sent_at()->set_seconds(absl::ToUnixSeconds(kReceived) + 600);
  ASSERT_FALSE(NormalizeEvent(&e, kReceived));
  EXPECT_EQ(e.timestamp().seconds(), absl::ToUnixSeconds(kReceived) - 5);
}

TEST(EventNormalizer, KeepsTheTimestampWithoutSentAt) {
  Event e;
  e.mutable_timestamp()->set_seconds(1'600'000'000);
  ASSERT_FALSE(NormalizeEvent(&e, kReceived));
  EXPECT_EQ(e.timestamp().seconds(), 1'600'000'000);
}

TEST(EventNormalizer, PromotesEcommerceProperties) {
  Event e;
  e.set_name("Order Completed");
  auto& p = *e.mutable_properties();
  p["order_id"] = "o-1";
  p["total"] = "42.5";
  p["quantity"] = "2.0";
  p["currency"] = "eur";
  p["gift_wrap"] = "true";
  ASSERT_FALSE(NormalizeEvent(&e, kReceived));
  EXPECT_EQ(e.order_id(), "o-1");
  EXPECT_DOUBLE_EQ(e.revenue(), 42.5);
  EXPECT_EQ(e.quantity(), 2);
  EXPECT_EQ(e.currency(), "EUR");
  EXPECT_EQ(e.properties().size(), 1u);
  EXPECT_EQ(e.properties().at("gift_wrap"), "true");
}

TEST(EventNormalizer, RejectsAMistypedTypedProperty) {
  Event e;
  (*e.mutable_properties())["price"] = "cheap";
  auto err = NormalizeEvent(&e, kReceived);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "properties.price");
}

TEST(EventNormalizer, RejectsAnIntegerPropertyOutOfRange) {
  // Found by segment_json_fuzzer: a 120-digit quantity was cast to int32, undefined behaviour.
  for (const char* quantity : {"1.1444e119", "2147483648", "-1e10", "2.5", "nan"}) {
    Event e;
    e.set_name("Product Added");
    (*e.mutable_properties())["quantity"] = quantity;
    auto err = NormalizeEvent(&e, kReceived);
    ASSERT_TRUE(err) << quantity;
    EXPECT_EQ(err->field, "properties.quantity") << quantity;
    EXPECT_EQ(e.properties().count("quantity"), 1u) << "a rejected value stays where it was";
  }
}

TEST(EventNormalizer, SurveyScoresBecomeSentiment) {
  Event nps;
  nps.set_name("Survey Answered");
  (*nps.mutable_properties())["score"] = "9";
  ASSERT_FALSE(NormalizeEvent(&nps, kReceived));
  EXPECT_DOUBLE_EQ(nps.sentiment_score(), 9);
  EXPECT_EQ(nps.sentiment_scale(), journey::common::v1::SENTIMENT_SCALE_NPS_10);

  Event csat;
  csat.set_name("Survey Answered");
  (*csat.mutable_properties())["score"] = "4";
  (*csat.mutable_properties())["survey_type"] = "csat";
  ASSERT_FALSE(NormalizeEvent(&csat, kReceived));
  EXPECT_EQ(csat.sentiment_scale(), journey::common::v1::SENTIMENT_SCALE_CSAT_5);

  Event review;
  review.set_name("Product Reviewed");
  (*review.mutable_properties())["rating"] = "5";
  ASSERT_FALSE(NormalizeEvent(&review, kReceived));
  EXPECT_EQ(review.sentiment_scale(), journey::common::v1::SENTIMENT_SCALE_RATING_5);
}

TEST(EventNormalizer, InfersTheChannel) {
  auto channel_of = [](Event e) {
    EXPECT_FALSE(NormalizeEvent(&e, kReceived));
    return e.channel();
  };
  Event email;
  email.set_name("Email Opened");
  EXPECT_EQ(channel_of(email), journey::common::v1::CHANNEL_EMAIL);
  Event ad;
  ad.set_name("Ad Clicked");
  EXPECT_EQ(channel_of(ad), journey::common::v1::CHANNEL_ADS);
  Event ticket;
  ticket.set_name("Support Ticket Opened");
  EXPECT_EQ(channel_of(ticket), journey::common::v1::CHANNEL_SUPPORT);
  Event store;
  store.set_name("Store Visited");
  EXPECT_EQ(channel_of(store), journey::common::v1::CHANNEL_STORE);
  Event via_newsletter;
  via_newsletter.set_name("Product Viewed");
  via_newsletter.mutable_context()->mutable_campaign()->set_medium("email");
  EXPECT_EQ(channel_of(via_newsletter), journey::common::v1::CHANNEL_EMAIL);
  Event web;
  web.set_type(journey::common::v1::EVENT_TYPE_PAGE);
  EXPECT_EQ(channel_of(web), journey::common::v1::CHANNEL_WEB);
  Event told;
  told.set_name("Email Opened");
  told.set_channel(journey::common::v1::CHANNEL_APP);
  EXPECT_EQ(channel_of(told), journey::common::v1::CHANNEL_APP);
}

}  // namespace
}  // namespace journey::ingest
