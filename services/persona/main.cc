// journey-persona: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/orchestration/action_outbox.h"
#include "common/orchestration/trigger_config.h"
#include "common/server/service_runtime.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/persona/crm_sync.h"
#include "services/persona/membership_engine.h"
#include "services/persona/membership_scheduler.h"
#include "services/persona/persona_logic.h"
#include "services/persona/persona_service.h"
#include "services/persona/profile_aggregator.h"
#include "services/persona/profile_store.h"
#include "services/persona/profile_stream_handler.h"
#include "services/persona/segment_catalog.h"
#include "services/persona/segment_files.h"
#include "services/persona/segment_triggers.h"

ABSL_FLAG(std::string, triggers_dir, "", "segment triggers (default: <config_dir>/triggers)");
ABSL_FLAG(std::string, experiments_dir, "", "where the holdout is configured (default: <config_dir>/experiments)");
ABSL_FLAG(int, persona_reevaluate_interval_s, 60,
          "Seconds between scheduled RFM recomputations and time-based segment re-evaluations");
ABSL_FLAG(int, consumer_apply_threads, 2,
          "partitions' batches applied at once by one replica (below 1: 1), so its work overlaps Redis's");
ABSL_FLAG(int, persona_parsed_profiles, 20000,
          "Profiles the stream consumer keeps parsed between batches (reused only while their stored bytes are "
          "unchanged); 0 = parse every load");

namespace {

// A worker that ends open watch streams first when the runtime drains.
class WatchCloser final : public journey::server::BackgroundWorker {
 public:
  explicit WatchCloser(journey::persona::PersonaService* service) : service_(service) {}
  void Start() override {}
  void Stop() override { service_->Shutdown(); }

 private:
  journey::persona::PersonaService* service_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"persona", 50053, 9093});
  const int reevaluate_s = absl::GetFlag(FLAGS_persona_reevaluate_interval_s);
  const int parsed_profiles = absl::GetFlag(FLAGS_persona_parsed_profiles);
  if (parsed_profiles < 0) {
    std::fprintf(stderr, "configuration error: --persona_parsed_profiles: %d must be >= 0\n", parsed_profiles);
    return server::kExitConfig;
  }
  if (reevaluate_s < 1) {
    std::fprintf(stderr, "configuration error: --persona_reevaluate_interval_s: %d must be >= 1\n", reevaluate_s);
    return server::kExitConfig;
  }
  auto definitions = persona::LoadSegmentDirectory(cfg.config_dir);
  if (!definitions.ok()) {
    std::fprintf(stderr, "configuration error: --config_dir: %s\n", std::string(definitions.status().message()).c_str());
    return server::kExitConfig;
  }
  std::string triggers_dir = absl::GetFlag(FLAGS_triggers_dir);
  if (triggers_dir.empty()) triggers_dir = cfg.config_dir + "/triggers";
  std::string experiments_dir = absl::GetFlag(FLAGS_experiments_dir);
  if (experiments_dir.empty()) experiments_dir = cfg.config_dir + "/experiments";
  auto triggers = orchestration::LoadTriggers(triggers_dir, experiments_dir);
  if (!triggers.ok()) {
    std::fprintf(stderr, "configuration error: --triggers_dir: %s\n", std::string(triggers.status().message()).c_str());
    return server::kExitConfig;
  }
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

  persona::SegmentCatalog catalog(redis, clock);
  for (const auto& d : *definitions) {
    if (auto v = catalog.Apply(cfg.workspace, d); !v.ok()) {
      if (absl::IsInvalidArgument(v.status())) {
        std::fprintf(stderr, "configuration error: --config_dir: segment %s: %s\n", d.id().c_str(),
                     std::string(v.status().message()).c_str());
        return server::kExitConfig;
      }
      log::Error("dependency unreachable", {{"error", std::string(v.status().message())}});
      return server::kExitDependency;
    }
  }
  persona::ProfileStore store(redis);
  orchestration::ActionOutbox outbox(redis, clock, std::move(*triggers), {}, (*runtime)->metrics());
  persona::SegmentTriggers segment_triggers(&outbox, cfg.partitions);
  // Like journey's: the outbox script spans slots, so segment triggers need a single Redis.
  const bool cluster = cfg.redis_url.rfind("redis+cluster://", 0) == 0;
  if (segment_triggers.any() && cluster) log::Warn("segment triggers are off on Redis Cluster", {});
  if (segment_triggers.any() && !cluster) {
    store.SetPublishedListener([&segment_triggers](const std::vector<const persona::ProfileWrite*>& writes) {
      return segment_triggers.OnPublished(writes);
    });
  }
  persona::ProfileAggregator aggregator;
  persona::MembershipEngine engine(&catalog);
  persona::StreamHandlerOptions handler_options;
  handler_options.parsed_profiles = static_cast<size_t>(parsed_profiles);
  persona::ProfileStreamHandler handler(&store, &aggregator, &engine, clock, handler_options);
  stream::ConsumerOptions consumer_options{"persona", cfg.replica_id, cfg.partitions};
  consumer_options.apply_threads = absl::GetFlag(FLAGS_consumer_apply_threads);
  stream::PartitionedConsumer consumer(redis, &handler, consumer_options, (*runtime)->metrics());
  persona::PersonaLogic logic(&store, &aggregator, &engine, clock, {cfg.workspace});
  persona::CrmSync crm(&store, &logic, &engine, {cfg.partitions});
  persona::MembershipScheduler scheduler(&store, &catalog, &logic, &aggregator,
                                         {cfg.replica_id, absl::Seconds(reevaluate_s)});
  persona::PersonaService service(&logic, &crm, &catalog);
  WatchCloser watch_closer(&service);

  log::Info("segments loaded", {{"definitions", std::to_string(definitions->size())}, {"dir", cfg.config_dir}});
  (*runtime)->AddService(&service, "journey.persona.v1.Persona");
  (*runtime)->AddWorker(&watch_closer);
  (*runtime)->AddWorker(&consumer);
  (*runtime)->AddWorker(&scheduler);
  return (*runtime)->Run();
}
