#include "common/server/service_runtime.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/api_keys_service.h"
#include "common/auth/call_gate.h"
#include "common/auth/key_cache.h"
#include "common/auth/key_store.h"
#include "common/log/log.h"
#include "common/storage/redis_url.h"
#include "common/server/server_credentials.h"
#include "common/storage/redis_factory.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace journey::server {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(const config::ServiceConfig& config) {
  DisableMutexDeadlockDetection();
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto runtime = std::unique_ptr<ServiceRuntime>(new ServiceRuntime(config));
  auto redis = storage::CreateRedisClient(config.redis_url, 16);
  if (!redis.ok()) return redis.status();
  runtime->redis_ = std::move(*redis);
  auto limits = auth::DefaultScopeLimits();
  auto configured = auth::ParseRateLimits(config.rate_limits);
  if (!configured.ok()) return configured.status();
  for (const auto& [scope, limit] : *configured) limits[scope] = limit;
  auth::CallGateOptions gate;
  gate.auth_enabled = config.auth_enabled;
  gate.open_until_first_key = config.auth_open_until_first_key;
  gate.workspace = config.workspace;
  gate.default_deadline = config.default_deadline;
  gate.default_stream_deadline = config.default_stream_deadline;
  gate.scope_limits = std::move(limits);
  runtime->key_store_ = std::make_unique<auth::KeyStore>(runtime->redis_.get(), RealClock::Get());
  auth::KeyCacheOptions cache;
  if (config.auth_enabled) cache.bootstrap_admin_key = config.bootstrap_admin_key;
  cache.workspace = config.workspace;
  runtime->key_cache_ = std::make_unique<auth::KeyCache>(runtime->key_store_.get(), std::move(cache));
  runtime->gate_ = std::make_unique<auth::CallGate>(gate, runtime->key_cache_.get(), RealClock::Get(),
                                                    runtime->registry_.get());
  // Rate limits hold for a key's calls to all replicas together, not to each.
  runtime->shared_limiter_ =
      std::make_unique<auth::SharedRateLimiter>(runtime->redis_.get(), config.workspace, RealClock::Get());
  runtime->gate_->SetSharedLimiter(runtime->shared_limiter_.get());
  runtime->api_keys_service_ = std::make_unique<auth::ApiKeysService>(runtime->key_store_.get(),
                                                                      runtime->key_cache_.get(), config.workspace);
  runtime->AddService(runtime->api_keys_service_.get(), "journey.auth.v1.ApiKeys");
  return runtime;
}

ServiceRuntime::ServiceRuntime(const config::ServiceConfig& config)
    : config_(config), registry_(std::make_shared<prometheus::Registry>()) {}

ServiceRuntime::~ServiceRuntime() = default;

