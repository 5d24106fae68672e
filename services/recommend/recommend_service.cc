#include "services/recommend/recommend_service.h"

#include <chrono>

#include "common/server/grpc_status.h"

namespace journey::recommend {
namespace {

// `result`'s value moved into `resp`, or its error status.
template <typename T>
grpc::Status Finish(grpc::ServerContext*, absl::StatusOr<T> result, T* resp) {
  if (!result.ok()) return server::ToGrpcStatus(result.status());
  *resp = std::move(*result);
  return grpc::Status::OK;
}

absl::Duration Remaining(grpc::ServerContext* ctx) {
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteDuration();
  return absl::FromChrono(deadline - std::chrono::system_clock::now());
}

}  // namespace

grpc::Status RecommendService::GetRecommendations(grpc::ServerContext* ctx,
                                                               const v1::GetRecommendationsRequest* req,
                                                               v1::GetRecommendationsResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, logic_->Recommend(*req, Remaining(ctx)), resp);
}

grpc::Status RecommendService::ReportOutcome(grpc::ServerContext* ctx,
                                                          const v1::ReportOutcomeRequest* req,
                                                          v1::ReportOutcomeResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, feedback_->ReportOutcome(*req), resp);
}

grpc::Status RecommendService::GetOfferStats(grpc::ServerContext* ctx,
                                                          const v1::GetOfferStatsRequest* req,
                                                          v1::GetOfferStatsResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, feedback_->GetOfferStats(*req), resp);
}

grpc::Status RecommendService::ListOffers(grpc::ServerContext* ctx, const v1::ListOffersRequest*,
                                                       v1::ListOffersResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, absl::StatusOr<v1::ListOffersResponse>(admin_->ListOffers()), resp);
}

grpc::Status RecommendService::ApplyOffers(grpc::ServerContext* ctx,
                                                        const v1::ApplyOffersRequest* req,
                                                        v1::ApplyOffersResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, admin_->ApplyOffers(*req), resp);
}

grpc::Status RecommendService::UpsertProducts(grpc::ServerContext* ctx,
                                                           const v1::UpsertProductsRequest* req,
                                                           v1::UpsertProductsResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return Finish(ctx, admin_->UpsertProducts(*req), resp);
}

}  // namespace journey::recommend
