// The gRPC adapter of the journey service: decodes requests, calls JourneyLogic, maps
// absl::Status to gRPC codes. No business rules here.
#pragma once

#include <atomic>

#include "common/server/gated_service.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "services/journey/journey_logic.h"

namespace journey::journey_state {

class JourneyService final : public journey::state::v1::Journey::Service, public server::GatedService {
 public:
  explicit JourneyService(const JourneyLogic* logic) : logic_(logic) {}

  // Ends open WatchTransitions streams (called on drain).
  void Shutdown() { shutting_down_ = true; }

  grpc::Status GetJourney(grpc::ServerContext* ctx, const journey::state::v1::GetJourneyRequest* request,
                          journey::state::v1::GetJourneyResponse* response) override;
  grpc::Status GetFunnel(grpc::ServerContext* ctx, const journey::state::v1::GetFunnelRequest* request,
                         journey::state::v1::Funnel* response) override;
  grpc::Status GetJourneyMap(grpc::ServerContext* ctx, const journey::state::v1::GetJourneyMapRequest* request,
                             journey::state::v1::JourneyMap* response) override;
  grpc::Status WatchTransitions(grpc::ServerContext* ctx, const journey::state::v1::WatchTransitionsRequest* request,
                                grpc::ServerWriter<journey::state::v1::Transition>* writer) override;
  grpc::Status GetDefinition(grpc::ServerContext* ctx, const journey::state::v1::GetDefinitionRequest* request,
                             journey::state::v1::JourneyDefinition* response) override;
  grpc::Status ApplyDefinition(grpc::ServerContext* ctx, const journey::state::v1::ApplyDefinitionRequest* request,
                               journey::state::v1::ApplyDefinitionResponse* response) override;
  grpc::Status ValidateDefinition(grpc::ServerContext* ctx, const journey::state::v1::ApplyDefinitionRequest* request,
                                  journey::state::v1::ApplyDefinitionResponse* response) override;
  grpc::Status ListDefinitions(grpc::ServerContext* ctx, const journey::state::v1::ListDefinitionsRequest* request,
                               journey::state::v1::ListDefinitionsResponse* response) override;
  grpc::Status GetActionStats(grpc::ServerContext* ctx, const journey::state::v1::GetActionStatsRequest* request,
                              journey::state::v1::GetActionStatsResponse* response) override;
  grpc::Status DeleteDefinition(grpc::ServerContext* ctx, const journey::state::v1::DeleteDefinitionRequest* request,
                                journey::state::v1::DeleteDefinitionResponse* response) override;

 private:
  const JourneyLogic* logic_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace journey::journey_state
