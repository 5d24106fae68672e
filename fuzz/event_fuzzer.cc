// libFuzzer target: an Event as the gRPC API decodes it from the wire. Normalization and
// validation (UTF-8 walk by reflection, limits, amounts, timestamps, skew correction) must
// never crash or hit undefined behaviour on any message the protobuf parser accepts.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"
#include "services/ingest/event_normalizer.h"
#include "services/ingest/event_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ingest = journey::ingest;
  static const ingest::EventValidator validator{ingest::IngestLimits{}};
  const absl::Time received_at = absl::FromUnixSeconds(1'793'534'400);
  journey::common::v1::Event event;
  if (!event.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (ingest::NormalizeEvent(&event, received_at)) return 0;
  (void)validator.Validate(event, received_at);
  return 0;
}
