#include "tools/journeyctl/ingest_batch_sink.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace journey::cli {

IngestBatchSink::IngestBatchSink(SuiteClients& clients, std::string ingest_address, BatchSinkOptions options)
    : clients_(clients), address_(std::move(ingest_address)), options_(options) {}

absl::Status IngestBatchSink::Send(const std::vector<journey::common::v1::Event>& events) {
  if (started_ == absl::InfinitePast()) started_ = absl::Now();
  const size_t chunk = static_cast<size_t>(std::max(1, options_.batch_size));
  for (size_t begin = 0; begin < events.size(); begin += chunk) {
    const size_t end = std::min(events.size(), begin + chunk);
    if (options_.rate_per_s > 0) {
      // Pace by the total sent so far: a steady rate without drift.
      const absl::Time due = started_ + absl::Seconds((tally_.sent + (end - begin)) / options_.rate_per_s);
      const absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    }
    if (absl::Status s = SendChunk(events, begin, end); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status IngestBatchSink::SendChunk(const std::vector<journey::common::v1::Event>& events, size_t begin,
                                        size_t end) {
  ingest::v1::BatchRequest request;
  for (size_t i = begin; i < end; ++i) *request.add_events() = events[i];
  absl::Duration backoff = absl::Milliseconds(100);
  for (int attempt = 0;; ++attempt) {
    ingest::v1::BatchResponse response;
    auto ctx = clients_.Context();
    grpc::Status status = clients_.ingest().Batch(ctx.get(), request, &response);
    if (status.ok()) {
      tally_.sent += static_cast<long long>(end - begin);
      tally_.accepted += response.accepted();
      tally_.duplicates += response.duplicates();
      tally_.rejected += response.rejected_size();
      for (const auto& r : response.rejected()) {
        if (static_cast<int>(tally_.first_rejections.size()) >= options_.keep_rejections) break;
        tally_.first_rejections.push_back(absl::StrCat(r.message_id(), " ", r.field(), ": ", r.reason()));
      }
      return absl::OkStatus();
    }
    const bool retry = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!retry || attempt >= options_.max_retries) {
      return absl::UnavailableError(Explain(status, "ingest", address_));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(3));
  }
}

}  // namespace journey::cli
