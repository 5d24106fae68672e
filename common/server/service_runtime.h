// What every service binary shares around its gRPC services: the Redis client, the metrics
// registry and exposer, health checking tied to Redis reachability, reflection, and a
// SIGTERM drain. main() builds its services on top of it and calls Run().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/service_config.h"
#include "common/server/gated_service.h"
#include "common/storage/redis_client.h"

namespace grpc {
class Service;
class ServerBuilder;
}  // namespace grpc
namespace prometheus {
class Registry;
}

namespace journey::auth {
class ApiKeysService;
class CallGate;
class KeyCache;
class KeyStore;
}  // namespace journey::auth

namespace journey::server {

// Something that runs beside the gRPC server (stream consumers, timers, an HTTP endpoint).
class BackgroundWorker {
 public:
  virtual ~BackgroundWorker() = default;
  virtual void Start() = 0;
  // Finish work in hand and return; called during the drain after the gRPC server stopped.
  virtual void Stop() = 0;
};

class ServiceRuntime {
 public:
  // Call first thing in main(), before any thread starts: it blocks SIGTERM/SIGINT so that
  // only the runtime's signal wait sees them.
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(const config::ServiceConfig& config);
  ~ServiceRuntime();

  storage::RedisClient* redis() { return redis_.get(); }
  prometheus::Registry* metrics() { return registry_.get(); }
  const config::ServiceConfig& config() const { return config_; }

  // Polls Redis until it answers or the start-up deadline passes.
  absl::Status WaitForRedis();

  // The gate every call of this process passes (API keys, scopes, rate limits, default
  // deadline); also for non-gRPC front doors such as the Segment HTTP API.
  auth::CallGate* call_gate() { return gate_.get(); }

  // `health_name` is the full gRPC service name reported by grpc.health.v1; the service gets
  // the runtime's CallGate, so it cannot be served unchecked.
  template <typename S>
  void AddService(S* service, std::string health_name) {
    static_assert(std::is_base_of_v<GatedService, S>, "a served service derives from server::GatedService");
    service->SetCallGate(gate_.get(), health_name);
    AddGrpcService(service, std::move(health_name));
  }
  void AddWorker(BackgroundWorker* worker);
  // Extra ports to report in the start-up line (e.g. "http").
  void AddPort(std::string name, int port);
  // Optional hook to adjust the builder (limits, interceptors).
  void SetBuilderHook(std::function<void(grpc::ServerBuilder&)> hook) { builder_hook_ = std::move(hook); }

  // Serves until SIGTERM/SIGINT, then drains. Returns the process exit code.
  int Run();

 private:
  explicit ServiceRuntime(const config::ServiceConfig& config);
  void AddGrpcService(grpc::Service* service, std::string health_name);
  // Inserts the bootstrap key and loads the key cache; logs the auth-off warning.
  absl::Status StartAuth();

  config::ServiceConfig config_;
  std::unique_ptr<storage::RedisClient> redis_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::vector<BackgroundWorker*> workers_;
  std::vector<std::pair<std::string, int>> extra_ports_;
  std::function<void(grpc::ServerBuilder&)> builder_hook_;
  std::unique_ptr<auth::KeyStore> key_store_;
  std::unique_ptr<auth::KeyCache> key_cache_;
  std::unique_ptr<auth::SharedRateLimiter> shared_limiter_;
  std::unique_ptr<auth::CallGate> gate_;
  std::unique_ptr<auth::ApiKeysService> api_keys_service_;
};

// The Debian build of Abseil checks every absl::Mutex acquisition for lock-order cycles
// (a global graph behind a global lock): measurable on hot paths. Create() calls this
// first; benchmarks that wire services without a runtime call it too.
void DisableMutexDeadlockDetection();

// Exit codes of DESIGN.md.
inline constexpr int kExitClean = 0;
inline constexpr int kExitConfig = 1;
inline constexpr int kExitDependency = 2;

}  // namespace journey::server
