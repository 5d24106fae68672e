#include "services/ingest/ingest_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace journey::ingest {

IngestMetrics::IngestMetrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  accepted_ = &prometheus::BuildCounter()
                   .Name("journey_ingest_events_accepted_total")
                   .Help("Events accepted (appended or recognised as duplicates)")
                   .Register(*registry)
                   .Add({});
  deduplicated_ = &prometheus::BuildCounter()
                       .Name("journey_ingest_events_deduplicated_total")
                       .Help("Accepted events whose message_id was already appended within the dedup window")
                       .Register(*registry)
                       .Add({});
  throttled_ = &prometheus::BuildCounter()
                    .Name("journey_ingest_events_throttled_total")
                    .Help("Events refused with RESOURCE_EXHAUSTED because consumers lag behind")
                    .Register(*registry)
                    .Add({});
  rejected_ = &prometheus::BuildCounter()
                   .Name("journey_ingest_events_rejected_total")
                   .Help("Events rejected by validation, by reason")
                   .Register(*registry);
  append_latency_ = &prometheus::BuildHistogram()
                         .Name("journey_ingest_append_latency_seconds")
                         .Help("Time of one append round trip (a whole call or batch)")
                         .Register(*registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                          0.01, 0.025, 0.05, 0.1, 0.25, 1});
}

void IngestMetrics::Accepted(int n) {
  if (accepted_) accepted_->Increment(n);
}
void IngestMetrics::Deduplicated(int n) {
  if (deduplicated_) deduplicated_->Increment(n);
}
void IngestMetrics::Throttled(int n) {
  if (throttled_) throttled_->Increment(n);
}
void IngestMetrics::Rejected(const std::string& reason) {
  // Reasons are a small fixed set of codes (field_error.h), so the label stays bounded.
  if (rejected_) rejected_->Add({{"reason", reason}}).Increment();
}
void IngestMetrics::AppendLatency(absl::Duration d) {
  if (append_latency_) append_latency_->Observe(absl::ToDoubleSeconds(d));
}

}  // namespace journey::ingest
