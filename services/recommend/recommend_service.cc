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
grpc::ServerUnaryReactor* RecommendService::OnWorker(grpc::CallbackServerContext* ctx, const char* method, T* resp,
                                                     Handler handler) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = workers_.TrySubmit([this, ctx, method, reactor, resp, handler = std::move(handler)]() mutable {
    // The admitted call (its deadline watch, which may cancel ctx) must end before Finish:
    // after Finish gRPC may free ctx while the watcher still holds it.
    const grpc::Status status = [&]() -> grpc::Status {
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
    }();
    reactor->Finish(status);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "recommend: request queue full; retry later"));
  }
  return reactor;
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

grpc::ServerUnaryReactor* RecommendService::ReportOutcome(grpc::CallbackServerContext* ctx,
                                                          const v1::ReportOutcomeRequest* req,
                                                          v1::ReportOutcomeResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return feedback_->ReportOutcome(*req); });
}

grpc::ServerUnaryReactor* RecommendService::GetOfferStats(grpc::CallbackServerContext* ctx,
                                                          const v1::GetOfferStatsRequest* req,
                                                          v1::GetOfferStatsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return feedback_->GetOfferStats(*req); });
}

grpc::ServerUnaryReactor* RecommendService::ListOffers(grpc::CallbackServerContext* ctx, const v1::ListOffersRequest*,
                                                       v1::ListOffersResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this] { return absl::StatusOr<v1::ListOffersResponse>(admin_->ListOffers()); });
}

grpc::ServerUnaryReactor* RecommendService::ApplyOffers(grpc::CallbackServerContext* ctx,
                                                        const v1::ApplyOffersRequest* req,
                                                        v1::ApplyOffersResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return admin_->ApplyOffers(*req); });
}

grpc::ServerUnaryReactor* RecommendService::ValidateOffers(grpc::CallbackServerContext* ctx,
                                                           const v1::ApplyOffersRequest* req,
                                                           v1::ApplyOffersResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return admin_->ValidateOffers(*req); });
}

grpc::ServerUnaryReactor* RecommendService::DeleteOffer(grpc::CallbackServerContext* ctx,
                                                        const v1::DeleteOfferRequest* req,
                                                        v1::DeleteOfferResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return admin_->DeleteOffer(*req); });
}

grpc::ServerUnaryReactor* RecommendService::UpsertProducts(grpc::CallbackServerContext* ctx,
                                                           const v1::UpsertProductsRequest* req,
                                                           v1::UpsertProductsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req] { return admin_->UpsertProducts(*req); });
}

grpc::ServerUnaryReactor* RecommendService::GetExperimentResults(grpc::CallbackServerContext* ctx,
                                                                 const v1::GetExperimentResultsRequest* req,
                                                                 v1::GetExperimentResultsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req]() -> absl::StatusOr<v1::GetExperimentResultsResponse> {
    if (recorder_ == nullptr) return absl::NotFoundError("experiment_id: no experiments are configured");
    return recorder_->Results(req->experiment_id());
  });
}

grpc::ServerUnaryReactor* RecommendService::ListExperiments(grpc::CallbackServerContext* ctx,
                                                            const v1::ListExperimentsRequest*,
                                                            v1::ListExperimentsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this]() -> absl::StatusOr<v1::ListExperimentsResponse> {
    std::shared_ptr<const ExperimentSet> set = experiments_ != nullptr ? experiments_->Get() : nullptr;
    if (set == nullptr) return v1::ListExperimentsResponse();
    v1::ListExperimentsResponse out = DescribeExperiments(set->config(), absl::Now());
    if (experiment_admin_ != nullptr) out.set_version(experiment_admin_->version());
    return out;
  });
}

grpc::ServerUnaryReactor* RecommendService::ValidateExperiments(grpc::CallbackServerContext* ctx,
                                                                const v1::ValidateExperimentsRequest* req,
                                                                v1::ValidateExperimentsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [req]() -> absl::StatusOr<v1::ValidateExperimentsResponse> {
    if (req->yaml().size() > (1 << 20)) return absl::InvalidArgumentError("yaml: larger than 1 MiB");
    v1::ValidateExperimentsResponse out;
    auto parsed = ParseExperimentsYaml(req->yaml(), req->source().empty() ? "request" : req->source());
    absl::Status st = parsed.status();
    if (parsed.ok()) st = ::journey::recommend::ValidateExperiments(&*parsed);
    out.set_valid(st.ok());
    if (!st.ok()) out.add_errors(std::string(st.message()));
    if (st.ok()) out.set_experiments(static_cast<int32_t>(parsed->experiments.size()));
    return out;
  });
}

grpc::ServerUnaryReactor* RecommendService::ApplyExperiments(grpc::CallbackServerContext* ctx,
                                                             const v1::ApplyExperimentsRequest* req,
                                                             v1::ApplyExperimentsResponse* resp) {
  return OnWorker(ctx, __func__, resp, [this, req]() -> absl::StatusOr<v1::ApplyExperimentsResponse> {
    if (experiment_admin_ == nullptr) return absl::FailedPreconditionError("experiments cannot be applied here");
    return experiment_admin_->Apply(*req);
  });
}

}  // namespace journey::recommend
