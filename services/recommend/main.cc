// journey-recommend: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"recommend", 50054, 9094});
  auto runtime = server::ServiceRuntime::Create(cfg);
  if (!runtime.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(runtime.status().message()).c_str());
    return server::kExitConfig;
  }
  if (auto up = (*runtime)->WaitForRedis(); !up.ok()) {
    log::Error("dependency unreachable", {{"error", std::string(up.message())}});
    return server::kExitDependency;
  }
  // TODO(skeleton): replace with the real service.
  journey::recommend::v1::Recommend::Service service;
  (*runtime)->AddService(&service, "journey.recommend.v1.Recommend");
  return (*runtime)->Run();
}
