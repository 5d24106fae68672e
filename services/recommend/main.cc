// journey-recommend: wiring only. Parse flags, load the catalogs, build the model, the
// stream learner and the feedback writer, serve, drain on SIGTERM.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/flags/flag.h"
#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/orchestration/trigger_config.h"
#include "common/server/service_runtime.h"
#include "common/time/clock.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/experiment_admin.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/experiment_config.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/feedback.h"
#include "services/recommend/item_model.h"
#include "services/recommend/offer_catalog.h"
#include "services/recommend/periodic_task.h"
#include "services/recommend/product_catalog.h"
#include "services/recommend/queued_health.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/recommend_service.h"
#include "services/recommend/recommendation_queues.h"
#include "services/recommend/stream_learner.h"

ABSL_FLAG(std::string, offers_file, "", "offer catalog YAML (default <config_dir>/offers/default.yaml)");
ABSL_FLAG(std::string, products_file, "",
          "product catalog, CSV or JSON (default <config_dir>/products/default.csv when it exists)");
ABSL_FLAG(std::string, experiments_dir, "",
          "experiment and holdout definitions, *.yaml (default <config_dir>/experiments; missing = none)");
ABSL_FLAG(int, redis_timeout_ms, 50, "longest wait for a request's Redis read before answering degraded");
ABSL_FLAG(int, max_per_category, 4, "diversity: at most this many recommended products of one category");
ABSL_FLAG(std::string, triggers_dir, "",
          "orchestration rules for promotional offers (default <config_dir>/triggers; none there: no rules)");
ABSL_FLAG(int, recommend_threads, 4,
          "threads answering GetRecommendations (each holds one call through its Redis round trip)");
ABSL_FLAG(int64_t, recommend_seed, 0, "seed for exploration (0 = random); fixed only for experiments");

