// The gRPC adapter of the persona service: decodes requests, calls PersonaLogic, CrmSync and
// the SegmentCatalog, maps absl::Status to gRPC codes. No business rules here.
#pragma once

#include <atomic>

#include "common/server/gated_service.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "services/persona/crm_sync.h"
#include "services/persona/persona_logic.h"
#include "services/persona/segment_catalog.h"

namespace journey::persona {

struct PersonaServiceOptions {
  int upsert_batch = 500;                                   // records applied per round trip
  absl::Duration watch_poll = absl::Milliseconds(500);      // blocking read slice of a watch
  int watch_batch = 256;
};

class PersonaService final : public pb::Persona::Service, public server::GatedService {
 public:
  PersonaService(PersonaLogic* logic, CrmSync* crm, SegmentCatalog* catalog, PersonaServiceOptions options = {})
      : logic_(logic), crm_(crm), catalog_(catalog), options_(options) {}

  // Ends open watch streams (called when the server drains).
  void Shutdown() { shutting_down_ = true; }

  grpc::Status GetProfile(grpc::ServerContext*, const pb::GetProfileRequest*, pb::Profile*) override;
  grpc::Status UpsertProfiles(grpc::ServerContext*, grpc::ServerReader<pb::UpsertProfileRequest>*,
                              pb::UpsertProfilesSummary*) override;
  grpc::Status ExportSegment(grpc::ServerContext*, const pb::ExportSegmentRequest*,
                             grpc::ServerWriter<pb::Profile>*) override;
  grpc::Status WatchSegmentChanges(grpc::ServerContext*, const pb::WatchSegmentChangesRequest*,
                                   grpc::ServerWriter<pb::SegmentChange>*) override;
  grpc::Status SetConsent(grpc::ServerContext*, const pb::SetConsentRequest*, pb::SetConsentResponse*) override;
  grpc::Status DeleteProfile(grpc::ServerContext*, const pb::DeleteProfileRequest*,
                             pb::DeleteProfileResponse*) override;
  grpc::Status ExportProfile(grpc::ServerContext*, const pb::GetProfileRequest*, pb::ProfileExport*) override;
  grpc::Status ListSegments(grpc::ServerContext*, const pb::ListSegmentsRequest*, pb::ListSegmentsResponse*) override;
  grpc::Status ApplySegment(grpc::ServerContext*, const pb::ApplySegmentRequest*, pb::ApplySegmentResponse*) override;
  grpc::Status ValidateSegment(grpc::ServerContext*, const pb::ApplySegmentRequest*,
                               pb::ApplySegmentResponse*) override;
  grpc::Status DeleteSegment(grpc::ServerContext*, const pb::DeleteSegmentRequest*,
                             pb::DeleteSegmentResponse*) override;
  grpc::Status EstimateSegment(grpc::ServerContext*, const pb::EstimateSegmentRequest*,
                               pb::EstimateSegmentResponse*) override;

 private:
  PersonaLogic* logic_;
  CrmSync* crm_;
  SegmentCatalog* catalog_;
  PersonaServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace journey::persona
