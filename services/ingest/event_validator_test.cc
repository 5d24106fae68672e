// Every validation rule, each asserting the field it names.
#include "services/ingest/event_validator.h"

#include <gtest/gtest.h>

#include "services/ingest/event_normalizer.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;

const absl::Time kNow = absl::FromUnixSeconds(1'795'000'000);

Event Valid() {
  Event e;
  e.set_type(journey::common::v1::EVENT_TYPE_TRACK);
  e.set_message_id("m-1");
  e.set_user_id("u-1");
  e.set_name("Product Viewed");
  e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(kNow) - 60);
  return e;
}

// The field of the first broken rule, or "" when the event passes.
std::string FieldOf(const Event& e, IngestLimits limits = {}) {
  auto err = EventValidator(limits).Validate(e, kNow);
  return err ? err->field : "";
}

std::string ReasonOf(const Event& e) {
  auto err = EventValidator({}).Validate(e, kNow);
  return err ? err->reason : "";
}

TEST(EventValidator, AcceptsAValidEvent) { EXPECT_EQ(FieldOf(Valid()), ""); }

TEST(EventValidator, RequiresAType) {
  Event e = Valid();
  e.clear_type();
  EXPECT_EQ(FieldOf(e), "type");
}

TEST(EventValidator, RequiresUserIdOrAnonymousId) {
  Event e = Valid();
  e.clear_user_id();
  EXPECT_EQ(FieldOf(e), "user_id");
  EXPECT_EQ(ReasonOf(e), "required");
  e.set_anonymous_id("a-1");
  EXPECT_EQ(FieldOf(e), "");
}

TEST(EventValidator, TrackRequiresAName) {
  Event e = Valid();
  e.clear_name();
  EXPECT_EQ(FieldOf(e), "name");
  e.set_type(journey::common::v1::EVENT_TYPE_PAGE);  // a page may be unnamed
  EXPECT_EQ(FieldOf(e), "");
}

TEST(EventValidator, AliasRequiresUserAndPreviousId) {
  Event e = Valid();
  e.set_type(journey::common::v1::EVENT_TYPE_ALIAS);
  EXPECT_EQ(FieldOf(e), "previous_id");
  e.set_previous_id("a-1");
  EXPECT_EQ(FieldOf(e), "");
  e.clear_user_id();
  EXPECT_EQ(FieldOf(e), "user_id");
}

TEST(EventValidator, RejectsAnEventOverTheSizeLimit) {
  Event e = Valid();
  for (int i = 0; i < 10; ++i) (*e.mutable_properties())["k" + std::to_string(i)] = std::string(4000, 'x');
  EXPECT_EQ(FieldOf(e), "event");
  EXPECT_EQ(ReasonOf(e), "too_large");
}

TEST(EventValidator, RejectsOverLongStrings) {
  Event e = Valid();
  e.set_user_id(std::string(257, 'u'));
  EXPECT_EQ(FieldOf(e), "user_id");
  e = Valid();
  e.mutable_context()->set_page_url(std::string(3000, 'p'));
  EXPECT_EQ(FieldOf(e), "context.page_url");
  e = Valid();
  e.add_products()->set_name(std::string(3000, 'n'));
  EXPECT_EQ(FieldOf(e), "products[0].name");
  e = Valid();
  (*e.mutable_properties())["color"] = std::string(9000, 'c');
  EXPECT_EQ(FieldOf(e), "properties.color");
}

TEST(EventValidator, RejectsTooManyProperties) {
  Event e = Valid();
  for (int i = 0; i < 101; ++i) (*e.mutable_properties())["k" + std::to_string(i)] = "v";
  EXPECT_EQ(FieldOf(e), "properties");
  EXPECT_EQ(ReasonOf(e), "too_many");
}

TEST(EventValidator, RejectsInvalidUtf8Anywhere) {
  Event e = Valid();
  e.set_name("bad \xC3\x28");
  EXPECT_EQ(FieldOf(e), "name");
  EXPECT_EQ(ReasonOf(e), "invalid_utf8");
  e = Valid();
  (*e.mutable_properties())["note"] = "\xED\xA0\x80";  // a UTF-16 surrogate
  EXPECT_EQ(FieldOf(e), "properties.note");
  e = Valid();
  e.set_name("caf\xC3\xA9 \xF0\x9F\x9B\x92");  // é and a cart emoji are fine
  EXPECT_EQ(FieldOf(e), "");
}