absl::Status ServiceRuntime::WaitForRedis() {
  const absl::Time deadline = absl::Now() + config_.startup_deadline;
  absl::Status last;
  while (true) {
    last = redis_->Ping();
    if (last.ok()) return last;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::UnavailableError(absl::StrCat("redis at ", config_.redis_url, " unreachable after ",
                                             absl::FormatDuration(config_.startup_deadline), ": ", last.message()));
}

absl::Status ServiceRuntime::StartAuth() {
  if (!config_.auth_enabled) {
    log::Warn("AUTHENTICATION IS OFF (--auth=off): every call is accepted without an API key; local development only",
              {{"workspace", config_.workspace}});
  }
  // The first refresh inserts the bootstrap key. Keys matter even with auth off: the ApiKeys
  // RPCs still manage them.
  if (auto st = key_cache_->Refresh(/*force=*/true); !st.ok()) return st;
  if (config_.auth_enabled && !gate_->Enforcing()) {
    log::Warn("AUTHENTICATION IS OPEN UNTIL THE FIRST API KEY (--auth=auto): workspace has no key yet, so calls "
              "without one are accepted; create a key (journeyctl keys create) or set --auth=on to refuse them",
              {{"workspace", config_.workspace}});
  }
  key_cache_->Start();
  gate_->Start();
  return absl::OkStatus();
}

void ServiceRuntime::AddGrpcService(grpc::Service* service, std::string health_name) {
  services_.emplace_back(service, std::move(health_name));
}

void ServiceRuntime::AddWorker(BackgroundWorker* worker) { workers_.push_back(worker); }

void ServiceRuntime::AddPort(std::string name, int port) { extra_ports_.emplace_back(std::move(name), port); }

int ServiceRuntime::Run() {
  // Metrics first, so a start-up problem is visible there too.
  std::unique_ptr<prometheus::Exposer> exposer;
  int metrics_port = config_.metrics_port;
  try {
    exposer = std::make_unique<prometheus::Exposer>(absl::StrCat("0.0.0.0:", config_.metrics_port));
    exposer->RegisterCollectable(registry_);
    auto ports = exposer->GetListeningPorts();
    if (!ports.empty()) metrics_port = ports.front();
  } catch (const std::exception& e) {
    log::Error("cannot listen for metrics", {{"flag", "--metrics_port"}, {"error", e.what()}});
    return kExitConfig;
  }
  auto& serving_gauge = prometheus::BuildGauge()
                            .Name("journey_serving")
                            .Help("1 while the service reports SERVING")
                            .Register(*registry_)
                            .Add({{"service", config_.name}});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(absl::StrCat("0.0.0.0:", config_.grpc_port), MakeServerCredentials(config_.tls),
                           &grpc_port);
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  // Bounded: at most max_inflight_calls handler threads; calls beyond get RESOURCE_EXHAUSTED
  // instead of queueing without limit.
  grpc::ResourceQuota quota(absl::StrCat(config_.name, "-calls"));
  quota.SetMaxThreads(config_.max_inflight_calls);
  builder.SetResourceQuota(quota);
  for (auto& [service, name] : services_) builder.RegisterService(service);
  if (builder_hook_) builder_hook_(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    log::Error("cannot listen for gRPC", {{"flag", "--grpc_port"}, {"port", std::to_string(config_.grpc_port)}});
    return kExitConfig;
  }
  // Health alone, in plaintext, for probes that cannot do TLS; it mirrors the main server's.
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (config_.health_port >= 0) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(absl::StrCat("0.0.0.0:", config_.health_port), grpc::InsecureServerCredentials(),
                                    &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      log::Error("cannot listen for health", {{"flag", "--health_port"}, {"port", std::to_string(config_.health_port)}});
      return kExitConfig;
    }
  }

  if (auto st = StartAuth(); !st.ok()) {
    log::Error("api keys not loaded", {{"error", std::string(st.message())}});
    server->Shutdown();
    return absl::IsInvalidArgument(st) ? kExitConfig : kExitDependency;
  }
  for (BackgroundWorker* w : workers_) w->Start();

  // Health follows Redis: NOT_SERVING while it is unreachable, SERVING when it is back.
  std::vector<grpc::HealthCheckServiceInterface*> healths = {server->GetHealthCheckService()};
  if (health_server) healths.push_back(health_server->GetHealthCheckService());
  std::atomic<bool> stopping{false};
  std::mutex health_mu;
  std::condition_variable health_cv;
  auto set_serving = [&](bool serving) {
    for (auto* health : healths) {
      health->SetServingStatus(serving);
      for (auto& [service, name] : services_) health->SetServingStatus(name, serving);
    }
    serving_gauge.Set(serving ? 1 : 0);
  };
  set_serving(redis_->Ping().ok());
  // "liveness" stays SERVING until the drain, whatever Redis does (Kubernetes liveness probe).
  for (auto* health : healths) health->SetServingStatus("liveness", true);
  std::thread health_thread([&] {
    bool was_serving = true;
    while (!stopping) {
      bool serving = redis_->Ping().ok();
      if (serving != was_serving && !stopping) {
        set_serving(serving);
        log::Warn(serving ? "redis reachable again: SERVING" : "redis unreachable: NOT_SERVING");
        was_serving = serving;
      }
      std::unique_lock<std::mutex> lock(health_mu);
      health_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping.load(); });
    }
  });

  std::string ports = absl::StrCat("grpc=", grpc_port, " metrics=", metrics_port);
  const std::string transport = config_.tls.enabled()
                                    ? absl::StrCat("tls client_auth=", config::ClientAuthName(config_.tls.client_auth))
                                    : "plaintext";
  if (health_server) absl::StrAppend(&ports, " health=", health_port);
  for (const auto& [name, port] : extra_ports_) absl::StrAppend(&ports, " ", name, "=", port);
  log::Info(absl::StrCat(config_.name, " listening ", ports),
            {{"grpc_port", std::to_string(grpc_port)}, {"metrics_port", std::to_string(metrics_port)},
             {"redis", storage::RedactRedisUrl(config_.redis_url)},
             {"transport", transport}, {"auth", !config_.auth_enabled ? "off" : config_.auth_open_until_first_key ? "auto" : "on"}});

  sigset_t set = StopSignals();
  int sig = 0;
  sigwait(&set, &sig);
  log::Info("draining", {{"signal", std::to_string(sig)},
                         {"deadline_s", std::to_string(absl::ToInt64Seconds(config_.drain_deadline))}});

  stopping = true;
  for (auto* health : healths) health->Shutdown();  // every watcher sees NOT_SERVING from here on
  health_cv.notify_all();
  health_thread.join();
  if (health_server) health_server->Shutdown(std::chrono::system_clock::now());
  server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(config_.drain_deadline));
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it) (*it)->Stop();
  server->Wait();
  gate_->Stop();
  key_cache_->Stop();
  log::Info("stopped cleanly");
  return kExitClean;
}

}  // namespace journey::server
