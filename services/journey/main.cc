// journey-journey: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/orchestration/action_outbox.h"
#include "common/orchestration/trigger_config.h"
#include "common/orchestration/webhook_delivery.h"
#include "common/server/service_runtime.h"
#include "common/stream/partitioned_consumer.h"
#include "common/time/clock.h"
#include "services/journey/action_triggers.h"
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
ABSL_FLAG(int, consumer_block_ms, 100,
          "longest wait of the consumer's blocking read over all partitions when idle (single Redis)");
ABSL_FLAG(int, snapshot_cache_entries, 0,
          "journey snapshots a replica keeps as last written, to skip reading them back (0 = off; experimental)");
ABSL_FLAG(int, consumer_apply_threads, 2, "partitions' batches applied at once by one replica (below 1: 1)");
ABSL_FLAG(std::string, triggers_dir, "", "trigger and orchestration files (default: <config_dir>/triggers)");
ABSL_FLAG(std::string, experiments_dir, "", "where the holdout is configured (default: <config_dir>/experiments)");
ABSL_FLAG(std::string, action_webhook_url, "", "POST triggered actions to this URL (empty: no webhook)");
ABSL_FLAG(std::string, action_webhook_secret_file, "", "file holding the HMAC-SHA256 key of the webhook signature");
ABSL_FLAG(int, action_webhook_max_attempts, 8, "POSTs of one action before it goes to the dead-letter list");
ABSL_FLAG(int, action_webhook_timeout_ms, 5000, "timeout of one webhook POST");
ABSL_FLAG(int, action_webhook_backoff_ms, 500, "first retry delay; doubles per attempt up to 60 s");

namespace {

// The webhook secret: the file's content without its trailing newline.
absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--action_webhook_secret_file: cannot read '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat("--action_webhook_secret_file: '", path, "' is empty"));
  return secret;
}

}  // namespace

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
  std::string triggers_dir = absl::GetFlag(FLAGS_triggers_dir);
  if (triggers_dir.empty()) triggers_dir = cfg.config_dir + "/triggers";
  std::string experiments_dir = absl::GetFlag(FLAGS_experiments_dir);
  if (experiments_dir.empty()) experiments_dir = cfg.config_dir + "/experiments";
  auto triggers = orchestration::LoadTriggers(triggers_dir, experiments_dir);
  if (triggers.ok()) {
    const auto& stages = (*compiled)->proto().stages();
    std::vector<std::string> errors = orchestration::CheckStages(*triggers, {stages.begin(), stages.end()});
    if (!errors.empty()) triggers = absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  if (!triggers.ok()) {
    std::fprintf(stderr, "configuration error: --triggers_dir: %s\n", std::string(triggers.status().message()).c_str());
    return server::kExitConfig;
  }
  std::optional<orchestration::WebhookOptions> webhook_options;
  if (!absl::GetFlag(FLAGS_action_webhook_url).empty()) {
    auto secret = ReadSecret(absl::GetFlag(FLAGS_action_webhook_secret_file));
    if (!secret.ok()) {
      std::fprintf(stderr, "configuration error: %s\n", std::string(secret.status().message()).c_str());
      return server::kExitConfig;
    }
    webhook_options.emplace();
    webhook_options->url = absl::GetFlag(FLAGS_action_webhook_url);
    webhook_options->secret = *secret;
    webhook_options->consumer = cfg.replica_id;
    webhook_options->partitions = cfg.partitions;
    webhook_options->max_attempts = absl::GetFlag(FLAGS_action_webhook_max_attempts);
    webhook_options->timeout = absl::Milliseconds(absl::GetFlag(FLAGS_action_webhook_timeout_ms));
    webhook_options->initial_backoff = absl::Milliseconds(absl::GetFlag(FLAGS_action_webhook_backoff_ms));
    if (absl::Status valid = orchestration::WebhookDelivery::Validate(*webhook_options); !valid.ok()) {
      std::fprintf(stderr, "configuration error: %s\n", std::string(valid.message()).c_str());
      return server::kExitConfig;
    }
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
  applier_options.snapshot_cache_entries = std::max(0, absl::GetFlag(FLAGS_snapshot_cache_entries));
  journey_state::JourneyApplier applier(redis, &definitions, clock, applier_options);
  const size_t trigger_count = triggers->triggers.size();
  orchestration::ActionOutbox outbox(redis, clock, std::move(*triggers), {}, (*runtime)->metrics());
  journey_state::ActionTriggers action_triggers(&outbox);
  // The outbox script touches the customer's keys and the partition's action stream, which
  // are in different slots: Redis Cluster refuses it, so triggers stay off there.
  if (trigger_count > 0 && applier_options.fenced_writes) applier.SetActionTriggers(&action_triggers);
  if (trigger_count > 0 && !applier_options.fenced_writes) {
    log::Warn("triggered actions are off on Redis Cluster (they need a single Redis)", {{"dir", triggers_dir}});
  }
  std::unique_ptr<orchestration::WebhookDelivery> webhook;
  if (webhook_options.has_value()) {
    auto created = orchestration::WebhookDelivery::Create(redis, clock, *webhook_options, (*runtime)->metrics());
    if (!created.ok()) {
      std::fprintf(stderr, "configuration error: %s\n", std::string(created.status().message()).c_str());
      return server::kExitConfig;
    }
    webhook = std::move(*created);
  }
  stream::ConsumerOptions consumer_options;
  consumer_options.group = "journey";
  consumer_options.replica_id = cfg.replica_id;
  consumer_options.partitions = cfg.partitions;
  consumer_options.batch_size = absl::GetFlag(FLAGS_consumer_batch_size);
  consumer_options.apply_threads = absl::GetFlag(FLAGS_consumer_apply_threads);
  // One blocking read over all partitions instead of polling each every millisecond; it names
  // the keys of many slots, so not on Redis Cluster.
  if (applier_options.fenced_writes) consumer_options.block_read = absl::Milliseconds(absl::GetFlag(FLAGS_consumer_block_ms));
  stream::PartitionedConsumer consumer(redis, &applier, consumer_options, (*runtime)->metrics());
  journey_state::TimerScheduler timers(&consumer, &applier, &definitions, clock,
                                       {absl::Milliseconds(absl::GetFlag(FLAGS_timer_tick_ms))});
  journey_state::JourneyLogic logic(redis, &definitions, clock, {cfg.workspace});
  journey_state::JourneyService service(&logic);

  (*runtime)->AddService(&service, "journey.state.v1.Journey");
  (*runtime)->AddWorker(&consumer);
  (*runtime)->AddWorker(&timers);
  if (webhook != nullptr) (*runtime)->AddWorker(webhook.get());
  log::Info("triggers loaded", {{"dir", triggers_dir}, {"triggers", std::to_string(trigger_count)},
                                {"webhook", webhook != nullptr ? webhook_options->url : "off"}});
  log::Info("journey definition loaded", {{"file", definition_path},
                                          {"id", definitions.Current()->id()},
                                          {"version", std::to_string(definitions.Current()->version())}});
  return (*runtime)->Run();
}
