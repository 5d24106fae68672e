// journey.auth.v1.ApiKeys: create, list and revoke the keys of this process's workspace.
// ServiceRuntime serves it on every binary.
#pragma once

#include "common/auth/key_store.h"
#include "common/server/gated_service.h"
#include "journey/auth/v1/auth.grpc.pb.h"

namespace journey::auth {

class ApiKeysService final : public v1::ApiKeys::Service, public server::GatedService {
 public:
  ApiKeysService(KeyStore* store, KeyCache* cache, std::string workspace)
      : store_(store), cache_(cache), workspace_(std::move(workspace)) {}

  grpc::Status CreateKey(grpc::ServerContext* ctx, const v1::CreateKeyRequest* req, v1::CreateKeyResponse* resp) override;
  grpc::Status ListKeys(grpc::ServerContext* ctx, const v1::ListKeysRequest* req, v1::ListKeysResponse* resp) override;
  grpc::Status RevokeKey(grpc::ServerContext* ctx, const v1::RevokeKeyRequest* req, v1::RevokeKeyResponse* resp) override;

 private:
  KeyStore* store_;
  KeyCache* cache_;
  std::string workspace_;
};

}  // namespace journey::auth
