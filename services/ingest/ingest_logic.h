// The front door's domain logic, without transport: normalize and validate each event,
// resolve its canonical user (identity stitching), refuse when consumers lag behind, and
// append it with its dedup marker. A call of any size costs a constant number of pipelined
// Redis round trips: alias lookups, new links (only when the call links ids), dedup probes
// (only for events that resolve through a link), appends.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/common/v1/common.pb.h"
#include "services/ingest/consumer_lag_gate.h"
#include "services/ingest/event_appender.h"
#include "services/ingest/event_validator.h"
#include "services/ingest/field_error.h"
#include "services/ingest/identity_resolver.h"
#include "services/ingest/ingest_metrics.h"
#include "services/ingest/ingest_options.h"

namespace journey::ingest {

struct EventOutcome {
  std::optional<FieldError> error;  // set when the event was rejected
  std::string message_id;
  std::string canonical_user_id;
  std::string stream_id;  // empty for duplicates and rejections
  bool duplicate = false;
};

struct IngestDeps {
  storage::RedisClient* redis = nullptr;
  const Clock* clock = nullptr;
  IngestMetrics* metrics = nullptr;    // optional
  ConsumerLagGate* lag_gate = nullptr;  // optional: no backpressure without it
};

class IngestLogic {
 public:
  IngestLogic(IngestDeps deps, IngestLimits limits, AppendOptions append);

  // Ingests `events` in order; one outcome per event. The Status is an error only for the
  // whole call, and then nothing of it is acknowledged: Unavailable (Redis unreachable:
  // retry), ResourceExhausted (consumers lag behind: retry later), Internal.
  absl::StatusOr<std::vector<EventOutcome>> Ingest(std::vector<journey::common::v1::Event> events);

  // The same on events the caller owns (a request's repeated field), normalized in place:
  // no event is moved or copied.
  using EventRefs = absl::Span<journey::common::v1::Event* const>;
  absl::StatusOr<std::vector<EventOutcome>> IngestInPlace(EventRefs events);

  // Limits of one batch as a whole; InvalidArgument naming "events" when broken.
  absl::Status CheckBatch(int event_count, size_t bytes) const;

  const IngestLimits& limits() const { return validator_.limits(); }
  int partitions() const { return append_.partitions; }

 private:
  struct Resolved {
    std::vector<std::string> canonical;   // per event
    std::vector<std::string> merge_from;  // per event: id whose state joins canonical ("" = none)
  };
  absl::StatusOr<Resolved> Resolve(EventRefs events,
                                   const std::vector<size_t>& valid);
  absl::StatusOr<std::vector<bool>> AppendedBefore(EventRefs events,
                                                  const std::vector<size_t>& valid,
                                                  const std::vector<std::string>& canonical);
  absl::Status CheckLag(const Resolved& resolved, const std::vector<size_t>& valid) const;

  IngestDeps deps_;
  EventValidator validator_;
  AppendOptions append_;
  IdentityResolver identity_;
  EventAppender appender_;
  IngestMetrics no_metrics_{nullptr};
};

}  // namespace journey::ingest