namespace {

int ConfigError(const std::string& message) {
  std::fprintf(stderr, "configuration error: %s\n", message.c_str());
  journey::log::Error("configuration error", {{"error", message}});
  return journey::server::kExitConfig;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace journey;
  using namespace journey::recommend;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"recommend", 50054, 9094});
  auto runtime = server::ServiceRuntime::Create(cfg);
  if (!runtime.ok()) return ConfigError(std::string(runtime.status().message()));

  std::string offers_file = absl::GetFlag(FLAGS_offers_file);
  if (offers_file.empty()) offers_file = cfg.config_dir + "/offers/default.yaml";
  auto offers = LoadOffersFile(offers_file);
  if (!offers.ok()) return ConfigError("--offers_file: " + std::string(offers.status().message()));
  // The file is version 0: a catalog applied through the admin RPC (version >= 1) wins.
  auto catalog = OfferCatalog::Build(std::move(*offers), 0);
  if (!catalog.ok()) return ConfigError("--offers_file: " + offers_file + ": " + std::string(catalog.status().message()));

  ProductCatalog products;
  std::string products_file = absl::GetFlag(FLAGS_products_file);
  if (products_file.empty() && std::filesystem::exists(cfg.config_dir + "/products/default.csv")) {
    products_file = cfg.config_dir + "/products/default.csv";
  }
  if (!products_file.empty()) {
    auto loaded = LoadProductsFile(products_file);
    if (!loaded.ok()) return ConfigError("--products_file: " + std::string(loaded.status().message()));
    if (auto st = products.Upsert(*loaded); !st.ok()) {
      return ConfigError("--products_file: " + products_file + ": " + std::string(st.message()));
    }
  }
  std::string experiments_dir = absl::GetFlag(FLAGS_experiments_dir);
  if (experiments_dir.empty()) experiments_dir = cfg.config_dir + "/experiments";
  auto experiment_config = LoadExperimentsDir(experiments_dir);
  if (!experiment_config.ok()) {
    return ConfigError("--experiments_dir: " + std::string(experiment_config.status().message()));
  }
  if (absl::GetFlag(FLAGS_redis_timeout_ms) <= 0) return ConfigError("--redis_timeout_ms: must be > 0");
  if (absl::GetFlag(FLAGS_recommend_threads) < 1 || absl::GetFlag(FLAGS_recommend_threads) > 256) {
    return ConfigError("--recommend_threads: must be 1..256");
  }
  std::string triggers_dir = absl::GetFlag(FLAGS_triggers_dir);
  if (triggers_dir.empty()) triggers_dir = cfg.config_dir + "/triggers";
  auto orchestration_config = orchestration::LoadTriggerDir(triggers_dir);
  if (!orchestration_config.ok()) {
    return ConfigError("--triggers_dir: " + std::string(orchestration_config.status().message()));
  }

  if (auto up = (*runtime)->WaitForRedis(); !up.ok()) {
    log::Error("dependency unreachable", {{"error", std::string(up.message())}});
    return server::kExitDependency;
  }
  storage::RedisClient* redis = (*runtime)->redis();
  const Clock* clock = RealClock::Get();

  OfferCatalogStore offer_store(*catalog);
  ItemModel model;
  OfferStatsCache stats;
  FeedbackOptions feedback_options;
  feedback_options.workspace = cfg.workspace;
  feedback_options.cooldown_after_conversion = orchestration_config->rules.cooldown_after_conversion;
  feedback_options.cooldown_after_dismissal = orchestration_config->rules.cooldown_after_dismissal;
  Feedback feedback(feedback_options, redis, &stats, clock);

  RecommendOptions options;
  options.workspace = cfg.workspace;
  options.redis_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_redis_timeout_ms));
  options.max_per_category = absl::GetFlag(FLAGS_max_per_category);
  options.seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_recommend_seed));
  const size_t experiment_count = experiment_config->experiments.size();
  const uint32_t holdout_bp = experiment_config->holdout.assignment.share_bp;
  ExperimentStore experiments(std::make_shared<const ExperimentSet>(cfg.workspace, std::move(*experiment_config)));
  ExperimentRecorderOptions recorder_options;
  recorder_options.workspace = cfg.workspace;
  ExperimentRecorder recorder(recorder_options, redis, &experiments, clock);
  feedback.SetExperimentRecorder(&recorder);

  RecommendLogic logic(options, redis, &offer_store, &products, &model, &stats, clock);
  PromotionGate promotion_gate(redis, clock, orchestration_config->rules, cfg.workspace);
  logic.SetPromotionGate(&promotion_gate);
  logic.SetExperiments(&experiments);
  logic.SetServedListener([&feedback, &recorder](const ServedRecommendation& s) {
    feedback.OnServed(s);
    recorder.RecordExposures(s.user_id, s.exposures, s.served_at);
  });

  StreamLearnerOptions learner_options;
  learner_options.workspace = cfg.workspace;
  learner_options.partitions = cfg.partitions;
  StreamLearner learner(redis, &model, learner_options, clock);
  learner.SetAliasCache(logic.aliases());
  learner.SetOrderListener([&feedback, &recorder](const std::vector<CompletedOrder>& orders) {
    feedback.OnOrders(orders);
    recorder.OnOrders(orders);
  });

  // Applied definitions (ApplyExperiments) win over the files, also after a restart.
  ExperimentAdmin experiment_admin(cfg.workspace, redis, &experiments, clock);
  if (absl::Status synced = experiment_admin.SyncFromRedis(); !synced.ok()) {
    log::Warn("applied experiments not loaded; running the files'", {{"error", std::string(synced.message())}});
  }
  PeriodicTask experiments_sync("experiments sync", absl::Seconds(1),
                                [&experiment_admin] { return experiment_admin.SyncFromRedis(); });

  CatalogAdmin admin(cfg.workspace, redis, &offer_store, &products);
  PeriodicTask catalog_sync("offer catalog sync", absl::Seconds(1), [&admin] { return admin.SyncFromRedis(); });
  PeriodicTask stats_refresh("offer stats refresh", absl::Seconds(2), [&feedback] { return feedback.RefreshCache(); });

  RecommendService service(&logic, &admin, &feedback);
  service.SetExperiments(&experiments, &recorder, &experiment_admin);
  (*runtime)->AddService(&service, "journey.recommend.v1.Recommend");
  // Health checks on the same queues: gRPC's default health service is a callback service,
  // and one callback method starts gRPC's callback threads (recommendation_queues.h).
  QueuedHealth health;
  RecommendationQueues recommendation_queues(&service, absl::GetFlag(FLAGS_recommend_threads), &health);
  (*runtime)->SetBuilderHook([&recommendation_queues](grpc::ServerBuilder& b) {
    recommendation_queues.AddTo(b);
    // The runtime's API-key admin and reflection are sync services: one waiting thread for
    // their rare calls instead of up to two, each of which takes turns as the poller.
    b.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
    b.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
    b.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 1);
  });
  (*runtime)->AddWorker(&learner);
  (*runtime)->AddWorker(&feedback);
  (*runtime)->AddWorker(&recorder);
  (*runtime)->AddWorker(&catalog_sync);
  (*runtime)->AddWorker(&experiments_sync);
  (*runtime)->AddWorker(&stats_refresh);
  (*runtime)->AddWorker(&recommendation_queues);  // last added, first stopped
  log::Info("offer catalog loaded", {{"file", offers_file}, {"offers", std::to_string((*catalog)->offers().size())},
                                     {"products", std::to_string(products.size())},
                                     {"experiments", std::to_string(experiment_count)},
                                     {"holdout_bp", std::to_string(holdout_bp)}});
  return (*runtime)->Run();
}
