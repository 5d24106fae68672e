// libFuzzer target: a Segment HTTP body as ingest receives it. The depth guard, JSON parse,
// the Segment -> Event mapping, normalization and validation must never crash, hang or
// hit undefined behaviour, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/ingest/event_normalizer.h"
#include "services/ingest/event_validator.h"
#include "services/ingest/json_depth.h"
#include "services/ingest/segment_json.h"

namespace {

using journey::common::v1::Event;
using journey::common::v1::EventType;
namespace ingest = journey::ingest;

// A fixed receive time keeps runs reproducible.
const absl::Time kReceivedAt = absl::FromUnixSeconds(1'793'534'400);

void MapAndValidate(const nlohmann::json& message, EventType type) {
  static const ingest::EventValidator validator{ingest::IngestLimits{}};
  Event event;
  if (ingest::SegmentToEvent(message, type, &event)) return;
  if (ingest::NormalizeEvent(&event, kReceivedAt)) return;
  if (auto error = validator.Validate(event, kReceivedAt)) {
    // The name a sender is told must exist for every field an error can name.
    (void)ingest::SegmentFieldName(error->field, event.type());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the endpoint, as the HTTP path does.
  static const char* const kTypes[] = {"batch", "track", "identify", "page", "screen", "alias", "group"};
  const std::string type = kTypes[data[0] % 7];
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!ingest::JsonDepthAtMost(body, ingest::kMaxJsonDepth)) return 0;
  nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return 0;
  if (type != "batch") {
    MapAndValidate(doc, ingest::SegmentType(type));
    return 0;
  }
  auto items = doc.find("batch");
  if (items == doc.end() || !items->is_array()) return 0;
  for (const auto& item : *items) MapAndValidate(item, journey::common::v1::EVENT_TYPE_UNSPECIFIED);
  return 0;
}
