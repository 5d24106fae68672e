// Every RPC of the recommend process served from gRPC completion queues by a fixed set of
// threads. GetRecommendations, the hot call: each thread takes one call, answers it (the
// Redis round trip and the ranking) and only then asks for the next, so a call waits in gRPC
// for the first free thread, never behind a busy one. The callback API it replaced handed
// every call from gRPC's threads to a worker pool and the answer back: two thread switches
// per request. The rarer RPCs arrive on the same queues and are handed to the service's
// worker pool (they may block longer: admin writes, retried compare-and-sets), which
// finishes them; health checks (queued_health.h) are answered on the spot.
//
// Nothing in the process is on the callback API any more: one callback method (the default
// health service included) makes gRPC start its own queue threads, which take turns as the
// process's poller with these and cost a wake-up hand-over on every network event.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/server/service_runtime.h"
#include "services/recommend/queued_health.h"
#include "services/recommend/recommend_service.h"

namespace journey::recommend {

class RecommendationQueues final : public server::BackgroundWorker {
 public:
  // `threads`: calls answered at once; each blocks for its Redis round trip, so a few
  // more than the cores keep them busy. `health` (may be null: no health service) is
  // answered on these queues too.
  // `queues`: completion queues the threads share (0 = one per thread). A thread takes a
  // call from its own queue only, so with one per thread a call that the poller (any
  // waiting thread) read for another queue costs a wake-up of that queue's thread.
  RecommendationQueues(RecommendService* service, int threads, QueuedHealth* health = nullptr, int queues = 0);
  ~RecommendationQueues() override;

  // Before the server is built: one completion queue per thread (and the health service).
  void AddTo(grpc::ServerBuilder& builder);
  // After the server started: the threads start taking calls.
  void Start() override;
  // After the server shut down (which returns every waiting request): waits for the calls
  // handed to workers, drains and joins.
  void Stop() override;

 private:
  class Call;
  class RecommendationsCall;
  template <typename Req, typename Resp>
  class WorkerCall;
  class HealthCheckCall;

  void Serve(grpc::ServerCompletionQueue* cq);
  // Asks gRPC for the next call of kind C on `cq`, unless stopping (a request on a queue
  // that is shut down is a crash in gRPC, so the check and the request are one step under mu_).
  template <typename C, typename... Args>
  void RequestNext(grpc::ServerCompletionQueue* cq, Args... args);
  // One request of every kind on `cq`.
  void RequestAll(grpc::ServerCompletionQueue* cq);
  // Calls handed to a worker and not yet finished: Stop waits for them, because finishing
  // a call on a queue that was shut down is a crash in gRPC.
  void BeginWorkerCall();
  void EndWorkerCall();

  RecommendService* service_;
  QueuedHealth* health_;
  const int threads_;
  const int queue_count_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable worker_calls_done_;
  int worker_calls_ = 0;
  bool stopping_ = false;
};

}  // namespace journey::recommend
