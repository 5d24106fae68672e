// What ingest fills in before validating: the server receive time, a message id when the
// sender gave none, the event time corrected for the sender's clock skew, typed e-commerce
// fields from properties, an upper-case currency, and the channel.
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"
#include "services/ingest/field_error.h"

namespace journey::ingest {

// Sets received_at = `received_at`. Timestamps follow Segment: without a timestamp the event
// happened when it was received; with sent_at as well, the sender's clock offset
// (sent_at - received_at) is removed: timestamp = received_at - (sent_at - timestamp).
// Fails only when a recognised property has the wrong type.
std::optional<FieldError> NormalizeEvent(journey::common::v1::Event* event, absl::Time received_at);

// A fresh random message id ("srv-" + 32 hex digits) for events sent without one.
std::string NewMessageId();

}  // namespace journey::ingest
