// journey-persona: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/persona/persona_logic.h"
#include "services/persona/persona_service.h"
#include "services/persona/profile_aggregator.h"
#include "services/persona/profile_store.h"
#include "services/persona/profile_stream_handler.h"

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"persona", 50053, 9093});
  auto runtime = server::ServiceRuntime::Create(cfg);
  if (!runtime.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(runtime.status().message()).c_str());
    return server::kExitConfig;
  }
  if (auto up = (*runtime)->WaitForRedis(); !up.ok()) {
    log::Error("dependency unreachable", {{"error", std::string(up.message())}});
    return server::kExitDependency;
  }
  storage::RedisClient* redis = (*runtime)->redis();
  const Clock* clock = RealClock::Get();

  persona::ProfileStore store(redis);
  persona::ProfileAggregator aggregator;
  persona::ProfileStreamHandler handler(&store, &aggregator, /*evaluator=*/nullptr, clock);
  stream::PartitionedConsumer consumer(redis, &handler, {"persona", cfg.replica_id, cfg.partitions},
                                       (*runtime)->metrics());
  persona::PersonaLogic logic(&store, &aggregator, /*evaluator=*/nullptr, clock, {cfg.workspace});
  persona::PersonaService service(&logic);

  (*runtime)->AddService(&service, "journey.persona.v1.Persona");
  (*runtime)->AddWorker(&consumer);
  return (*runtime)->Run();
}
