// Where generated or replayed events go: ingest's gRPC Batch in journeyctl, a vector in
// tests. Events of one customer arrive in the order they happened.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "journey/common/v1/common.pb.h"

namespace journey::sim {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Sends events in order; an error stops the producer (Unavailable: the sink gave up retrying).
  virtual absl::Status Send(const std::vector<journey::common::v1::Event>& events) = 0;
};

class VectorSink final : public EventSink {
 public:
  absl::Status Send(const std::vector<journey::common::v1::Event>& events) override {
    events_.insert(events_.end(), events.begin(), events.end());
    return absl::OkStatus();
  }
  const std::vector<journey::common::v1::Event>& events() const { return events_; }

 private:
  std::vector<journey::common::v1::Event> events_;
};

}  // namespace journey::sim
