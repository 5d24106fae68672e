// Exposures and outcomes of experiments (and the holdout) in Redis, counted exactly once:
// a Lua script per exposure marks the customer's first exposure with HSETNX and bumps the
// variant's exposed count only then; a script per outcome counts a customer's conversion
// (or click) once, an order's revenue once per order id, and only within the attribution
// window after the customer's exposures. Both are idempotent, so a batch that failed is
// simply sent again, and a stream replayed after a restart counts nothing twice.
//
// Off the request path: RecordExposures only queues; a background thread sends the queue
// every `flush_every` in one pipeline. A crash loses what is queued (at most one flush
// interval of exposures, longer while Redis is down); outcomes from the stream come back
// when the restarted replica replays it, outcomes reported through ReportOutcome do not.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "common/time/clock.h"
#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/stream_learner.h"

namespace journey::recommend {

struct ExperimentRecorderOptions {
  std::string workspace = "default";
  absl::Duration flush_every = absl::Milliseconds(10);
  // A replica sends a customer's exposure to one experiment at most this often (the first
  // one always): later ones only move the "last exposure" the window counts from, so this
  // is also how much sooner than exact an attribution window may close.
  absl::Duration exposure_refresh = absl::Seconds(60);
  size_t max_queue = 200000;  // script calls; beyond it new ones are dropped and counted
};

// How long an experiment's records (members and totals) stay in Redis: kResultsRetention
// after the attribution window of the last exposure that can happen. For an experiment with
// an end that is fixed (end + window + retention); for the holdout and experiments without
// an end every exposure pushes it back (exposure + window + retention), so their records
// live as long as customers are exposed and disappear 90 days and one window after the last.
inline constexpr absl::Duration kResultsRetention = absl::Hours(24 * 90);
absl::Time ResultsExpireAt(const Experiment& experiment, absl::Time exposed_at);

enum class OutcomeKind { kConversion, kClick };

struct ExperimentOutcome {
  std::string customer_id;  // canonical
  OutcomeKind kind = OutcomeKind::kConversion;
  // Counts once per id across every path ("order:<id>", "rec:<recommendation id>"); empty
  // for clicks (a customer's click counts once anyway).
  std::string dedupe_id;
  double revenue = 0;
  absl::Time at;
};

class ExperimentRecorder final : public server::BackgroundWorker {
 public:
  ExperimentRecorder(ExperimentRecorderOptions options, storage::RedisClient* redis, const ExperimentStore* experiments,
                     const Clock* clock);
  ~ExperimentRecorder() override;

  // Never block (the request path and the stream learner call them).
  void RecordExposures(const std::string& customer_id, const std::vector<ExposureRecord>& exposures, absl::Time at);
  // Queues the outcome for every experiment it can still count in.
  void RecordOutcome(const ExperimentOutcome& outcome);
  void OnOrders(const std::vector<CompletedOrder>& orders);

  absl::StatusOr<v1::GetExperimentResultsResponse> Results(const std::string& experiment_id) const;

  // Sends everything queued now; returns when it was written (tests, drain).
  absl::Status Flush();
  uint64_t dropped() const { return dropped_.load(); }

  void Start() override;
  void Stop() override;

 private:
  void Enqueue(storage::RedisCommand command);

  const ExperimentRecorderOptions options_;
  storage::RedisClient* redis_;
  const ExperimentStore* experiments_;
  const Clock* clock_;
  const storage::RedisScript script_;  // exposures and outcomes: one script, so one pipeline
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<storage::RedisCommand> queue_;  // exposures and outcomes, in order
  // (experiment, customer) -> when this replica last sent that exposure.
  absl::flat_hash_map<std::string, absl::Time> sent_;
  bool stop_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::mutex flush_mu_;
  std::thread thread_;
};

}  // namespace journey::recommend
