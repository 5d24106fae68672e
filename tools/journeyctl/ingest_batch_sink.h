// Sends events to ingest's gRPC Batch: chunks of at most batch_size, an optional rate limit
// (events per second), retries with backoff while ingest is unavailable, and a tally of
// what ingest accepted, deduplicated and rejected (with the first rejections kept).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/journeyctl/suite_clients.h"
#include "tools/simulator/event_sink.h"

namespace journey::cli {

struct BatchSinkOptions {
  int batch_size = 500;
  double rate_per_s = 0;  // 0 = as fast as ingest takes them
  int max_retries = 8;
  int keep_rejections = 10;
};

struct BatchTally {
  long long sent = 0, accepted = 0, duplicates = 0, rejected = 0;
  std::vector<std::string> first_rejections;  // "message_id field: reason"
};

class IngestBatchSink final : public sim::EventSink {
 public:
  IngestBatchSink(SuiteClients& clients, std::string ingest_address, BatchSinkOptions options);

  absl::Status Send(const std::vector<journey::common::v1::Event>& events) override;
  const BatchTally& tally() const { return tally_; }

 private:
  absl::Status SendChunk(const std::vector<journey::common::v1::Event>& events, size_t begin, size_t end);

  SuiteClients& clients_;
  std::string address_;
  BatchSinkOptions options_;
  BatchTally tally_;
  absl::Time started_ = absl::InfinitePast();
};

}  // namespace journey::cli
