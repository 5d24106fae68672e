// Segment JSON as SDKs send it, mapped onto Event; errors name the Segment field.
#include "services/ingest/segment_json.h"

#include <gtest/gtest.h>

#include "services/ingest/event_normalizer.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using json = nlohmann::json;

TEST(SegmentJson, MapsATrackCallWithEcommerceProperties) {
  json m = json::parse(R"({
    "type": "track", "messageId": "m-1", "anonymousId": "a-1", "userId": 42, "event": "Order Completed",
    "timestamp": "2026-11-01T10:00:00.250Z", "sentAt": "2026-11-01T10:00:01Z",
    "context": {"page": {"url": "https://shop.example/checkout"}, "campaign": {"source": "newsletter", "medium": "email"},
                "userAgent": "Mozilla/5.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "4.1"}},
    "properties": {"order_id": "o-1", "revenue": 30.5, "currency": "eur", "coupon": "SUMMER",
                   "products": [{"product_id": "p-1", "price": 10.25, "quantity": 2, "category": "shoes"},
                                {"id": "p-2", "price": 10, "brand": "acme"}],
                   "gift": true, "notes": {"wrap": "red"}}})");
  Event e;
  ASSERT_FALSE(SegmentToEvent(m, journey::common::v1::EVENT_TYPE_UNSPECIFIED, &e));
  ASSERT_FALSE(NormalizeEvent(&e, absl::FromUnixSeconds(1'793'534'401)));
  EXPECT_EQ(e.type(), journey::common::v1::EVENT_TYPE_TRACK);
  EXPECT_EQ(e.message_id(), "m-1");
  EXPECT_EQ(e.user_id(), "42");
  EXPECT_EQ(e.anonymous_id(), "a-1");
  EXPECT_EQ(e.name(), "Order Completed");
  // Sent 0.75 s after it happened, by the sender's clock: received_at - 0.75 s.
  EXPECT_EQ(e.timestamp().seconds(), 1'793'534'400);
  EXPECT_EQ(e.timestamp().nanos(), 250'000'000);
  EXPECT_EQ(e.context().page_url(), "https://shop.example/checkout");
  EXPECT_EQ(e.context().campaign().medium(), "email");
  EXPECT_EQ(e.context().library_name(), "analytics.js");
  EXPECT_EQ(e.order_id(), "o-1");
  EXPECT_DOUBLE_EQ(e.revenue(), 30.5);
  EXPECT_EQ(e.currency(), "EUR");
  EXPECT_EQ(e.coupon(), "SUMMER");
  ASSERT_EQ(e.products_size(), 2);
  EXPECT_EQ(e.products(0).product_id(), "p-1");
  EXPECT_EQ(e.products(0).quantity(), 2);
  EXPECT_EQ(e.products(1).product_id(), "p-2");
  EXPECT_EQ(e.products(1).brand(), "acme");
  EXPECT_EQ(e.properties().at("gift"), "true");
  EXPECT_EQ(e.properties().at("notes"), R"({"wrap":"red"})");
  EXPECT_EQ(e.properties().count("order_id"), 0u);
  EXPECT_EQ(e.channel(), journey::common::v1::CHANNEL_EMAIL);
}

TEST(SegmentJson, MapsIdentifyTraitsAndPageProperties) {
  Event id;
  ASSERT_FALSE(SegmentToEvent(json::parse(R"({"userId": "u", "anonymousId": "a",
      "traits": {"email": "a@example.com", "age": 31, "vip": true, "tags": ["x", "y"], "address": {"city": "Oslo"}}})"),
                              journey::common::v1::EVENT_TYPE_IDENTIFY, &id));
  EXPECT_EQ(id.traits().at("email").string_value(), "a@example.com");
  EXPECT_DOUBLE_EQ(id.traits().at("age").number_value(), 31);
  EXPECT_TRUE(id.traits().at("vip").bool_value());
  EXPECT_EQ(id.traits().at("tags").list_value().values_size(), 2);
  EXPECT_EQ(id.traits().at("address").string_value(), R"({"city":"Oslo"})");

  Event page;
  ASSERT_FALSE(SegmentToEvent(json::parse(R"({"anonymousId": "a", "name": "Home",
      "properties": {"url": "https://shop.example/", "title": "Shop"}})"), journey::common::v1::EVENT_TYPE_PAGE, &page));
  EXPECT_EQ(page.name(), "Home");
  EXPECT_EQ(page.context().page_url(), "https://shop.example/");
  EXPECT_EQ(page.context().page_title(), "Shop");
}

TEST(SegmentJson, ErrorsNameTheSegmentField) {
  Event e;
  auto err = SegmentToEvent(json::parse(R"({"userId": "u", "event": "x", "timestamp": "yesterday"})"),
                            journey::common::v1::EVENT_TYPE_TRACK, &e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "timestamp");
  err = SegmentToEvent(json::parse(R"({"userId": "u", "event": "x", "properties": {"products": [{"price": "ten"}]}})"),
                       journey::common::v1::EVENT_TYPE_TRACK, &e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "properties.products[0].price");
  err = SegmentToEvent(
      json::parse(R"({"userId": "u", "event": "x", "properties": {"products": [{"quantity": 1e40}]}})"),
      journey::common::v1::EVENT_TYPE_TRACK, &e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "properties.products[0].quantity");
  err = SegmentToEvent(json::parse(R"({"userId": "u"})"), journey::common::v1::EVENT_TYPE_UNSPECIFIED, &e);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "type");
  EXPECT_EQ(SegmentFieldName("user_id", journey::common::v1::EVENT_TYPE_TRACK), "userId");
  EXPECT_EQ(SegmentFieldName("name", journey::common::v1::EVENT_TYPE_TRACK), "event");
  EXPECT_EQ(SegmentFieldName("price", journey::common::v1::EVENT_TYPE_TRACK), "properties.price");
  EXPECT_EQ(SegmentFieldName("products[1].quantity", journey::common::v1::EVENT_TYPE_TRACK),
            "properties.products[1].quantity");
}

}  // namespace
}  // namespace journey::ingest