TEST(EventValidator, WalksNestedMessagesMapKeysAndTraitValues) {
  Event e = Valid();
  e.mutable_context()->mutable_campaign()->set_name("\xFF");
  EXPECT_EQ(FieldOf(e), "context.campaign.name");
  e = Valid();
  (*e.mutable_traits())["plan"].set_string_value("gold \xC0\xAF");  // overlong encoding of '/'
  EXPECT_EQ(FieldOf(e), "traits.plan.string_value");
  e = Valid();
  auto* list = (*e.mutable_traits())["tags"].mutable_list_value();
  list->add_values("ok");
  list->add_values(std::string(3000, 't'));
  EXPECT_EQ(FieldOf(e), "traits.tags.list_value.values[1]");
  EXPECT_EQ(ReasonOf(e), "too_long");
  e = Valid();
  (*e.mutable_properties())[std::string(300, 'k')] = "v";
  EXPECT_EQ(FieldOf(e), "properties");
  EXPECT_EQ(ReasonOf(e), "too_long");
  e = Valid();
  e.add_products()->set_product_id("p-1");
  e.add_products()->set_url("\x80");
  EXPECT_EQ(FieldOf(e), "products[1].url");
}

TEST(EventValidator, BoundsTraitsAndProductsCounts) {
  Event e = Valid();
  for (int i = 0; i < 101; ++i) (*e.mutable_traits())["t" + std::to_string(i)].set_bool_value(true);
  EXPECT_EQ(FieldOf(e), "traits");
  EXPECT_EQ(ReasonOf(e), "too_many");
  e = Valid();
  for (int i = 0; i < 101; ++i) e.add_products()->set_product_id("p");
  EXPECT_EQ(FieldOf(e), "products");
  EXPECT_EQ(ReasonOf(e), "too_many");
}

TEST(EventValidator, RejectsNegativeAmounts) {
  Event e = Valid();
  e.set_price(-1);
  EXPECT_EQ(FieldOf(e), "price");
  EXPECT_EQ(ReasonOf(e), "negative");
  e = Valid();
  e.set_quantity(-2);
  EXPECT_EQ(FieldOf(e), "quantity");
  e = Valid();
  e.set_revenue(-0.01);
  EXPECT_EQ(FieldOf(e), "revenue");
  e = Valid();
  e.add_products()->set_price(3);
  e.add_products()->set_quantity(-1);
  EXPECT_EQ(FieldOf(e), "products[1].quantity");
}

TEST(EventValidator, RejectsUnknownCurrencies) {
  Event e = Valid();
  e.set_currency("USD");
  EXPECT_EQ(FieldOf(e), "");
  e.set_currency("XYZ");
  EXPECT_EQ(FieldOf(e), "currency");
  EXPECT_EQ(ReasonOf(e), "unknown_currency");
}

TEST(EventValidator, BoundsTimestamps) {
  Event e = Valid();
  e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(kNow + absl::Hours(2)));
  EXPECT_EQ(FieldOf(e), "timestamp");
  EXPECT_EQ(ReasonOf(e), "in_future");
  e.mutable_timestamp()->set_seconds(0);
  EXPECT_EQ(ReasonOf(e), "too_old");
  e.mutable_timestamp()->set_seconds(1'400'000'000);  // 2014: a historical import is fine by default
  EXPECT_EQ(FieldOf(e), "");
  IngestLimits strict;
  strict.max_age = absl::Hours(24 * 30);
  EXPECT_EQ(FieldOf(e, strict), "timestamp");
}

TEST(EventValidator, BoundsSentimentByScale) {
  Event e = Valid();
  e.set_sentiment_score(9);
  e.set_sentiment_scale(journey::common::v1::SENTIMENT_SCALE_NPS_10);
  EXPECT_EQ(FieldOf(e), "");
  e.set_sentiment_scale(journey::common::v1::SENTIMENT_SCALE_CSAT_5);
  EXPECT_EQ(FieldOf(e), "sentiment_score");
}

}  // namespace
}  // namespace journey::ingest
