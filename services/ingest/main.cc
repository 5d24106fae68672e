// journey-ingest: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"ingest", 50051, 9091});
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
  journey::ingest::v1::Ingest::Service service;
  (*runtime)->AddService(&service, "journey.ingest.v1.Ingest");
  return (*runtime)->Run();
}
