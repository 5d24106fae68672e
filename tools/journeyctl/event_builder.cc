#include "tools/journeyctl/event_builder.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace journey::cli {

std::string NewMessageId(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", getpid(), "-", absl::ToUnixMicros(absl::Now()), "-", counter++);
}

void SetTimestamp(absl::Time at, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(at);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

journey::common::v1::Event TrackEvent(const std::string& user_id, const std::string& anonymous_id,
                                      const std::string& name, absl::Time at) {
  journey::common::v1::Event e;
  e.set_message_id(NewMessageId("ctl"));
  e.set_type(journey::common::v1::EVENT_TYPE_TRACK);
  e.set_user_id(user_id);
  e.set_anonymous_id(anonymous_id);
  e.set_name(name);
  SetTimestamp(at, e.mutable_timestamp());
  return e;
}

absl::StatusOr<journey::common::v1::Event> EventFromJson(const std::string& json) {
  journey::common::v1::Event e;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &e, options);
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat("event JSON: ", status.message().as_string()));
  if (e.message_id().empty()) e.set_message_id(NewMessageId("ctl"));
  if (!e.has_timestamp()) SetTimestamp(absl::Now(), e.mutable_timestamp());
  if (e.type() == journey::common::v1::EVENT_TYPE_UNSPECIFIED) e.set_type(journey::common::v1::EVENT_TYPE_TRACK);
  return e;
}

}  // namespace journey::cli
