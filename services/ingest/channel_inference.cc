#include "services/ingest/channel_inference.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace journey::ingest {

using journey::common::v1::Channel;

namespace {

Channel FromName(absl::string_view name) {
  if (absl::StartsWith(name, "Email ")) return journey::common::v1::CHANNEL_EMAIL;
  if (absl::StartsWith(name, "Ad ")) return journey::common::v1::CHANNEL_ADS;
  if (absl::StartsWith(name, "Store ")) return journey::common::v1::CHANNEL_STORE;
  if (absl::StartsWith(name, "Support ")) return journey::common::v1::CHANNEL_SUPPORT;
  if (absl::StartsWith(name, "SMS ")) return journey::common::v1::CHANNEL_SMS;
  if (absl::StartsWith(name, "Push Notification")) return journey::common::v1::CHANNEL_PUSH;
  return journey::common::v1::CHANNEL_UNSPECIFIED;
}

// utm_medium values as marketers write them.
Channel FromMedium(const std::string& raw) {
  std::string m = absl::AsciiStrToLower(raw);
  if (m.empty()) return journey::common::v1::CHANNEL_UNSPECIFIED;
  if (m == "email" || m == "newsletter") return journey::common::v1::CHANNEL_EMAIL;
  if (m == "cpc" || m == "ppc" || m == "paid" || m == "display" || m == "ads" || m == "paidsearch" || m == "paid_social")
    return journey::common::v1::CHANNEL_ADS;
  if (m == "social" || m == "social-network" || m == "social_media") return journey::common::v1::CHANNEL_SOCIAL;
  if (m == "sms") return journey::common::v1::CHANNEL_SMS;
  if (m == "push") return journey::common::v1::CHANNEL_PUSH;
  return journey::common::v1::CHANNEL_UNSPECIFIED;
}

}  // namespace

Channel InferChannel(const journey::common::v1::Event& event) {
  if (Channel c = FromName(event.name()); c != journey::common::v1::CHANNEL_UNSPECIFIED) return c;
  if (Channel c = FromMedium(event.context().campaign().medium()); c != journey::common::v1::CHANNEL_UNSPECIFIED) return c;
  if (event.type() == journey::common::v1::EVENT_TYPE_SCREEN || !event.context().app_name().empty())
    return journey::common::v1::CHANNEL_APP;
  if (event.type() == journey::common::v1::EVENT_TYPE_PAGE || !event.context().page_url().empty() ||
      !event.context().user_agent().empty())
    return journey::common::v1::CHANNEL_WEB;
  return journey::common::v1::CHANNEL_UNSPECIFIED;
}

}  // namespace journey::ingest
