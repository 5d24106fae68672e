#include "services/ingest/envelope_writer.h"

#include <cstdint>

namespace journey::ingest {
namespace {

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

void AppendEnvelope(journey::common::v1::EnvelopeKind kind, absl::string_view event_bytes,
                    const journey::common::v1::EventEnvelope& rest, std::string* out) {
  using journey::common::v1::EventEnvelope;
  // Fields in number order, as the generated serializer writes them: kind (1), event (2),
  // then the rest (3 and up) as `rest` serializes itself.
  const size_t rest_bytes = rest.ByteSizeLong();
  out->reserve(out->size() + event_bytes.size() + rest_bytes + 16);
  if (kind != 0) {
    AppendVarint((EventEnvelope::kKindFieldNumber << 3) | 0, out);  // varint
    AppendVarint(static_cast<uint64_t>(static_cast<int64_t>(kind)), out);
  }
  AppendVarint((EventEnvelope::kEventFieldNumber << 3) | 2, out);  // length-delimited
  AppendVarint(event_bytes.size(), out);
  out->append(event_bytes.data(), event_bytes.size());
  const size_t at = out->size();
  out->resize(at + rest_bytes);
  rest.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(&(*out)[at]));
}

}  // namespace journey::ingest
