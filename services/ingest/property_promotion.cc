#include "services/ingest/property_promotion.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/number/whole_number.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using journey::common::v1::SentimentScale;

using Props = google::protobuf::Map<std::string, std::string>;

FieldError NotA(const std::string& key, absl::string_view what) {
  return FieldError{absl::StrCat("properties.", key), "invalid", absl::StrCat("must be ", what)};
}

// Takes a string property into `field` when the typed field is still empty.
void TakeString(Props& props, const std::string& key, std::string* field) {
  auto it = props.find(key);
  if (it == props.end()) return;
  if (field->empty()) *field = it->second;
  props.erase(it);
}

// Numeric properties go into the typed field of the same kind, found by reflection.
std::optional<FieldError> TakeNumber(Event* event, Props& props, const std::string& key, const char* field) {
  auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  const auto* f = Event::descriptor()->FindFieldByName(field);
  const auto* refl = event->GetReflection();
  double v = 0;
  if (!absl::SimpleAtod(it->second, &v)) return NotA(key, "a number");
  if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT32) {
    // SDKs send 2.0 for 2.
    const std::optional<int32_t> whole = journey::number::WholeNumber<int32_t>(v);
    if (!whole) return NotA(key, "an integer between -2147483648 and 2147483647");
    if (refl->GetInt32(*event, f) == 0) refl->SetInt32(event, f, *whole);
  } else if (refl->GetDouble(*event, f) == 0) {
    refl->SetDouble(event, f, v);
  }
  props.erase(it);
  return std::nullopt;
}

// The scale a survey or review score was given on: explicit, or inferred from its range.
SentimentScale ScaleOf(const Event& event, Props& props, double score) {
  if (event.name() == "Product Reviewed") return journey::common::v1::SENTIMENT_SCALE_RATING_5;
  for (const char* key : {"scale", "survey_type", "type"}) {
    auto it = props.find(key);
    if (it == props.end()) continue;
    std::string v = absl::AsciiStrToLower(it->second);
    if (v == "nps") return journey::common::v1::SENTIMENT_SCALE_NPS_10;
    if (v == "csat") return journey::common::v1::SENTIMENT_SCALE_CSAT_5;
  }
  if (score >= 0 && score <= 1 && score != std::trunc(score)) return journey::common::v1::SENTIMENT_SCALE_UNSPECIFIED;
  return score > 5 || score == 0 ? journey::common::v1::SENTIMENT_SCALE_NPS_10 : journey::common::v1::SENTIMENT_SCALE_CSAT_5;
}

std::optional<FieldError> TakeSentiment(Event* event, Props& props) {
  if (event->has_sentiment_score()) return std::nullopt;
  for (const char* key : {"score", "rating", "csat", "nps"}) {
    auto it = props.find(key);
    if (it == props.end()) continue;
    double v = 0;
    if (!absl::SimpleAtod(it->second, &v)) return NotA(key, "a number");
    event->set_sentiment_score(v);
    if (std::string(key) == "nps") {
      event->set_sentiment_scale(journey::common::v1::SENTIMENT_SCALE_NPS_10);
    } else if (std::string(key) == "csat") {
      event->set_sentiment_scale(journey::common::v1::SENTIMENT_SCALE_CSAT_5);
    } else {
      event->set_sentiment_scale(ScaleOf(*event, props, v));
    }
    props.erase(key);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<FieldError> PromoteProperties(Event* event) {
  Props& p = *event->mutable_properties();
  if (p.empty()) return std::nullopt;
  TakeString(p, "product_id", event->mutable_product_id());
  TakeString(p, "sku", event->mutable_sku());
  TakeString(p, "category", event->mutable_category());
  TakeString(p, "brand", event->mutable_brand());
  TakeString(p, "currency", event->mutable_currency());
  TakeString(p, "order_id", event->mutable_order_id());
  TakeString(p, "cart_id", event->mutable_cart_id());
  TakeString(p, "checkout_id", event->mutable_checkout_id());
  TakeString(p, "coupon", event->mutable_coupon());
  TakeString(p, "query", event->mutable_query());
  TakeString(p, "list_id", event->mutable_list_id());
  TakeString(p, "promotion_id", event->mutable_promotion_id());
  TakeString(p, "session_id", event->mutable_session_id());
  // Order Completed sends `total` (revenue + shipping + tax - discount) and Checkout
  // Started `value`; revenue is what funnels count, the others stand in when it is absent.
  static constexpr std::pair<const char*, const char*> kNumbers[] = {
      {"price", "price"},       {"revenue", "revenue"},   {"total", "revenue"}, {"value", "revenue"},
      {"discount", "discount"}, {"shipping", "shipping"}, {"tax", "tax"},       {"quantity", "quantity"},
      {"step", "step"}};
  for (const auto& [key, field] : kNumbers) {
    if (auto err = TakeNumber(event, p, key, field)) return err;
  }
  return TakeSentiment(event, p);
}

}  // namespace journey::ingest
