// How the journey reads an event: its name for rule matching, channel, value, sentiment in
// [0, 1] and time. One place, so rules, touchpoints and aggregates agree.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"

namespace journey::journey_state {

// Track: the event name; Page/Screen calls: "Page Viewed" / "Screen Viewed".
std::string EventName(const journey::common::v1::Event& event);
// "web", "email", ... ("unspecified" for CHANNEL_UNSPECIFIED).
std::string ChannelName(journey::common::v1::Channel channel);
std::string EventTypeName(journey::common::v1::EventType type);
// Revenue for orders, else price x quantity (quantity 0 counts as 1), else the products' sum.
double EventValue(const journey::common::v1::Event& event);
// The event's sentiment score mapped to [0, 1] by its scale; clamped.
double NormalizedSentiment(const journey::common::v1::Event& event);
// Behavioural events are touchpoints; identify/alias/group calls are not.
bool IsTouchpoint(const journey::common::v1::Event& event);
absl::Time ToTime(const google::protobuf::Timestamp& ts);
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts);

}  // namespace journey::journey_state
