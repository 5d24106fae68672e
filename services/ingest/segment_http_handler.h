// The Segment-compatible HTTP API as plain logic: (method, path, body) -> (status, JSON).
// POST /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/alias, /v1/group, /v1/batch
// (and /v1/import, Segment's older name for batch). The HTTP server (civetweb) only moves
// bytes; everything testable lives here.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "services/ingest/ingest_logic.h"

namespace journey::ingest {

struct HttpReply {
  int status = 200;
  std::string body;  // JSON
};

class SegmentHttpHandler {
 public:
  explicit SegmentHttpHandler(IngestLogic* logic) : logic_(logic) {}

  HttpReply Handle(absl::string_view method, absl::string_view path, absl::string_view body) const;

  // Bodies larger than this are refused with 413 before they are read.
  size_t max_body_bytes() const { return logic_->limits().max_batch_bytes; }
  HttpReply BodyTooLarge() const;

 private:
  HttpReply Single(journey::common::v1::EventType type, absl::string_view body) const;
  HttpReply Batch(absl::string_view body) const;

  IngestLogic* logic_;
};

}  // namespace journey::ingest
