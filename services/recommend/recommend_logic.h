// GetRecommendations: one pipelined Redis read (journey and persona snapshots, frequency
// caps), then everything in process: eligible offers ranked for the customer's stage, and
// products from the session model. When Redis is slow or down the answer comes from
// in-process fallbacks, marked degraded, within the request's budget.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/common/v1/common.pb.h"
#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/alias_cache.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/item_model.h"
#include "services/recommend/offer_ranker.h"
#include "services/recommend/offer_store.h"
#include "services/recommend/product_catalog.h"
#include "services/recommend/promotion_gate.h"

namespace journey::recommend {

struct RecommendOptions {
  std::string workspace = "default";
  // Longest wait for the request's one Redis round trip; past it the answer is degraded.
  absl::Duration redis_timeout = absl::Milliseconds(50);
  int default_limit = 10;
  int max_limit = 100;
  // Diversity: at most this many products of one category in the list.
  int max_per_category = 4;
  // The stage of a customer the journey service has not seen yet.
  std::string default_stage = "AWARENESS";
  // How many of the customer's recent products stand in for an empty current session.
  int recent_as_session = 3;
  OfferRankerOptions ranker;
  uint64_t seed = 0;  // 0 = from the OS; fixed in tests
};

// What was served, for caps, attribution and statistics (written asynchronously).
struct ServedRecommendation {
  std::string recommendation_id;
  std::string user_id;
  std::string stage;
  std::vector<std::string> segments;
  std::vector<std::string> offer_ids;
  // The served offers that have caps: only their counters need writing.
  std::vector<std::string> daily_capped_offer_ids;
  std::vector<std::string> lifetime_capped_offer_ids;
  std::vector<std::string> product_ids;
  absl::Time served_at;
  // The experiments (and the holdout) the answer was served under: exposures to record.
  std::vector<ExposureRecord> exposures;
};

class RecommendLogic {
 public:
  RecommendLogic(RecommendOptions options, storage::RedisClient* redis, OfferCatalogStore* offers,
                 ProductCatalog* products, ItemModel* model, const OfferStatsView* stats, const Clock* clock);

  // `budget`: time left for the request (e.g. from the gRPC deadline); Redis gets at most
  // min(budget / 2, redis_timeout).
  absl::StatusOr<v1::GetRecommendationsResponse> Recommend(const v1::GetRecommendationsRequest& request,
                                                          absl::Duration budget = absl::InfiniteDuration());
  // The same, written into `reply` (cleared first), which may live on the caller's arena:
  // the serving path builds the answer in place instead of copying it into the call.
  absl::Status RecommendInto(const v1::GetRecommendationsRequest& request, absl::Duration budget,
                             v1::GetRecommendationsResponse* reply);

  // Called after every answer that was not degraded (caps, attribution); must not block.
  void SetServedListener(std::function<void(const ServedRecommendation&)> listener) { listener_ = std::move(listener); }

  // Orchestration rules on promotional offers (optional; set before serving).
  void SetPromotionGate(const PromotionGate* gate) { promotion_gate_ = gate; }
  // Experiments and the holdout; unset = none (every customer personalized, no exposures).
  void SetExperiments(const ExperimentStore* experiments) { experiments_ = experiments; }

  uint64_t degraded_count() const { return degraded_.load(); }
  // Ids known to belong to another customer; the stream learner feeds it MERGEs.
  AliasCache* aliases() { return &aliases_; }

 private:
  struct Snapshots {
    bool ok = false;
    journey::common::v1::JourneySnapshot journey;
    journey::common::v1::PersonaSnapshot persona;
    bool has_journey = false;
  };
  // The one pipelined read. With `check_alias`, the id's alias key rides along; when it
  // names another customer, *uid becomes that customer and their state is read (the only
  // second round trip, once per id and replica: the answer is cached).
  Snapshots Read(std::string* uid, bool check_alias, absl::Time now, absl::Duration timeout, CustomerContext* customer);
  // kSession: the session model (production); kPopularity: an experiment's popularity
  // ranking (trending/popular, the customer's purchases still filtered out); kBaseline: the
  // holdout's (trending/popular in stock, nothing about the customer).
  enum class ProductMode { kSession, kPopularity, kBaseline };
  void RankProducts(const v1::GetRecommendationsRequest& request, const std::string& uid, const Snapshots& snap,
                    size_t limit, ProductMode mode, v1::GetRecommendationsResponse* out) const;
  std::string NewRecommendationId();
  std::mt19937_64& Rng();

  const RecommendOptions options_;
  storage::RedisClient* redis_;
  OfferCatalogStore* offers_;
  ProductCatalog* products_;
  ItemModel* model_;
  const OfferStatsView* stats_;
  const Clock* clock_;
  OfferRanker ranker_;
  std::function<void(const ServedRecommendation&)> listener_;
  const PromotionGate* promotion_gate_ = nullptr;
  const ExperimentStore* experiments_ = nullptr;
  AliasCache aliases_;
  std::atomic<uint64_t> degraded_{0};
  std::atomic<uint64_t> rng_streams_{0};
};

}  // namespace journey::recommend
