// Segment e-commerce spec v2 and touchpoint properties that arrived in the generic
// `properties` map (gRPC senders, the HTTP mapping) move into the typed Event fields, so
// consumers never parse property text. Survey and review scores become a sentiment.
#pragma once

#include <optional>

#include "journey/common/v1/common.pb.h"
#include "services/ingest/field_error.h"

namespace journey::ingest {

// Moves recognised properties into empty typed fields and removes them from the map.
// A recognised property whose value has the wrong type (price "abc") is an error naming it.
std::optional<FieldError> PromoteProperties(journey::common::v1::Event* event);

}  // namespace journey::ingest
