#include "services/recommend/recommend_service.h"

#include <chrono>

#include "common/server/grpc_status.h"

namespace journey::recommend {
namespace {

absl::Duration Remaining(const grpc::ServerContextBase* ctx) {
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteDuration();
  return absl::FromChrono(deadline - std::chrono::system_clock::now());
}

}  // namespace

template <typename T, typename Handler>
grpc::Status RecommendService::Answer(grpc::ServerContext* ctx, const char* method, T* resp, Handler handler) {
  // The admitted call (its deadline watch, which may cancel ctx) ends when this returns,
  // before the caller finishes the call: after Finish gRPC may free ctx.
  auto call = Admit(ctx, method);
  if (!call.ok()) return call.status();
  // Behind after a burst: a call whose caller already gave up is not worth the work, and
  // skipping it is what lets the queue catch up.
  if (ctx->deadline() < std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued");
  }
  absl::StatusOr<T> result = handler();
  if (!result.ok()) return server::ToGrpcStatus(result.status());
  *resp = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status RecommendService::ServeRecommendations(grpc::ServerContext* ctx, const v1::GetRecommendationsRequest& req,
                                                    v1::GetRecommendationsResponse* resp) {
  auto call = Admit(ctx, "GetRecommendations");
  if (!call.ok()) return call.status();
  // Behind after a burst: a call whose caller already gave up is not worth the work.
  if (ctx->deadline() < std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued");
  }
  // Built in place: `resp` lives on the call's arena (recommendation_queues.cc).
  if (absl::Status st = logic_->RecommendInto(req, Remaining(ctx), resp); !st.ok()) return server::ToGrpcStatus(st);
  return grpc::Status::OK;
}

grpc::Status RecommendService::ServeReportOutcome(grpc::ServerContext* ctx, const v1::ReportOutcomeRequest& req, v1::ReportOutcomeResponse* resp) {
  return Answer(ctx, "ReportOutcome", resp, [this, &req] { return feedback_->ReportOutcome(req); });
}

grpc::Status RecommendService::ServeGetOfferStats(grpc::ServerContext* ctx, const v1::GetOfferStatsRequest& req, v1::GetOfferStatsResponse* resp) {
  return Answer(ctx, "GetOfferStats", resp, [this, &req] { return feedback_->GetOfferStats(req); });
}

grpc::Status RecommendService::ServeListOffers(grpc::ServerContext* ctx, const v1::ListOffersRequest&, v1::ListOffersResponse* resp) {
  return Answer(ctx, "ListOffers", resp, [this] { return absl::StatusOr<v1::ListOffersResponse>(admin_->ListOffers()); });
}

grpc::Status RecommendService::ServeApplyOffers(grpc::ServerContext* ctx, const v1::ApplyOffersRequest& req, v1::ApplyOffersResponse* resp) {
  return Answer(ctx, "ApplyOffers", resp, [this, &req] { return admin_->ApplyOffers(req); });
}

grpc::Status RecommendService::ServeValidateOffers(grpc::ServerContext* ctx, const v1::ApplyOffersRequest& req, v1::ApplyOffersResponse* resp) {
  return Answer(ctx, "ValidateOffers", resp, [this, &req] { return admin_->ValidateOffers(req); });
}

grpc::Status RecommendService::ServeDeleteOffer(grpc::ServerContext* ctx, const v1::DeleteOfferRequest& req, v1::DeleteOfferResponse* resp) {
  return Answer(ctx, "DeleteOffer", resp, [this, &req] { return admin_->DeleteOffer(req); });
}

grpc::Status RecommendService::ServeUpsertProducts(grpc::ServerContext* ctx, const v1::UpsertProductsRequest& req, v1::UpsertProductsResponse* resp) {
  return Answer(ctx, "UpsertProducts", resp, [this, &req] { return admin_->UpsertProducts(req); });
}

grpc::Status RecommendService::ServeGetExperimentResults(grpc::ServerContext* ctx, const v1::GetExperimentResultsRequest& req, v1::GetExperimentResultsResponse* resp) {
  return Answer(ctx, "GetExperimentResults", resp, [this, &req]() -> absl::StatusOr<v1::GetExperimentResultsResponse> {
    if (recorder_ == nullptr) return absl::NotFoundError("experiment_id: no experiments are configured");
    return recorder_->Results(req.experiment_id());
  });
}

grpc::Status RecommendService::ServeListExperiments(grpc::ServerContext* ctx, const v1::ListExperimentsRequest&, v1::ListExperimentsResponse* resp) {
  return Answer(ctx, "ListExperiments", resp, [this]() -> absl::StatusOr<v1::ListExperimentsResponse> {
    std::shared_ptr<const ExperimentSet> set = experiments_ != nullptr ? experiments_->Get() : nullptr;
    if (set == nullptr) return v1::ListExperimentsResponse();
    v1::ListExperimentsResponse out = DescribeExperiments(set->config(), absl::Now());
    if (experiment_admin_ != nullptr) out.set_version(experiment_admin_->version());
    return out;
  });
}

grpc::Status RecommendService::ServeValidateExperiments(grpc::ServerContext* ctx, const v1::ValidateExperimentsRequest& req, v1::ValidateExperimentsResponse* resp) {
  return Answer(ctx, "ValidateExperiments", resp, [&req]() -> absl::StatusOr<v1::ValidateExperimentsResponse> {
    if (req.yaml().size() > (1 << 20)) return absl::InvalidArgumentError("yaml: larger than 1 MiB");
    v1::ValidateExperimentsResponse out;
    auto parsed = ParseExperimentsYaml(req.yaml(), req.source().empty() ? "request" : req.source());
    absl::Status st = parsed.status();
    if (parsed.ok()) st = ::journey::recommend::ValidateExperiments(&*parsed);
    out.set_valid(st.ok());
    if (!st.ok()) out.add_errors(std::string(st.message()));
    if (st.ok()) out.set_experiments(static_cast<int32_t>(parsed->experiments.size()));
    return out;
  });
}

grpc::Status RecommendService::ServeApplyExperiments(grpc::ServerContext* ctx, const v1::ApplyExperimentsRequest& req, v1::ApplyExperimentsResponse* resp) {
  return Answer(ctx, "ApplyExperiments", resp, [this, &req]() -> absl::StatusOr<v1::ApplyExperimentsResponse> {
    if (experiment_admin_ == nullptr) return absl::FailedPreconditionError("experiments cannot be applied here");
    return experiment_admin_->Apply(req);
  });
}

}  // namespace journey::recommend
