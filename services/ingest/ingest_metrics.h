// Prometheus metrics of ingest: accepted, rejected by reason, deduplicated, append latency.
// Built on the runtime's registry; a null registry gives no-op metrics for unit tests.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace journey::ingest {

class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry* registry);

  void Accepted(int n);
  void Deduplicated(int n);
  void Rejected(const std::string& reason);
  void Throttled(int n);
  void AppendLatency(absl::Duration d);

 private:
  prometheus::Counter* accepted_ = nullptr;
  prometheus::Counter* deduplicated_ = nullptr;
  prometheus::Counter* throttled_ = nullptr;
  prometheus::Family<prometheus::Counter>* rejected_ = nullptr;
  prometheus::Histogram* append_latency_ = nullptr;
};

}  // namespace journey::ingest
