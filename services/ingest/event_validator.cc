#include "services/ingest/event_validator.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/time/proto_time.h"
#include "services/ingest/currency_codes.h"

namespace journey::ingest {
namespace {

using google::protobuf::FieldDescriptor;
using journey::common::v1::Event;

std::optional<FieldError> CheckAmount(const std::string& field, double value) {
  if (!std::isfinite(value)) return FieldError{field, "invalid", "must be a finite number"};
  if (value < 0) return FieldError{field, "negative", absl::StrCat("must not be negative, got ", value)};
  return std::nullopt;
}

}  // namespace

std::optional<FieldError> EventValidator::Validate(const Event& event, absl::Time now) const {
  std::string serialized;
  return Validate(event, now, &serialized);
}

std::optional<FieldError> EventValidator::Validate(const Event& event, absl::Time now, std::string* serialized) const {
  if (event.type() == journey::common::v1::EVENT_TYPE_UNSPECIFIED) {
    return FieldError{"type", "required", "is required (track, identify, page, screen, alias or group)"};
  }
  if (auto err = CheckIds(event)) return err;
  if (event.type() == journey::common::v1::EVENT_TYPE_TRACK && event.name().empty()) {
    return FieldError{"name", "required", "is required for a track call (the event name)"};
  }
  StringFieldWalker::SerializeQuietly(event, serialized);
  const size_t bytes = serialized->size();
  if (bytes > limits_.max_event_bytes) {
    return FieldError{"event", "too_large",
                      absl::StrFormat("is %d bytes, over the limit of %d", bytes, limits_.max_event_bytes)};
  }
  if (event.properties_size() > limits_.max_properties) {
    return FieldError{"properties", "too_many",
                      absl::StrFormat("has %d entries, over the limit of %d", event.properties_size(), limits_.max_properties)};
  }
  if (event.traits_size() > limits_.max_properties) {
    return FieldError{"traits", "too_many",
                      absl::StrFormat("has %d entries, over the limit of %d", event.traits_size(), limits_.max_properties)};
  }
  if (event.products_size() > limits_.max_products) {
    return FieldError{"products", "too_many",
                      absl::StrFormat("has %d items, over the limit of %d", event.products_size(), limits_.max_products)};
  }
  if (auto err = strings_.CheckSerialized(*serialized)) return err;
  if (auto err = CheckAmounts(event)) return err;
  if (!event.currency().empty() && !IsIsoCurrency(event.currency())) {
    return FieldError{"currency", "unknown_currency", absl::StrCat("is not an ISO 4217 code: ", event.currency())};
  }
  return CheckTimestamp(event, now);
}

std::optional<FieldError> EventValidator::CheckIds(const Event& event) const {
  if (event.type() == journey::common::v1::EVENT_TYPE_ALIAS) {
    if (event.user_id().empty()) return FieldError{"user_id", "required", "is required for an alias call"};
    if (event.previous_id().empty() && event.anonymous_id().empty()) {
      return FieldError{"previous_id", "required", "is required for an alias call (or anonymous_id)"};
    }
    return std::nullopt;
  }
  if (event.user_id().empty() && event.anonymous_id().empty()) {
    return FieldError{"user_id", "required", "user_id or anonymous_id is required"};
  }
  return std::nullopt;
}

EventValidator::EventValidator(IngestLimits limits)
    : limits_(std::move(limits)),
      strings_(Event::descriptor(), {[this](const FieldDescriptor& f, bool top) { return MaxBytes(f, top); },
                                     limits_.max_name_bytes, limits_.max_property_value_bytes}) {}

size_t EventValidator::MaxBytes(const FieldDescriptor& field, bool top_level) const {
  if (top_level) {
    const std::string& name = field.name();
    if (name == "message_id" || name == "user_id" || name == "anonymous_id" || name == "previous_id" ||
        name == "product_id" || name == "order_id" || name == "session_id") {
      return limits_.max_id_bytes;
    }
    if (name == "name") return limits_.max_name_bytes;
  }
  return limits_.max_string_bytes;
}

std::optional<FieldError> EventValidator::CheckAmounts(const Event& event) const {
  for (const auto& [field, value] : {std::make_pair("price", event.price()), std::make_pair("revenue", event.revenue()),
                                     std::make_pair("discount", event.discount()),
                                     std::make_pair("shipping", event.shipping()), std::make_pair("tax", event.tax())}) {
    if (auto err = CheckAmount(field, value)) return err;
  }
  if (event.quantity() < 0) return FieldError{"quantity", "negative", absl::StrCat("must not be negative, got ", event.quantity())};
  if (event.step() < 0) return FieldError{"step", "negative", absl::StrCat("must not be negative, got ", event.step())};
  for (int i = 0; i < event.products_size(); ++i) {
    const auto& p = event.products(i);
    if (auto err = CheckAmount(absl::StrCat("products[", i, "].price"), p.price())) return err;
    if (p.quantity() < 0) {
      return FieldError{absl::StrCat("products[", i, "].quantity"), "negative",
                        absl::StrCat("must not be negative, got ", p.quantity())};
    }
  }
  if (event.has_sentiment_score()) {
    double lo = 0, hi = 1;
    switch (event.sentiment_scale()) {
      case journey::common::v1::SENTIMENT_SCALE_CSAT_5:
      case journey::common::v1::SENTIMENT_SCALE_RATING_5: lo = 1; hi = 5; break;
      case journey::common::v1::SENTIMENT_SCALE_NPS_10: hi = 10; break;
      default: break;
    }
    const double s = event.sentiment_score();
    if (!std::isfinite(s) || s < lo || s > hi) {
      return FieldError{"sentiment_score", "out_of_range", absl::StrCat("must be in [", lo, ", ", hi, "] for its scale, got ", s)};
    }
  }
  return std::nullopt;
}

std::optional<FieldError> EventValidator::CheckTimestamp(const Event& event, absl::Time now) const {
  const absl::Time t = prototime::FromProto(event.timestamp());
  if (t > now + limits_.max_future) {
    return FieldError{"timestamp", "in_future",
                      absl::StrCat("is more than ", absl::FormatDuration(limits_.max_future), " in the future: ",
                                   absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone()))};
  }
  if (t < limits_.earliest_timestamp ||
      (limits_.max_age > absl::ZeroDuration() && t < now - limits_.max_age)) {
    return FieldError{"timestamp", "too_old",
                      absl::StrCat("is too far in the past: ", absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone()))};
  }
  return std::nullopt;
}

}  // namespace journey::ingest
