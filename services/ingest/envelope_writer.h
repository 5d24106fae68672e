// The stream entry of an accepted event: an EventEnvelope written around the event's bytes
// as the validator serialized them, so the event is neither copied into the envelope
// message nor serialized a second time.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "journey/common/v1/common.pb.h"

namespace journey::ingest {

// Appends to `*out` the bytes SerializeAsString gives for `rest` with `kind` and with
// `event` = the message whose serialization is `event_bytes` (same field order). `rest`
// carries every other envelope field; its kind and event must be unset.
void AppendEnvelope(journey::common::v1::EnvelopeKind kind, absl::string_view event_bytes,
                    const journey::common::v1::EventEnvelope& rest, std::string* out);

}  // namespace journey::ingest
