// The gRPC adapter of the persona service: decodes requests, calls PersonaLogic (and the
// segment admin), maps absl::Status to gRPC codes. No business rules here.
#pragma once

#include "journey/persona/v1/persona.grpc.pb.h"
#include "services/persona/persona_logic.h"

namespace journey::persona {

class PersonaService final : public pb::Persona::Service {
 public:
  explicit PersonaService(PersonaLogic* logic) : logic_(logic) {}

  grpc::Status GetProfile(grpc::ServerContext* context, const pb::GetProfileRequest* request,
                          pb::Profile* response) override;

 private:
  PersonaLogic* logic_;
};

}  // namespace journey::persona
