#include "common/auth/api_keys_service.h"

#include "common/log/log.h"
#include "common/server/grpc_status.h"

namespace journey::auth {

grpc::Status ApiKeysService::CreateKey(grpc::ServerContext* ctx, const v1::CreateKeyRequest* req,
                                       v1::CreateKeyResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  NewKey key{req->name(), {req->scopes().begin(), req->scopes().end()}, req->rate_per_s(), req->burst()};
  auto created = store_->Create(workspace_, key);
  if (!created.ok()) return server::ToGrpcStatus(created.status());
  *resp->mutable_key() = created->first;
  resp->set_api_key(created->second);
  // The replica that created the key knows it at once; the others within a refresh.
  (void)cache_->Refresh(/*force=*/true);
  log::Info("api key created", {{"key_id", created->first.key_id()}, {"workspace", workspace_}});
  return grpc::Status::OK;
}

grpc::Status ApiKeysService::ListKeys(grpc::ServerContext* ctx, const v1::ListKeysRequest* req,
                                      v1::ListKeysResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto keys = store_->List(workspace_, req->include_revoked());
  if (!keys.ok()) return server::ToGrpcStatus(keys.status());
  for (auto& k : *keys) *resp->add_keys() = std::move(k);
  return grpc::Status::OK;
}

grpc::Status ApiKeysService::RevokeKey(grpc::ServerContext* ctx, const v1::RevokeKeyRequest* req,
                                       v1::RevokeKeyResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto revoked = store_->Revoke(workspace_, req->key_id());
  if (!revoked.ok()) return server::ToGrpcStatus(revoked.status());
  *resp->mutable_key() = *revoked;
  (void)cache_->Refresh(/*force=*/true);
  log::Info("api key revoked", {{"key_id", revoked->key_id()}, {"workspace", workspace_}});
  return grpc::Status::OK;
}

}  // namespace journey::auth
