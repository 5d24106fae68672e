// Builds Segment-shaped events for journeyctl: from flags or from a JSON object in the
// protobuf JSON mapping of journey.common.v1.Event.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"

namespace journey::cli {

// A unique message id for events journeyctl makes up.
std::string NewMessageId(const std::string& prefix);

journey::common::v1::Event TrackEvent(const std::string& user_id, const std::string& anonymous_id,
                                      const std::string& name, absl::Time at);

absl::StatusOr<journey::common::v1::Event> EventFromJson(const std::string& json);

void SetTimestamp(absl::Time at, google::protobuf::Timestamp* out);

}  // namespace journey::cli
