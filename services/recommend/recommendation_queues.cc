#include "services/recommend/recommendation_queues.h"

#include <google/protobuf/arena.h>
#include <pthread.h>

#include <algorithm>

namespace journey::recommend {

// Every tag on the queues is a Call: told when its request arrived, then when its answer
// went out, and deleting itself after the second (or when the queue gives it back).
class RecommendationQueues::Call {
 public:
  virtual ~Call() = default;
  // `ok` false: the server is shutting down and returns the waiting request, or the
  // client left before the answer went out.
  virtual void Proceed(bool ok) = 0;
};

class RecommendationQueues::RecommendationsCall final : public Call {
 public:
  RecommendationsCall(RecommendationQueues* queues, grpc::ServerCompletionQueue* cq) : queues_(queues), cq_(cq) {}

  void Request() { queues_->service_->RequestGetRecommendations(&ctx_, &request_, &writer_, cq_, cq_, this); }

  void Proceed(bool ok) override {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    const grpc::Status status = queues_->service_->ServeRecommendations(&ctx_, request_, &response_);
    answered_ = true;
    if (status.ok()) {
      writer_.Finish(response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
    queues_->RequestNext<RecommendationsCall>(cq_);  // only now: a call never waits behind this thread's work
  }

 private:
  static google::protobuf::ArenaOptions ArenaFor(char* block, size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
  }

  RecommendationQueues* queues_;
  grpc::ServerCompletionQueue* cq_;
  // The request and the answer live on an arena whose first block is part of the call, so
  // an answer's tens of messages and repeated fields cost no malloc and no per-message free.
  alignas(8) char first_block_[8192];
  google::protobuf::Arena arena_{ArenaFor(first_block_, sizeof(first_block_))};
  grpc::ServerContext ctx_;
  v1::GetRecommendationsRequest& request_ =
      *google::protobuf::Arena::CreateMessage<v1::GetRecommendationsRequest>(&arena_);
  v1::GetRecommendationsResponse& response_ =
      *google::protobuf::Arena::CreateMessage<v1::GetRecommendationsResponse>(&arena_);
  grpc::ServerAsyncResponseWriter<v1::GetRecommendationsResponse> writer_{&ctx_};
  bool answered_ = false;
};

// The rarer RPCs: arrive on a queue thread, run on a worker, finished from the worker.
template <typename Req, typename Resp>
class RecommendationQueues::WorkerCall final : public Call {
 public:
  using RequestFn = void (RecommendService::*)(grpc::ServerContext*, Req*, grpc::ServerAsyncResponseWriter<Resp>*,
                                               grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using ServeFn = grpc::Status (RecommendService::*)(grpc::ServerContext*, const Req&, Resp*);

  WorkerCall(RecommendationQueues* queues, grpc::ServerCompletionQueue* cq, RequestFn request, ServeFn serve)
      : queues_(queues), cq_(cq), request_fn_(request), serve_fn_(serve) {}

  void Request() { (queues_->service_->*request_fn_)(&ctx_, &request_, &writer_, cq_, cq_, this); }

  void Proceed(bool ok) override {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    answered_ = true;
    // At once: the worker may take long, and the next call of this kind must not wait.
    queues_->RequestNext<WorkerCall>(cq_, request_fn_, serve_fn_);
    RecommendationQueues* queues = queues_;  // the call may be gone once it is finished
    queues->BeginWorkerCall();
    const bool queued = queues->service_->SubmitToWorker([this, queues] {
      const grpc::Status status = (queues->service_->*serve_fn_)(&ctx_, request_, &response_);
      Finish(status);
      queues->EndWorkerCall();
    });
    if (!queued) {
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "recommend: request queue full; retry later"));
      queues->EndWorkerCall();
    }
  }

 private:
  void Finish(const grpc::Status& status) {
    if (status.ok()) {
      writer_.Finish(response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
  }

  RecommendationQueues* queues_;
  grpc::ServerCompletionQueue* cq_;
  const RequestFn request_fn_;
  const ServeFn serve_fn_;
  grpc::ServerContext ctx_;
  Req request_;
  Resp response_;
  grpc::ServerAsyncResponseWriter<Resp> writer_{&ctx_};
  bool answered_ = false;
};

class RecommendationQueues::HealthCheckCall final : public Call {
 public:
  HealthCheckCall(RecommendationQueues* queues, grpc::ServerCompletionQueue* cq) : queues_(queues), cq_(cq) {}

  void Request() { queues_->health_->RequestCheck(&ctx_, &request_, &writer_, cq_, this); }

  void Proceed(bool ok) override {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    answered_ = true;
    const grpc::Status status = queues_->health_->Check(request_, &response_);
    if (status.ok()) {
      writer_.Finish(response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
    queues_->RequestNext<HealthCheckCall>(cq_);
  }

 private:
  RecommendationQueues* queues_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> writer_{&ctx_};
  bool answered_ = false;
};

RecommendationQueues::RecommendationQueues(RecommendService* service, int threads, QueuedHealth* health,
                                           int queues)
    : service_(service),
      health_(health),
      threads_(std::max(1, threads)),
      queue_count_(queues <= 0 ? threads_ : std::min(queues, threads_)) {}

RecommendationQueues::~RecommendationQueues() { Stop(); }

void RecommendationQueues::AddTo(grpc::ServerBuilder& builder) {
  for (int i = 0; i < queue_count_; ++i) queues_.push_back(builder.AddCompletionQueue());
  if (health_ != nullptr) health_->AddTo(builder);
}

void RecommendationQueues::Start() {
  for (int i = 0; i < threads_; ++i) {
    grpc::ServerCompletionQueue* cq = queues_[i % queues_.size()].get();
    RequestAll(cq);  // one waiting request of each kind per thread: a thread re-requests what it took
    workers_.emplace_back([this, cq] { Serve(cq); });
    pthread_setname_np(workers_.back().native_handle(), "recommend-cq");
  }
}

void RecommendationQueues::RequestAll(grpc::ServerCompletionQueue* cq) {
  using S = RecommendService;
  RequestNext<RecommendationsCall>(cq);
  if (health_ != nullptr) RequestNext<HealthCheckCall>(cq);
  RequestNext<WorkerCall<v1::ReportOutcomeRequest, v1::ReportOutcomeResponse>>(cq, &S::RequestReportOutcome,
                                                                              &S::ServeReportOutcome);
  RequestNext<WorkerCall<v1::GetOfferStatsRequest, v1::GetOfferStatsResponse>>(cq, &S::RequestGetOfferStats,
                                                                              &S::ServeGetOfferStats);
  RequestNext<WorkerCall<v1::ListOffersRequest, v1::ListOffersResponse>>(cq, &S::RequestListOffers,
                                                                        &S::ServeListOffers);
  RequestNext<WorkerCall<v1::ApplyOffersRequest, v1::ApplyOffersResponse>>(cq, &S::RequestApplyOffers,
                                                                          &S::ServeApplyOffers);
  RequestNext<WorkerCall<v1::ApplyOffersRequest, v1::ApplyOffersResponse>>(cq, &S::RequestValidateOffers,
                                                                          &S::ServeValidateOffers);
  RequestNext<WorkerCall<v1::DeleteOfferRequest, v1::DeleteOfferResponse>>(cq, &S::RequestDeleteOffer,
                                                                          &S::ServeDeleteOffer);
  RequestNext<WorkerCall<v1::UpsertProductsRequest, v1::UpsertProductsResponse>>(cq, &S::RequestUpsertProducts,
                                                                                &S::ServeUpsertProducts);
  RequestNext<WorkerCall<v1::GetExperimentResultsRequest, v1::GetExperimentResultsResponse>>(
      cq, &S::RequestGetExperimentResults, &S::ServeGetExperimentResults);
  RequestNext<WorkerCall<v1::ListExperimentsRequest, v1::ListExperimentsResponse>>(cq, &S::RequestListExperiments,
                                                                                  &S::ServeListExperiments);
  RequestNext<WorkerCall<v1::ValidateExperimentsRequest, v1::ValidateExperimentsResponse>>(
      cq, &S::RequestValidateExperiments, &S::ServeValidateExperiments);
  RequestNext<WorkerCall<v1::ApplyExperimentsRequest, v1::ApplyExperimentsResponse>>(
      cq, &S::RequestApplyExperiments, &S::ServeApplyExperiments);
}

template <typename C, typename... Args>
void RecommendationQueues::RequestNext(grpc::ServerCompletionQueue* cq, Args... args) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  (new C(this, cq, args...))->Request();
}

void RecommendationQueues::BeginWorkerCall() {
  std::lock_guard<std::mutex> lock(mu_);
  ++worker_calls_;
}

void RecommendationQueues::EndWorkerCall() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--worker_calls_ == 0) worker_calls_done_.notify_all();
}

void RecommendationQueues::Stop() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    // A worker still running finishes its call on one of these queues.
    worker_calls_done_.wait(lock, [this] { return worker_calls_ == 0; });
  }
  for (auto& cq : queues_) cq->Shutdown();
  for (auto& t : workers_) t.join();
  workers_.clear();
  // Queues that never ran (Start not called) still hold nothing but must be drained.
  for (auto& cq : queues_) {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) static_cast<Call*>(tag)->Proceed(false);
  }
}

void RecommendationQueues::Serve(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<Call*>(tag)->Proceed(ok);
}

}  // namespace journey::recommend
