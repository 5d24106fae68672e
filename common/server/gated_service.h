// The base every gRPC service of the suite derives from beside its generated Service: it
// carries the CallGate that ServiceRuntime::AddService hands it, so a service cannot be
// served without one. Each handler starts with
//   auto call = Admit(ctx, __func__);
//   if (!call.ok()) return call.status();
// (__func__ is the RPC's name; the scope comes from common/auth/method_scopes.cc).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/call_gate.h"

namespace journey::server {

class GatedService {
 public:
  virtual ~GatedService() = default;

  // `service_name` is the full proto name, e.g. "journey.ingest.v1.Ingest".
  void SetCallGate(auth::CallGate* gate, std::string service_name) {
    gate_ = gate;
    service_name_ = std::move(service_name);
  }

 protected:
  auth::AdmittedCall Admit(grpc::ServerContextBase* ctx, const char* method) {
    return gate_->Admit(ctx, absl::StrCat(service_name_, "/", method));
  }

 private:
  // Built outside a ServiceRuntime (handler unit tests): everything is admitted.
  auth::CallGate* gate_ = auth::CallGate::Unchecked();
  std::string service_name_;
};

}  // namespace journey::server
