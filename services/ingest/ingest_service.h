// The gRPC adapter of ingest: decode, call IngestLogic, map outcomes to replies and
// absl::Status to gRPC codes. No business rules here.
#pragma once

#include "common/server/gated_service.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/ingest_logic.h"

namespace journey::ingest {

class IngestService final : public journey::ingest::v1::Ingest::Service, public server::GatedService {
 public:
  explicit IngestService(IngestLogic* logic) : logic_(logic) {}

  grpc::Status Track(grpc::ServerContext*, const v1::TrackRequest*, v1::TrackResponse*) override;
  grpc::Status Identify(grpc::ServerContext*, const v1::IdentifyRequest*, v1::IdentifyResponse*) override;
  grpc::Status Page(grpc::ServerContext*, const v1::PageRequest*, v1::PageResponse*) override;
  grpc::Status Alias(grpc::ServerContext*, const v1::AliasRequest*, v1::AliasResponse*) override;
  grpc::Status Batch(grpc::ServerContext*, const v1::BatchRequest*, v1::BatchResponse*) override;
  grpc::Status StreamEvents(grpc::ServerContext*, grpc::ServerReader<v1::StreamEventsRequest>* reader,
                            v1::StreamEventsSummary* summary) override;

 private:
  // One event of a typed call; `type` is the call's type unless the event says otherwise
  // where that is allowed (Page may carry SCREEN).
  grpc::Status One(journey::common::v1::Event event, journey::common::v1::EventType type, v1::Ack* ack);

  IngestLogic* logic_;
};

}  // namespace journey::ingest
