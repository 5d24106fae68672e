// Which offers a customer may see now, and in what order: eligibility (stage, placement,
// validity, segments/personas, consent, frequency caps, budget) and scoring (priority,
// weight, segment affinity, Thompson sampling over each offer's observed outcomes in the
// stage), with a per-kind diversity limit. Pure: no I/O, randomness injected.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
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
  absl::flat_hash_map<std::string, int64_t> shown_today;     // offer_id -> impressions today
  absl::flat_hash_map<std::string, int64_t> shown_lifetime;  // offer_id -> impressions ever
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

// Looks up outcomes by (offer_id, stage); also total conversions per offer (for budgets).
class OfferStatsView {
 public:
  virtual ~OfferStatsView() = default;
  virtual OfferOutcomes Get(const std::string& offer_id, const std::string& stage) const = 0;
  virtual int64_t TotalConversions(const std::string& offer_id) const = 0;
};

struct OfferRankerOptions {
  // At most this many offers of one kind in the answer (diversity).
  int max_per_kind = 2;
  // A conversion counts as this many clicks of reward in the Thompson posterior.
  double conversion_reward = 3.0;
};

struct RankedOffer {
  const CompiledOffer* offer = nullptr;
  double score = 0;
  std::vector<std::string> reasons;
};

class OfferRanker {
 public:
  explicit OfferRanker(OfferRankerOptions options = {}) : options_(options) {}

  // Why an offer is not eligible for the customer now, or "" when it is.
  std::string Ineligible(const CompiledOffer& offer, const CustomerContext& customer, const OfferStatsView* stats) const;

  std::vector<RankedOffer> Rank(const OfferCatalog& catalog, const CustomerContext& customer,
                                const OfferStatsView* stats, size_t limit, std::mt19937_64& rng) const;

 private:
  OfferRankerOptions options_;
};

// Lower-case, spaces for underscores: "POST_PURCHASE" -> "post purchase" (for reasons).
std::string HumanName(const std::string& name);

}  // namespace journey::recommend
