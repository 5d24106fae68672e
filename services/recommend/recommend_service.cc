#include "services/recommend/recommend_service.h"

#include <chrono>

#include "common/server/grpc_status.h"

namespace journey::recommend {
namespace {

// Finishes the call with `result`'s value copied into `resp`, or its error status.
template <typename T>
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, absl::StatusOr<T> result, T* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (result.ok()) {
    *resp = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(server::ToGrpcStatus(result.status()));
  }
  return reactor;
}

absl::Duration Remaining(grpc::CallbackServerContext* ctx) {
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteDuration();
  return absl::FromChrono(deadline - std::chrono::system_clock::now());
}

}  // namespace

grpc::ServerUnaryReactor* RecommendService::GetRecommendations(grpc::CallbackServerContext* ctx,
                                                               const v1::GetRecommendationsRequest* req,
                                                               v1::GetRecommendationsResponse* resp) {
  return Finish(ctx, logic_->Recommend(*req, Remaining(ctx)), resp);
}

grpc::ServerUnaryReactor* RecommendService::ReportOutcome(grpc::CallbackServerContext* ctx,
                                                          const v1::ReportOutcomeRequest* req,
                                                          v1::ReportOutcomeResponse* resp) {
  return Finish(ctx, feedback_->ReportOutcome(*req), resp);
}

grpc::ServerUnaryReactor* RecommendService::GetOfferStats(grpc::CallbackServerContext* ctx,
                                                          const v1::GetOfferStatsRequest* req,
                                                          v1::GetOfferStatsResponse* resp) {
  return Finish(ctx, feedback_->GetOfferStats(*req), resp);
}

grpc::ServerUnaryReactor* RecommendService::ListOffers(grpc::CallbackServerContext* ctx, const v1::ListOffersRequest*,
                                                       v1::ListOffersResponse* resp) {
  return Finish(ctx, absl::StatusOr<v1::ListOffersResponse>(admin_->ListOffers()), resp);
}

grpc::ServerUnaryReactor* RecommendService::ApplyOffers(grpc::CallbackServerContext* ctx,
                                                        const v1::ApplyOffersRequest* req,
                                                        v1::ApplyOffersResponse* resp) {
  return Finish(ctx, admin_->ApplyOffers(*req), resp);
}

grpc::ServerUnaryReactor* RecommendService::UpsertProducts(grpc::CallbackServerContext* ctx,
                                                           const v1::UpsertProductsRequest* req,
                                                           v1::UpsertProductsResponse* resp) {
  return Finish(ctx, admin_->UpsertProducts(*req), resp);
}

}  // namespace journey::recommend
