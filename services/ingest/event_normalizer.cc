#include "services/ingest/event_normalizer.h"

#include <string>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/time/proto_time.h"
#include "services/ingest/channel_inference.h"
#include "services/ingest/property_promotion.h"

namespace journey::ingest {
using prototime::FromProto;
using prototime::ToProto;

std::string NewMessageId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("srv-%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

std::optional<FieldError> NormalizeEvent(journey::common::v1::Event* event, absl::Time received_at) {
  ToProto(received_at, event->mutable_received_at());
  if (event->message_id().empty()) event->set_message_id(NewMessageId());
  if (!event->has_timestamp()) {
    ToProto(received_at, event->mutable_timestamp());
  } else if (event->has_sent_at()) {
    const absl::Duration skew = FromProto(event->sent_at()) - received_at;
    ToProto(FromProto(event->timestamp()) - skew, event->mutable_timestamp());
  }
  if (auto err = PromoteProperties(event)) return err;
  if (!event->currency().empty()) absl::AsciiStrToUpper(event->mutable_currency());
  if (event->channel() == journey::common::v1::CHANNEL_UNSPECIFIED) event->set_channel(InferChannel(*event));
  return std::nullopt;
}

}  // namespace journey::ingest
