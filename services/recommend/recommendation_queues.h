// GetRecommendations, the hot call, served from completion queues by a fixed set of threads
// that each take one call, answer it (the Redis round trip and the ranking) and only then
// ask for the next. The callback API handed each call from gRPC's own threads to a worker
// pool and the answer back again: two thread switches per request, which at 5,000
// requests a second on two cores cost more CPU than the ranking. Here the thread that
// reads the call from the network also answers it, and a call that arrives while every
// thread is busy waits in gRPC for the first free one (not behind a busy thread).
// The other, rarer RPCs of the service stay on the callback API.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/server/service_runtime.h"
#include "services/recommend/recommend_service.h"

namespace journey::recommend {

class RecommendationQueues final : public server::BackgroundWorker {
 public:
  // `threads`: calls answered at once; each blocks for its Redis round trip, so a few
  // more than the cores keep them busy.
  RecommendationQueues(RecommendService* service, int threads);
  ~RecommendationQueues() override;

  // Before the server is built: one completion queue per thread.
  void AddTo(grpc::ServerBuilder& builder);
  // After the server started: the threads start taking calls.
  void Start() override;
  // After the server shut down (which returns every waiting request): drains and joins.
  void Stop() override;

 private:
  struct Call;
  void Serve(grpc::ServerCompletionQueue* cq);
  // Asks gRPC for the next call on `cq`, unless stopping (a request on a queue that is shut
  // down is a crash in gRPC, so the check and the request are one step under mu_).
  void RequestNext(grpc::ServerCompletionQueue* cq);

  RecommendService* service_;
  const int threads_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  bool stopping_ = false;
};

}  // namespace journey::recommend
