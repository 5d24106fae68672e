// Segment's HTTP Tracking API JSON (camelCase: messageId, anonymousId, userId, event,
// properties, traits, context, timestamp, sentAt) to and from journey Events. E-commerce
// v2 properties become typed fields via property_promotion; `products[]` become Products;
// every other property keeps its value as text (JSON text for non-strings).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journey/common/v1/common.pb.h"
#include "services/ingest/field_error.h"

namespace journey::ingest {

// One Segment message -> Event. `type` is the call's type (/v1/track ...); for a batch item
// it is EVENT_TYPE_UNSPECIFIED and the item's "type" decides. Errors name the JSON field.
std::optional<FieldError> SegmentToEvent(const nlohmann::json& message, journey::common::v1::EventType type,
                                         journey::common::v1::Event* out);

// The name of an Event field as a Segment sender knows it ("user_id" -> "userId",
// "price" -> "properties.price", "name" -> "event" for a track call).
std::string SegmentFieldName(const std::string& proto_field, journey::common::v1::EventType type);

// "track" -> EVENT_TYPE_TRACK ...; UNSPECIFIED when unknown.
journey::common::v1::EventType SegmentType(const std::string& type);

}  // namespace journey::ingest
