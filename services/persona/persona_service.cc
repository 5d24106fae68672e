#include "services/persona/persona_service.h"

#include "common/server/grpc_status.h"

namespace journey::persona {

using server::ToGrpcStatus;

grpc::Status PersonaService::GetProfile(grpc::ServerContext*, const pb::GetProfileRequest* request,
                                        pb::Profile* response) {
  auto profile = logic_->GetProfile(request->user_id(), request->anonymous_id());
  if (!profile.ok()) return ToGrpcStatus(profile.status());
  *response = std::move(*profile);
  return grpc::Status::OK;
}

}  // namespace journey::persona
