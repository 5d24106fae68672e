#include "services/persona/persona_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/server/grpc_status.h"
#include "services/persona/segment_files.h"

namespace journey::persona {

using server::ToGrpcStatus;

namespace {

// The definition of an Apply/Validate request: the message, or YAML/JSON text.
absl::StatusOr<pb::SegmentDefinition> DefinitionOf(const pb::ApplySegmentRequest& request) {
  if (request.yaml().empty()) return request.segment();
  auto parsed = ParseSegmentDefinitions(request.yaml());
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("yaml: ", parsed.status().message()));
  if (parsed->size() != 1) return absl::InvalidArgumentError("yaml: expects exactly one segment definition");
  return (*parsed)[0];
}

}  // namespace

grpc::Status PersonaService::GetProfile(grpc::ServerContext* ctx, const pb::GetProfileRequest* request,
                                        pb::Profile* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto profile = logic_->GetProfile(request->user_id(), request->anonymous_id());
  if (!profile.ok()) return ToGrpcStatus(profile.status());
  *response = std::move(*profile);
  return grpc::Status::OK;
}

grpc::Status PersonaService::UpsertProfiles(grpc::ServerContext* ctx, grpc::ServerReader<pb::UpsertProfileRequest>* reader,
                                            pb::UpsertProfilesSummary* summary) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  std::vector<pb::UpsertProfileRequest> batch;
  int64_t index = 0;
  pb::UpsertProfileRequest record;
  auto flush = [&]() -> absl::Status {
    absl::Status s = crm_->UpsertBatch(batch, index, summary);
    index += static_cast<int64_t>(batch.size());
    batch.clear();
    return s;
  };
  while (reader->Read(&record)) {
    batch.push_back(std::move(record));
    record.Clear();
    if (static_cast<int>(batch.size()) >= options_.upsert_batch) {
      if (auto s = flush(); !s.ok()) return ToGrpcStatus(s);
    }
  }
  if (!batch.empty()) {
    if (auto s = flush(); !s.ok()) return ToGrpcStatus(s);
  }
  return grpc::Status::OK;
}

grpc::Status PersonaService::ExportSegment(grpc::ServerContext* context, const pb::ExportSegmentRequest* request,
                                           grpc::ServerWriter<pb::Profile>* writer) {
  auto call = Admit(context, __func__);
  if (!call.ok()) return call.status();
  auto defs = catalog_->List(logic_->workspace());
  if (!defs.ok()) return ToGrpcStatus(defs.status());
  std::vector<std::string> ids;
  for (const auto& d : *defs) ids.push_back(d.id());
  return ToGrpcStatus(crm_->ExportSegment(request->segment(), ids, [&](const pb::Profile& p) {
    return !context->IsCancelled() && writer->Write(p);
  }));
}

grpc::Status PersonaService::WatchSegmentChanges(grpc::ServerContext* context,
                                                 const pb::WatchSegmentChangesRequest* request,
                                                 grpc::ServerWriter<pb::SegmentChange>* writer) {
  auto call = Admit(context, __func__);
  if (!call.ok()) return call.status();
  auto cursor = crm_->StartCursor(request->cursor());
  if (!cursor.ok()) return ToGrpcStatus(cursor.status());
  const std::set<std::string> only(request->segments().begin(), request->segments().end());
  std::string at = *cursor;
  while (!context->IsCancelled() && !shutting_down_) {
    auto changes = crm_->ReadChanges(at, options_.watch_batch, options_.watch_poll);
    if (!changes.ok()) return ToGrpcStatus(changes.status());
    for (const auto& c : *changes) {
      at = c.cursor();
      if (!only.empty() && !only.count(c.segment())) continue;
      if (!writer->Write(c)) return grpc::Status::OK;  // the client went away; it resumes from its cursor
    }
  }
  return grpc::Status::OK;
}

grpc::Status PersonaService::SetConsent(grpc::ServerContext* ctx, const pb::SetConsentRequest* request,
                                        pb::SetConsentResponse*) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return ToGrpcStatus(crm_->SetConsent(*request));
}

grpc::Status PersonaService::DeleteProfile(grpc::ServerContext* ctx, const pb::DeleteProfileRequest* request,
                                           pb::DeleteProfileResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto n = crm_->DeleteProfile(request->user_id());
  if (!n.ok()) return ToGrpcStatus(n.status());
  response->set_keys_deleted(*n);
  return grpc::Status::OK;
}

grpc::Status PersonaService::ExportProfile(grpc::ServerContext* ctx, const pb::GetProfileRequest* request,
                                           pb::ProfileExport* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto out = crm_->ExportProfile(!request->user_id().empty() ? request->user_id() : request->anonymous_id());
  if (!out.ok()) return ToGrpcStatus(out.status());
  *response = std::move(*out);
  return grpc::Status::OK;
}

grpc::Status PersonaService::ListSegments(grpc::ServerContext* ctx, const pb::ListSegmentsRequest*,
                                          pb::ListSegmentsResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto defs = catalog_->List(logic_->workspace());
  if (!defs.ok()) return ToGrpcStatus(defs.status());
  for (auto& d : *defs) *response->add_segments() = std::move(d);
  return grpc::Status::OK;
}

grpc::Status PersonaService::ApplySegment(grpc::ServerContext* ctx, const pb::ApplySegmentRequest* request,
                                          pb::ApplySegmentResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto def = DefinitionOf(*request);
  if (!def.ok()) return ToGrpcStatus(def.status());
  std::vector<std::string> errors = catalog_->Validate(*def);
  if (!errors.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrJoin(errors, "; "));
  }
  auto version = catalog_->Apply(logic_->workspace(), *def);
  if (!version.ok()) return ToGrpcStatus(version.status());
  response->set_valid(true);
  response->set_version(*version);
  return grpc::Status::OK;
}

grpc::Status PersonaService::ValidateSegment(grpc::ServerContext* ctx, const pb::ApplySegmentRequest* request,
                                             pb::ApplySegmentResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  auto def = DefinitionOf(*request);
  if (!def.ok()) {
    response->set_valid(false);
    response->add_errors(std::string(def.status().message()));
    return grpc::Status::OK;
  }
  for (auto& e : catalog_->Validate(*def)) response->add_errors(std::move(e));
  response->set_valid(response->errors().empty());
  return grpc::Status::OK;
}

grpc::Status PersonaService::DeleteSegment(grpc::ServerContext* ctx, const pb::DeleteSegmentRequest* request,
                                           pb::DeleteSegmentResponse*) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  if (request->id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id: required");
  return ToGrpcStatus(catalog_->Delete(logic_->workspace(), request->id()));
}

grpc::Status PersonaService::EstimateSegment(grpc::ServerContext* ctx, const pb::EstimateSegmentRequest* request,
                                             pb::EstimateSegmentResponse* response) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  std::vector<std::string> errors = catalog_->Validate(request->segment());
  if (!errors.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrJoin(errors, "; "));
  auto estimate = logic_->Estimate(request->segment().condition());
  if (!estimate.ok()) return ToGrpcStatus(estimate.status());
  response->set_members(estimate->first);
  response->set_population(estimate->second);
  return grpc::Status::OK;
}

}  // namespace journey::persona
