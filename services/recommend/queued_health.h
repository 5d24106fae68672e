// grpc.health.v1.Health/Check answered from the recommend completion queues instead of
// gRPC's default health service. The default one is written on the callback API, and a
// single callback method in a process makes gRPC start its callback-queue threads
// ("nexting_thread"), which wait in the same poller as the queue threads: every network
// event then wakes and hands the poller role between more threads (measured in the README,
// "Threads"). With this, the recommend process serves every RPC from its own queue threads.
//
// Only Check: Watch answers UNIMPLEMENTED, which client-side health checking treats as
// healthy (gRPC A17); nothing in the suite watches. Statuses follow the default service's
// rules: "" is SERVING from the start, SetServingStatus(bool) sets every known service,
// Shutdown() sets all NOT_SERVING and ignores later changes, an unknown service is NOT_FOUND.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/service_type.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace journey::recommend {

class QueuedHealth final : public grpc::Service {
 public:
  QueuedHealth();

  // Before the server is built: registers this service and makes it the server's health
  // service (so server->GetHealthCheckService() reaches it and no default one is started).
  void AddTo(grpc::ServerBuilder& builder);

  // Asks gRPC for the next Check call on `cq`; `tag` comes back from cq->Next.
  void RequestCheck(grpc::ServerContext* ctx, grpc::ByteBuffer* request,
                    grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* writer, grpc::ServerCompletionQueue* cq,
                    void* tag);
  // The answer to one Check request (a serialized HealthCheckRequest).
  grpc::Status Check(const grpc::ByteBuffer& request, grpc::ByteBuffer* response) const;

  void SetServingStatus(const std::string& service, bool serving);
  void SetServingStatus(bool serving);
  void Shutdown();

 private:
  enum class Status { kServing = 1, kNotServing = 2 };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Status> statuses_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace journey::recommend
