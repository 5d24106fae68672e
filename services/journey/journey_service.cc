#include "services/journey/journey_service.h"

#include "absl/strings/str_cat.h"
#include "common/server/grpc_status.h"

namespace journey::journey_state {

namespace sv1 = journey::state::v1;
using server::ToGrpcStatus;

grpc::Status JourneyService::GetJourney(grpc::ServerContext* ctx, const sv1::GetJourneyRequest* request,
                                        sv1::GetJourneyResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  if (request->user_id().size() > 512 || request->anonymous_id().size() > 512) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "user_id: longer than 512 bytes");
  }
  auto snap = logic_->GetJourney(request->user_id(), request->anonymous_id());
  if (!snap.ok()) return ToGrpcStatus(snap.status());
  response->set_found(snap->has_value());
  if (snap->has_value()) *response->mutable_journey() = std::move(**snap);
  return grpc::Status::OK;
}

grpc::Status JourneyService::GetFunnel(grpc::ServerContext* ctx, const sv1::GetFunnelRequest* request,
                                       sv1::Funnel* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto funnel = logic_->GetFunnel(*request);
  if (!funnel.ok()) return ToGrpcStatus(funnel.status());
  *response = std::move(*funnel);
  return grpc::Status::OK;
}

grpc::Status JourneyService::GetJourneyMap(grpc::ServerContext* ctx, const sv1::GetJourneyMapRequest* request,
                                           sv1::JourneyMap* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto map = logic_->GetJourneyMap(*request);
  if (!map.ok()) return ToGrpcStatus(map.status());
  *response = std::move(*map);
  return grpc::Status::OK;
}

grpc::Status JourneyService::WatchTransitions(grpc::ServerContext* ctx, const sv1::WatchTransitionsRequest* request,
                                              grpc::ServerWriter<sv1::Transition>* writer) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto cursor = logic_->ResolveCursor(request->cursor());
  if (!cursor.ok()) return ToGrpcStatus(cursor.status());
  std::string at = *cursor;
  while (!ctx->IsCancelled() && !shutting_down_) {
    auto batch = logic_->ReadTransitions(at, 256, absl::Milliseconds(500));
    if (!batch.ok()) return ToGrpcStatus(batch.status());
    // All but the last of a read may wait in gRPC's buffer: one flush per read, not one per
    // transition (at 10,000 transitions/s that flushing was a good part of the service's CPU).
    for (size_t i = 0; i < batch->size(); ++i) {
      const sv1::Transition& t = (*batch)[i];
      grpc::WriteOptions options;
      if (i + 1 < batch->size()) options.set_buffer_hint();
      if (!writer->Write(t, options)) return grpc::Status::OK;  // the client went away; it resumes from its cursor
      at = t.cursor();
    }
  }
  return grpc::Status::OK;
}

grpc::Status JourneyService::GetDefinition(grpc::ServerContext* ctx, const sv1::GetDefinitionRequest* request,
                                           sv1::JourneyDefinition* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  *response = logic_->GetDefinition();
  if (!request->id().empty() && request->id() != response->id()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("id: unknown journey '", request->id(), "'"));
  }
  return grpc::Status::OK;
}

grpc::Status JourneyService::ApplyDefinition(grpc::ServerContext* ctx, const sv1::ApplyDefinitionRequest* request,
                                             sv1::ApplyDefinitionResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  *response = logic_->ApplyDefinition(*request, /*dry_run=*/false);
  return grpc::Status::OK;
}

grpc::Status JourneyService::ValidateDefinition(grpc::ServerContext* ctx, const sv1::ApplyDefinitionRequest* request,
                                                sv1::ApplyDefinitionResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  *response = logic_->ApplyDefinition(*request, /*dry_run=*/true);
  return grpc::Status::OK;
}

grpc::Status JourneyService::ListDefinitions(grpc::ServerContext* ctx, const sv1::ListDefinitionsRequest* request,
                                             sv1::ListDefinitionsResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto listed = logic_->ListDefinitions(*request);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *response = std::move(*listed);
  return grpc::Status::OK;
}

grpc::Status JourneyService::DeleteDefinition(grpc::ServerContext* ctx, const sv1::DeleteDefinitionRequest* request,
                                              sv1::DeleteDefinitionResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto deleted = logic_->DeleteDefinition(*request);
  if (!deleted.ok()) return ToGrpcStatus(deleted.status());
  *response = std::move(*deleted);
  return grpc::Status::OK;
}

grpc::Status JourneyService::GetActionStats(grpc::ServerContext* ctx, const sv1::GetActionStatsRequest* request,
                                            sv1::GetActionStatsResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto stats = logic_->GetActionStats(*request);
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  *response = std::move(*stats);
  return grpc::Status::OK;
}

}  // namespace journey::journey_state
