// The gRPC adapter of journey.recommend.v1.Recommend: decode, call the logic, map Status.
#pragma once

#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/feedback.h"
#include "services/recommend/recommend_logic.h"

namespace journey::recommend {

class RecommendService final : public v1::Recommend::CallbackService {
 public:
  RecommendService(RecommendLogic* logic, CatalogAdmin* admin, Feedback* feedback)
      : logic_(logic), admin_(admin), feedback_(feedback) {}

  grpc::ServerUnaryReactor* GetRecommendations(grpc::CallbackServerContext* ctx, const v1::GetRecommendationsRequest* req,
                                               v1::GetRecommendationsResponse* resp) override;
  grpc::ServerUnaryReactor* ReportOutcome(grpc::CallbackServerContext* ctx, const v1::ReportOutcomeRequest* req,
                                          v1::ReportOutcomeResponse* resp) override;
  grpc::ServerUnaryReactor* GetOfferStats(grpc::CallbackServerContext* ctx, const v1::GetOfferStatsRequest* req,
                                          v1::GetOfferStatsResponse* resp) override;
  grpc::ServerUnaryReactor* ListOffers(grpc::CallbackServerContext* ctx, const v1::ListOffersRequest* req,
                                       v1::ListOffersResponse* resp) override;
  grpc::ServerUnaryReactor* ApplyOffers(grpc::CallbackServerContext* ctx, const v1::ApplyOffersRequest* req,
                                        v1::ApplyOffersResponse* resp) override;
  grpc::ServerUnaryReactor* UpsertProducts(grpc::CallbackServerContext* ctx, const v1::UpsertProductsRequest* req,
                                           v1::UpsertProductsResponse* resp) override;

 private:
  RecommendLogic* logic_;
  CatalogAdmin* admin_;
  Feedback* feedback_;
};

}  // namespace journey::recommend
