// What happens after a recommendation is served: frequency-cap counters, attribution
// records, outcome statistics per offer/stage/segment (impressions at serve time, clicks
// and conversions reported or inferred from a later Order Completed), and the in-process
// view of those statistics that Thompson sampling and budgets read, and the orchestration
// cool-downs a conversion or dismissal starts. All writes but the cool-down of a reported
// outcome leave the request path: they are queued and flushed in batches, one pipeline per
// flush.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/server/service_runtime.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/offer_ranker.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/stream_learner.h"

namespace journey::recommend {

struct FeedbackOptions {
  std::string workspace = "default";
  // Caps and attribution records are written this soon after serving (a cap must hold on
  // the customer's next request)...
  absl::Duration flush_every = absl::Milliseconds(10);
  // ...outcome counters, summed in process, only this often: they are read back every
  // few seconds, and one HINCRBY per offer, stage and segment every 10 ms cost Redis more
  // than the requests themselves.
  absl::Duration counters_flush_every = absl::Seconds(1);
  size_t max_queue = 100000;  // commands; beyond it new writes are dropped and counted
  absl::Duration record_ttl = absl::Hours(24 * 7);
  // An order within this long after a recommendation counts as its conversion.
  absl::Duration attribution_window = absl::Hours(24);
  // Segments beyond the first few are not broken out in the statistics (bounded writes).
  int max_stat_segments = 3;
  // The orchestration cool-downs (config/triggers `orchestration:`) a reported conversion or
  // dismissal, or an order attributed to a recommendation, starts for the customer; zero =
  // none. Promotional offers and triggered actions stay silent until they end.
  absl::Duration cooldown_after_conversion = absl::ZeroDuration();
  absl::Duration cooldown_after_dismissal = absl::ZeroDuration();
};

// Outcome statistics in process, refreshed from Redis (which all replicas write). Each
// refresh publishes a new immutable table; requests read the one they took.
class OfferStatsCache final : public OfferStatsView {
 public:
  OfferStatsCache() : table_(std::make_shared<const OfferStatsTable>()) {}
  std::shared_ptr<const OfferStatsTable> Table() const override;
  OfferOutcomes Get(const std::string& offer_id, const std::string& stage) const { return Table()->Get(offer_id, stage); }
  int64_t TotalConversions(const std::string& offer_id) const { return Table()->TotalConversions(offer_id); }
  // Replaces everything from the stats hash (HGETALL reply).
  void Load(const storage::RedisReply& hash);
  // Direct updates (tests and simulations): copies the table, so not for the hot path.
  void Add(const std::string& offer_id, const std::string& stage, const OfferOutcomes& delta);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const OfferStatsTable> table_ ABSL_GUARDED_BY(mu_);
};

class Feedback final : public server::BackgroundWorker {
 public:
  Feedback(FeedbackOptions options, storage::RedisClient* redis, OfferStatsCache* cache, const Clock* clock);
  ~Feedback() override;

  // Hooks: RecommendLogic's served listener and StreamLearner's order listener. Never block.
  void OnServed(const ServedRecommendation& served);
  void OnOrders(const std::vector<CompletedOrder>& orders);

  // Reported clicks and conversions also count in experiments (unset = no experiments).
  void SetExperimentRecorder(ExperimentRecorder* recorder) { experiments_ = recorder; }

  absl::StatusOr<v1::ReportOutcomeResponse> ReportOutcome(const v1::ReportOutcomeRequest& request);
  absl::StatusOr<v1::GetOfferStatsResponse> GetOfferStats(const v1::GetOfferStatsRequest& request);
  // Reloads the cache from Redis (periodic task).
  absl::Status RefreshCache();

  // Sends everything queued now; returns when it was written (tests, drain).
  absl::Status Flush();
  uint64_t dropped() const { return dropped_; }

  void Start() override;
  void Stop() override;

 private:
  void Enqueue(std::vector<storage::RedisCommand> commands);
  absl::Status FlushQueued(bool with_counters);
  // Adds to the pending counters (summed in process, one HINCRBY per field per flush).
  void CountOutcome(const v1::RecommendationRecord& record, absl::string_view offer_id, absl::string_view outcome);

  const FeedbackOptions options_;
  storage::RedisClient* redis_;
  OfferStatsCache* cache_;
  const Clock* clock_;
  ExperimentRecorder* experiments_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<storage::RedisCommand> queue_;
  // A counter field "offer|stage|segment|outcome" kept as its parts: counting a served
  // offer hashes three short strings instead of first building the field (every served
  // offer is counted twice or more, on the request's thread); the field is built at flush.
  struct OutcomeField {
    std::string offer, stage, segment;
    char outcome;
  };
  struct OutcomeFieldView {
    absl::string_view offer, stage, segment;
    char outcome;
  };
  struct OutcomeFieldHash {
    using is_transparent = void;
    size_t operator()(const OutcomeFieldView& f) const;
    size_t operator()(const OutcomeField& f) const { return (*this)(OutcomeFieldView{f.offer, f.stage, f.segment, f.outcome}); }
  };
  struct OutcomeFieldEq {
    using is_transparent = void;
    static OutcomeFieldView View(const OutcomeField& f) { return {f.offer, f.stage, f.segment, f.outcome}; }
    static const OutcomeFieldView& View(const OutcomeFieldView& f) { return f; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const OutcomeFieldView& x = View(a);
      const OutcomeFieldView& y = View(b);
      return x.outcome == y.outcome && x.offer == y.offer && x.stage == y.stage && x.segment == y.segment;
    }
  };
  using OutcomeCounts = absl::flat_hash_map<OutcomeField, int64_t, OutcomeFieldHash, OutcomeFieldEq>;
  static void Increment(OutcomeCounts* counts, const OutcomeFieldView& field);
  OutcomeCounts pending_counts_;          // all-segments field -> increment
  OutcomeCounts pending_segment_counts_;  // per-segment field -> increment
  bool stop_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::mutex flush_mu_;
  std::thread thread_;
};

}  // namespace journey::recommend
