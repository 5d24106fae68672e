// The gRPC adapter of journey.recommend.v1.Recommend: decode, call the logic, map Status.
// Synchronous service on purpose: a request blocks on its one Redis round trip, and the
// sync server's thread pool grows for blocking handlers where the callback executor's few
// threads would serialise them.
#pragma once

#include "common/server/gated_service.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/feedback.h"
#include "services/recommend/recommend_logic.h"

namespace journey::recommend {

class RecommendService final : public v1::Recommend::Service, public server::GatedService {
 public:
  RecommendService(RecommendLogic* logic, CatalogAdmin* admin, Feedback* feedback)
      : logic_(logic), admin_(admin), feedback_(feedback) {}

  grpc::Status GetRecommendations(grpc::ServerContext* ctx, const v1::GetRecommendationsRequest* req, v1::GetRecommendationsResponse* resp) override;
  grpc::Status ReportOutcome(grpc::ServerContext* ctx, const v1::ReportOutcomeRequest* req, v1::ReportOutcomeResponse* resp) override;
  grpc::Status GetOfferStats(grpc::ServerContext* ctx, const v1::GetOfferStatsRequest* req, v1::GetOfferStatsResponse* resp) override;
  grpc::Status ListOffers(grpc::ServerContext* ctx, const v1::ListOffersRequest* req, v1::ListOffersResponse* resp) override;
  grpc::Status ApplyOffers(grpc::ServerContext* ctx, const v1::ApplyOffersRequest* req, v1::ApplyOffersResponse* resp) override;
  grpc::Status UpsertProducts(grpc::ServerContext* ctx, const v1::UpsertProductsRequest* req, v1::UpsertProductsResponse* resp) override;

 private:
  RecommendLogic* logic_;
  CatalogAdmin* admin_;
  Feedback* feedback_;
};

}  // namespace journey::recommend
