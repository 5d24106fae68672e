// The gRPC adapter of journey.recommend.v1.Recommend: decode, call the logic, map Status.
// Every RPC is asynchronous and served from completion queues (recommendation_queues.h):
// GetRecommendations on the queue threads, the rest on a fixed pool of workers (the
// handlers block on Redis), so no thread is created or ended per request and gRPC starts
// no callback threads for this service.
#pragma once

#include <functional>

#include "common/server/gated_service.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/experiment_admin.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/feedback.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/request_workers.h"

namespace journey::recommend {

// Recommend::Service with every method asynchronous. Spelled out rather than AsyncService
// so that an RPC added to the proto and not here stays a sync method answering
// UNIMPLEMENTED, instead of an async one nobody requests (a call that hangs). A new RPC
// gets a WithAsyncMethod_ here, a Serve* below and a line in RecommendationQueues::RequestAll.
using RecommendServiceBase = v1::Recommend::WithAsyncMethod_GetRecommendations<
    v1::Recommend::WithAsyncMethod_ReportOutcome<v1::Recommend::WithAsyncMethod_GetOfferStats<
        v1::Recommend::WithAsyncMethod_ListOffers<v1::Recommend::WithAsyncMethod_ApplyOffers<
            v1::Recommend::WithAsyncMethod_ValidateOffers<v1::Recommend::WithAsyncMethod_DeleteOffer<
                v1::Recommend::WithAsyncMethod_UpsertProducts<v1::Recommend::WithAsyncMethod_GetExperimentResults<
                    v1::Recommend::WithAsyncMethod_ListExperiments<
                        v1::Recommend::WithAsyncMethod_ValidateExperiments<
                            v1::Recommend::WithAsyncMethod_ApplyExperiments<v1::Recommend::Service>>>>>>>>>>>>;

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
  // The other RPCs, as a worker runs them (blocking): admission, the deadline, the handler.
  grpc::Status ServeReportOutcome(grpc::ServerContext* ctx, const v1::ReportOutcomeRequest& req,
                                  v1::ReportOutcomeResponse* resp);
  grpc::Status ServeGetOfferStats(grpc::ServerContext* ctx, const v1::GetOfferStatsRequest& req,
                                  v1::GetOfferStatsResponse* resp);
  grpc::Status ServeListOffers(grpc::ServerContext* ctx, const v1::ListOffersRequest& req,
                               v1::ListOffersResponse* resp);
  grpc::Status ServeApplyOffers(grpc::ServerContext* ctx, const v1::ApplyOffersRequest& req,
                                v1::ApplyOffersResponse* resp);
  grpc::Status ServeValidateOffers(grpc::ServerContext* ctx, const v1::ApplyOffersRequest& req,
                                   v1::ApplyOffersResponse* resp);
  grpc::Status ServeDeleteOffer(grpc::ServerContext* ctx, const v1::DeleteOfferRequest& req,
                                v1::DeleteOfferResponse* resp);
  grpc::Status ServeUpsertProducts(grpc::ServerContext* ctx, const v1::UpsertProductsRequest& req,
                                   v1::UpsertProductsResponse* resp);
  grpc::Status ServeGetExperimentResults(grpc::ServerContext* ctx, const v1::GetExperimentResultsRequest& req,
                                         v1::GetExperimentResultsResponse* resp);
  grpc::Status ServeListExperiments(grpc::ServerContext* ctx, const v1::ListExperimentsRequest& req,
                                    v1::ListExperimentsResponse* resp);
  grpc::Status ServeValidateExperiments(grpc::ServerContext* ctx, const v1::ValidateExperimentsRequest& req,
                                        v1::ValidateExperimentsResponse* resp);
  grpc::Status ServeApplyExperiments(grpc::ServerContext* ctx, const v1::ApplyExperimentsRequest& req,
                                     v1::ApplyExperimentsResponse* resp);

  // Runs `task` on the worker pool; false (task dropped) when its queue is full.
  bool SubmitToWorker(std::function<void()> task) { return workers_.TrySubmit(std::move(task)); }

 private:
  // Admits the call (API key, scope, rate limit: gated_service.h), runs `handler` (returning
  // absl::StatusOr<T>), moves its value into `resp` and returns the mapped status. `method`
  // is the RPC's name.
  template <typename T, typename Handler>
  grpc::Status Answer(grpc::ServerContext* ctx, const char* method, T* resp, Handler handler);

  RecommendLogic* logic_;
  CatalogAdmin* admin_;
  Feedback* feedback_;
  const ExperimentStore* experiments_ = nullptr;
  const ExperimentRecorder* recorder_ = nullptr;
  ExperimentAdmin* experiment_admin_ = nullptr;
  RequestWorkers workers_;  // last: joined before the members its tasks use go away
};

}  // namespace journey::recommend
