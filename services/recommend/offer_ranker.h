// Which offers a customer may see now, and in what order: eligibility (stage, placement,
// validity, segments/personas, consent, frequency caps, budget) and scoring (priority,
// weight, segment affinity, Thompson sampling over each offer's observed outcomes in the
// stage), with a per-kind diversity limit. Pure: no I/O, randomness injected.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/recommend/offer_catalog.h"

namespace journey::recommend {

// Everything known about the customer that eligibility needs, read in the request's one
// round trip (or defaults when Redis could not answer).
struct CustomerContext {
  std::string stage;  // upper-case stage name; empty = unknown
  std::vector<std::string> segments;
  std::string persona;
  absl::flat_hash_map<std::string, bool> consent;      // purpose -> granted
  // Impressions by OfferIdHash(offer_id): the ranker looks these up for every capped
  // candidate, and a hashed id is a lookup without hashing a string per candidate.
  absl::flat_hash_map<uint64_t, int64_t> shown_today;     // impressions today
  absl::flat_hash_map<uint64_t, int64_t> shown_lifetime;  // impressions ever
  std::vector<std::string> purchased_product_ids;
  v1::Placement placement = v1::PLACEMENT_UNSPECIFIED;
  absl::Time now;
  // Redis did not answer: caps and consent are unknown, so only offers that need neither
  // are eligible, and the stage is ignored (any stage's unconditional offers qualify).
  bool degraded = false;
};

// Observed outcomes of one offer in one stage (all segments), for Thompson sampling.
struct OfferOutcomes {
  int64_t impressions = 0;
  int64_t clicks = 0;
  int64_t conversions = 0;
};

// Observed outcomes by (offer, stage), and total conversions per offer (for budgets).
// Immutable once published: a request takes the current table once and reads it without
// locks (two hash lookups per candidate, no string building).
class OfferStatsTable {
 public:
  // One stage's outcomes by OfferIdHash (the hot path hashes no strings per offer).
  using Stage = absl::flat_hash_map<uint64_t, OfferOutcomes>;
  const Stage* ForStage(absl::string_view stage) const;  // null when nothing was observed
  static OfferOutcomes Get(const Stage* stage, uint64_t offer_id_hash);
  OfferOutcomes Get(absl::string_view offer_id, absl::string_view stage) const;
  int64_t TotalConversions(uint64_t offer_id_hash) const;
  int64_t TotalConversions(absl::string_view offer_id) const;
  // While building, before the table is published.
  void Add(absl::string_view offer_id, absl::string_view stage, const OfferOutcomes& delta);

 private:
  absl::flat_hash_map<std::string, Stage> by_stage_;
  absl::flat_hash_map<uint64_t, int64_t> conversions_;
};

class OfferStatsView {
 public:
  virtual ~OfferStatsView() = default;
  // The current statistics (never null).
  virtual std::shared_ptr<const OfferStatsTable> Table() const = 0;
};

struct OfferRankerOptions {
  // At most this many offers of one kind in the answer (diversity).
  int max_per_kind = 2;
  // A conversion counts as this many clicks of reward in the Thompson posterior.
  double conversion_reward = 3.0;
};

// What an experiment variant or the holdout changes in ranking (defaults: production).
struct RankVariant {
  // Thompson sampling; off = the posterior mean, so a proven offer always wins.
  bool explore = true;
  // Only these offers may be shown (an experiment's offer set); null = every offer.
  const std::vector<std::string>* only_offer_ids = nullptr;
  // The holdout's non-personalized baseline: the customer context passed must be the
  // stateless one (degraded = true); offers are scored by priority and weight alone, with
  // no statistics and no randomness, so every holdout customer at a placement sees the same.
  bool baseline = false;
};

struct RankedOffer {
  const CompiledOffer* offer = nullptr;
  double score = 0;
  std::vector<std::string> reasons;
};

class OfferRanker {
 public:
  explicit OfferRanker(OfferRankerOptions options = {}) : options_(options) {}

  // Why an offer is not eligible for the customer now, or "" when it is. The one
  // definition of every filter; Rank applies it to the catalog's candidates only.
  std::string Ineligible(const CompiledOffer& offer, const CustomerContext& customer, const OfferStatsView* stats) const;
  const char* Ineligible(const CompiledOffer& offer, const CustomerContext& customer,
                         const OfferStatsTable* stats) const;

  std::vector<RankedOffer> Rank(const OfferCatalog& catalog, const CustomerContext& customer,
                                const OfferStatsView* stats, size_t limit, std::mt19937_64& rng,
                                const RankVariant& variant = {}) const;

 private:
  // The filters beyond stage and placement, which the catalog's index already applied.
  const char* IneligibleCandidate(const CompiledOffer& offer, const CustomerContext& customer,
                                  const OfferStatsTable* stats) const;

  OfferRankerOptions options_;
};

// Lower-case, spaces for underscores: "POST_PURCHASE" -> "post purchase" (for reasons).
std::string HumanName(const std::string& name);

}  // namespace journey::recommend
