// journey-journey: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/journey/definition_store.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_definition.h"
#include "services/journey/journey_logic.h"
#include "services/journey/journey_service.h"
#include "services/journey/timer_scheduler.h"

ABSL_FLAG(std::string, journey_definition, "",
          "journey definition file (default: <config_dir>/journeys/default.yaml)");
ABSL_FLAG(int, timer_tick_ms, 1000, "how often due inactivity timers are fired");
ABSL_FLAG(int, consumer_batch_size, 512, "stream entries read per partition and batch");
ABSL_FLAG(int, consumer_apply_threads, 2, "partitions' batches applied at once by one replica (below 1: 1)");

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"journey", 50052, 9092});
  auto runtime = server::ServiceRuntime::Create(cfg);
  if (!runtime.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(runtime.status().message()).c_str());
    return server::kExitConfig;
  }
  std::string definition_path = absl::GetFlag(FLAGS_journey_definition);
  if (definition_path.empty()) definition_path = cfg.config_dir + "/journeys/default.yaml";
  auto definition = journey_state::LoadDefinitionFile(definition_path);
  if (!definition.ok()) {
    std::fprintf(stderr, "configuration error: --journey_definition: %s\n",
                 std::string(definition.status().message()).c_str());
    return server::kExitConfig;
  }
  auto compiled = journey_state::CompiledDefinition::Compile(*definition);
  if (!compiled.ok()) {
    std::fprintf(stderr, "configuration error: %s: %s\n", definition_path.c_str(),
                 std::string(compiled.status().message()).c_str());
    return server::kExitConfig;
  }
  if (absl::GetFlag(FLAGS_timer_tick_ms) <= 0 || absl::GetFlag(FLAGS_consumer_batch_size) <= 0) {
    std::fprintf(stderr, "configuration error: --timer_tick_ms and --consumer_batch_size must be positive\n");
    return server::kExitConfig;
  }
  if (auto up = (*runtime)->WaitForRedis(); !up.ok()) {
    log::Error("dependency unreachable", {{"error", std::string(up.message())}});
    return server::kExitDependency;
  }
  storage::RedisClient* redis = (*runtime)->redis();
  const Clock* clock = RealClock::Get();

  journey_state::DefinitionStore definitions(redis, clock, cfg.workspace, *compiled);
  if (auto refreshed = definitions.Refresh(); !refreshed.ok()) {
    log::Warn("stored journey definition not read", {{"error", std::string(refreshed.message())}});
  }
  journey_state::ApplierOptions applier_options;
  applier_options.default_workspace = cfg.workspace;
  applier_options.partitions = cfg.partitions;
  // The fence script touches keys of many slots, which Redis Cluster refuses.
  applier_options.fenced_writes = cfg.redis_url.rfind("redis+cluster://", 0) != 0;
  journey_state::JourneyApplier applier(redis, &definitions, clock, applier_options);
  stream::ConsumerOptions consumer_options;
  consumer_options.group = "journey";
  consumer_options.replica_id = cfg.replica_id;
  consumer_options.partitions = cfg.partitions;
  consumer_options.batch_size = absl::GetFlag(FLAGS_consumer_batch_size);
  consumer_options.apply_threads = absl::GetFlag(FLAGS_consumer_apply_threads);
  stream::PartitionedConsumer consumer(redis, &applier, consumer_options, (*runtime)->metrics());
  journey_state::TimerScheduler timers(&consumer, &applier, &definitions, clock,
                                       {absl::Milliseconds(absl::GetFlag(FLAGS_timer_tick_ms))});
  journey_state::JourneyLogic logic(redis, &definitions, clock, {cfg.workspace});
  journey_state::JourneyService service(&logic);

  (*runtime)->AddService(&service, "journey.state.v1.Journey");
  (*runtime)->AddWorker(&consumer);
  (*runtime)->AddWorker(&timers);
  log::Info("journey definition loaded", {{"file", definition_path},
                                          {"id", definitions.Current()->id()},
                                          {"version", std::to_string(definitions.Current()->version())}});
  return (*runtime)->Run();
}
