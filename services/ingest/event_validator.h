// Every rule an event must pass before it is appended, each failure naming the field.
// Runs on a normalized event (see event_normalizer.h), so defaults are already filled in.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"
#include "services/ingest/field_error.h"
#include "services/ingest/ingest_options.h"
#include "services/ingest/string_field_walker.h"

namespace journey::ingest {

class EventValidator {
 public:
  explicit EventValidator(IngestLimits limits);

  // The first rule the event breaks, or nullopt when it is acceptable. `now` bounds the
  // timestamp (limits.max_future, limits.max_age).
  std::optional<FieldError> Validate(const journey::common::v1::Event& event, absl::Time now) const;
  // The same, leaving the event's serialized bytes in `*serialized` (when they were needed:
  // always once the ids and the name pass). The size limit and the string rules are checked
  // on these bytes, and the caller appends them inside the stream envelope, so an accepted
  // event is serialized exactly once.
  std::optional<FieldError> Validate(const journey::common::v1::Event& event, absl::Time now,
                                     std::string* serialized) const;

  const IngestLimits& limits() const { return limits_; }

 private:
  std::optional<FieldError> CheckIds(const journey::common::v1::Event& event) const;
  std::optional<FieldError> CheckAmounts(const journey::common::v1::Event& event) const;
  std::optional<FieldError> CheckTimestamp(const journey::common::v1::Event& event, absl::Time now) const;
  size_t MaxBytes(const google::protobuf::FieldDescriptor& field, bool top_level) const;

  IngestLimits limits_;
  StringFieldWalker strings_;  // after limits_, which it reads
};

}  // namespace journey::ingest
