#include "services/journey/event_fields.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace journey::journey_state {

using journey::common::v1::Event;

std::string EventName(const Event& event) {
  switch (event.type()) {
    case journey::common::v1::EVENT_TYPE_PAGE: return "Page Viewed";
    case journey::common::v1::EVENT_TYPE_SCREEN: return "Screen Viewed";
    default: return event.name();
  }
}

std::string ChannelName(journey::common::v1::Channel channel) {
  std::string name = journey::common::v1::Channel_Name(channel);
  if (absl::StartsWith(name, "CHANNEL_")) name = name.substr(8);
  return absl::AsciiStrToLower(name);
}

std::string EventTypeName(journey::common::v1::EventType type) {
  std::string name = journey::common::v1::EventType_Name(type);
  if (absl::StartsWith(name, "EVENT_TYPE_")) name = name.substr(11);
  return name;
}

double EventValue(const Event& event) {
  if (event.revenue() > 0) return event.revenue();
  if (event.price() > 0) return event.price() * std::max(1, event.quantity());
  double sum = 0;
  for (const auto& p : event.products()) sum += p.price() * std::max(1, p.quantity());
  return sum;
}

double NormalizedSentiment(const Event& event) {
  double s = event.sentiment_score();
  switch (event.sentiment_scale()) {
    case journey::common::v1::SENTIMENT_SCALE_CSAT_5:
    case journey::common::v1::SENTIMENT_SCALE_RATING_5: s = (s - 1.0) / 4.0; break;
    case journey::common::v1::SENTIMENT_SCALE_NPS_10: s = s / 10.0; break;
    default: break;
  }
  return std::clamp(s, 0.0, 1.0);
}

bool IsTouchpoint(const Event& event) {
  switch (event.type()) {
    case journey::common::v1::EVENT_TYPE_IDENTIFY:
    case journey::common::v1::EVENT_TYPE_ALIAS:
    case journey::common::v1::EVENT_TYPE_GROUP: return false;
    default: return true;
  }
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t s = ns / 1000000000;
  int64_t n = ns % 1000000000;
  if (n < 0) {
    n += 1000000000;
    --s;
  }
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(n));
}

}  // namespace journey::journey_state
