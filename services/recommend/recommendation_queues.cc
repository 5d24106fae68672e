#include "services/recommend/recommendation_queues.h"

#include <pthread.h>

#include <google/protobuf/arena.h>

#include <algorithm>

namespace journey::recommend {

struct RecommendationQueues::Call {
  // The request and the answer live on an arena whose first block is part of the call, so
  // an answer's tens of messages and repeated fields cost no malloc and no per-message free.
  static google::protobuf::ArenaOptions ArenaFor(char* block, size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
  }
  alignas(8) char first_block[8192];
  google::protobuf::Arena arena{ArenaFor(first_block, sizeof(first_block))};
  grpc::ServerContext ctx;
  v1::GetRecommendationsRequest& request = *google::protobuf::Arena::CreateMessage<v1::GetRecommendationsRequest>(&arena);
  v1::GetRecommendationsResponse& response =
      *google::protobuf::Arena::CreateMessage<v1::GetRecommendationsResponse>(&arena);
  grpc::ServerAsyncResponseWriter<v1::GetRecommendationsResponse> writer{&ctx};
  bool answered = false;  // the next event on this tag is the end of the call
};

RecommendationQueues::RecommendationQueues(RecommendService* service, int threads)
    : service_(service), threads_(std::max(1, threads)) {}

RecommendationQueues::~RecommendationQueues() { Stop(); }

void RecommendationQueues::AddTo(grpc::ServerBuilder& builder) {
  for (int i = 0; i < threads_; ++i) queues_.push_back(builder.AddCompletionQueue());
}

void RecommendationQueues::Start() {
  for (auto& cq : queues_) {
    RequestNext(cq.get());
    workers_.emplace_back([this, cq = cq.get()] { Serve(cq); });
    pthread_setname_np(workers_.back().native_handle(), "recommend-cq");
  }
}

void RecommendationQueues::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (auto& cq : queues_) cq->Shutdown();
  for (auto& t : workers_) t.join();
  workers_.clear();
  // Queues that never ran (Start not called) still hold nothing but must be drained.
  for (auto& cq : queues_) {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) delete static_cast<Call*>(tag);
  }
}

void RecommendationQueues::RequestNext(grpc::ServerCompletionQueue* cq) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  auto* call = new Call;
  service_->RequestGetRecommendations(&call->ctx, &call->request, &call->writer, cq, cq, call);
}

void RecommendationQueues::Serve(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto* call = static_cast<Call*>(tag);
    if (call->answered || !ok) {
      // The answer went out (or the client left), or the server is shutting down and gave
      // back the waiting request: this call is over, and in the second case no new
      // request follows.
      delete call;
      continue;
    }
    const grpc::Status status = service_->ServeRecommendations(&call->ctx, call->request, &call->response);
    call->answered = true;
    if (status.ok()) {
      call->writer.Finish(call->response, status, call);
    } else {
      call->writer.FinishWithError(status, call);
    }
    RequestNext(cq);  // only now: a call never waits behind this thread's work
  }
}

}  // namespace journey::recommend
