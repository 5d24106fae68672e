// The gRPC adapter of journey.recommend.v1.Recommend: decode, call the logic, map Status.
// GetRecommendations is served from completion queues (recommendation_queues.h), the rest
// on the callback API, where gRPC's threads only hand each call to a fixed pool of
// workers (the handlers block on Redis), so no thread is created or ended per request.
#pragma once

#include "common/server/gated_service.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/experiment_admin.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/feedback.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/request_workers.h"

namespace journey::recommend {

// Recommend::CallbackService with GetRecommendations asynchronous instead. Spelled out
// because an async marker on top of CallbackService keeps the callback handler (gRPC then
// never serves the queues). A new RPC of the proto is added here, or it answers UNIMPLEMENTED.
using RecommendServiceBase = v1::Recommend::WithAsyncMethod_GetRecommendations<
    v1::Recommend::WithCallbackMethod_ReportOutcome<v1::Recommend::WithCallbackMethod_GetOfferStats<
        v1::Recommend::WithCallbackMethod_ListOffers<v1::Recommend::WithCallbackMethod_ApplyOffers<
            v1::Recommend::WithCallbackMethod_ValidateOffers<v1::Recommend::WithCallbackMethod_DeleteOffer<
                v1::Recommend::WithCallbackMethod_UpsertProducts<v1::Recommend::WithCallbackMethod_GetExperimentResults<
                    v1::Recommend::WithCallbackMethod_ListExperiments<
                        v1::Recommend::WithCallbackMethod_ValidateExperiments<
                            v1::Recommend::WithCallbackMethod_ApplyExperiments<v1::Recommend::Service>>>>>>>>>>>>;

class RecommendService final : public RecommendServiceBase, public server::GatedService {
 public:
  // `workers`: threads that run handlers; a few suffice (each request holds one for about
  // a Redis round trip plus the ranking), more only add contention on two cores.
  RecommendService(RecommendLogic* logic, CatalogAdmin* admin, Feedback* feedback, int workers = 4)
      : logic_(logic), admin_(admin), feedback_(feedback), workers_(workers) {}

  // Experiments: results, the loaded definitions, validation. Unset = none configured.
  // `experiment_admin` (may be null: ApplyExperiments is then FAILED_PRECONDITION) applies
  // definitions at run time.
  void SetExperiments(const ExperimentStore* experiments, const ExperimentRecorder* recorder,
                      ExperimentAdmin* experiment_admin = nullptr) {
    experiments_ = experiments;
    recorder_ = recorder;
    experiment_admin_ = experiment_admin;
  }

  // GetRecommendations as RecommendationQueues answers it: admission, the deadline, the
  // logic, the status mapping. Blocks for the Redis round trip.
  grpc::Status ServeRecommendations(grpc::ServerContext* ctx, const v1::GetRecommendationsRequest& req,
                                    v1::GetRecommendationsResponse* resp);
  grpc::ServerUnaryReactor* ReportOutcome(grpc::CallbackServerContext* ctx, const v1::ReportOutcomeRequest* req,
                                          v1::ReportOutcomeResponse* resp) override;
  grpc::ServerUnaryReactor* GetOfferStats(grpc::CallbackServerContext* ctx, const v1::GetOfferStatsRequest* req,
                                          v1::GetOfferStatsResponse* resp) override;
  grpc::ServerUnaryReactor* ListOffers(grpc::CallbackServerContext* ctx, const v1::ListOffersRequest* req,
                                       v1::ListOffersResponse* resp) override;
  grpc::ServerUnaryReactor* ApplyOffers(grpc::CallbackServerContext* ctx, const v1::ApplyOffersRequest* req,
                                        v1::ApplyOffersResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateOffers(grpc::CallbackServerContext* ctx, const v1::ApplyOffersRequest* req,
                                           v1::ApplyOffersResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteOffer(grpc::CallbackServerContext* ctx, const v1::DeleteOfferRequest* req,
                                        v1::DeleteOfferResponse* resp) override;
  grpc::ServerUnaryReactor* UpsertProducts(grpc::CallbackServerContext* ctx, const v1::UpsertProductsRequest* req,
                                           v1::UpsertProductsResponse* resp) override;
  grpc::ServerUnaryReactor* GetExperimentResults(grpc::CallbackServerContext* ctx,
                                                 const v1::GetExperimentResultsRequest* req,
                                                 v1::GetExperimentResultsResponse* resp) override;
  grpc::ServerUnaryReactor* ListExperiments(grpc::CallbackServerContext* ctx, const v1::ListExperimentsRequest* req,
                                            v1::ListExperimentsResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateExperiments(grpc::CallbackServerContext* ctx,
                                                const v1::ValidateExperimentsRequest* req,
                                                v1::ValidateExperimentsResponse* resp) override;
  grpc::ServerUnaryReactor* ApplyExperiments(grpc::CallbackServerContext* ctx, const v1::ApplyExperimentsRequest* req,
                                             v1::ApplyExperimentsResponse* resp) override;

 private:
  // Admits the call (API key, scope, rate limit: gated_service.h), runs `handler` (returning
  // absl::StatusOr<T>) on a worker, moves its value into `resp` and finishes the call with
  // the mapped status. `method` is the RPC's name.
  template <typename T, typename Handler>
  grpc::ServerUnaryReactor* OnWorker(grpc::CallbackServerContext* ctx, const char* method, T* resp, Handler handler);

  RecommendLogic* logic_;
  CatalogAdmin* admin_;
  Feedback* feedback_;
  const ExperimentStore* experiments_ = nullptr;
  const ExperimentRecorder* recorder_ = nullptr;
  ExperimentAdmin* experiment_admin_ = nullptr;
  RequestWorkers workers_;  // last: joined before the members its tasks use go away
};

}  // namespace journey::recommend
