#include "services/recommend/offer_ranker.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace journey::recommend {
namespace {

// A uniform draw in [0, 1) from the top 53 bits: what uniform_real_distribution computes
// through generate_canonical, without its loop and long-double arithmetic (a candidate
// costs one draw, and a request scores tens of candidates).
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// A draw from Beta(a, b). Most offers have a == 1 (no clicks yet) or b == 1, where the
// inverse CDF is exact and far cheaper than two gamma draws.
double SampleBeta(double a, double b, std::mt19937_64& rng) {
  if (a == 1.0 && b == 1.0) return Uniform01(rng);
  if (a == 1.0) return 1.0 - std::pow(1.0 - Uniform01(rng), 1.0 / b);
  if (b == 1.0) return std::pow(Uniform01(rng), 1.0 / a);
  std::gamma_distribution<double> ga(a, 1.0), gb(b, 1.0);
  const double x = ga(rng), y = gb(rng);
  return x + y > 0 ? x / (x + y) : 0.5;
}

template <typename Range>
bool Contains(const Range& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The first of the offer's segments the customer is in, or nullptr.
const std::string* MatchedSegment(const v1::Offer& o, const CustomerContext& c) {
  for (const auto& s : o.segments()) {
    if (Contains(c.segments, s)) return &s;
  }
  return nullptr;
}

}  // namespace

const OfferStatsTable::Stage* OfferStatsTable::ForStage(absl::string_view stage) const {
  auto it = by_stage_.find(stage);
  return it == by_stage_.end() ? nullptr : &it->second;
}

OfferOutcomes OfferStatsTable::Get(const Stage* stage, uint64_t offer_id_hash) {
  if (stage == nullptr) return {};
  auto it = stage->find(offer_id_hash);
  return it == stage->end() ? OfferOutcomes{} : it->second;
}

OfferOutcomes OfferStatsTable::Get(absl::string_view offer_id, absl::string_view stage) const {
  return Get(ForStage(stage), OfferIdHash(offer_id));
}

int64_t OfferStatsTable::TotalConversions(uint64_t offer_id_hash) const {
  auto it = conversions_.find(offer_id_hash);
  return it == conversions_.end() ? 0 : it->second;
}

int64_t OfferStatsTable::TotalConversions(absl::string_view offer_id) const {
  return TotalConversions(OfferIdHash(offer_id));
}

void OfferStatsTable::Add(absl::string_view offer_id, absl::string_view stage, const OfferOutcomes& delta) {
  const uint64_t id = OfferIdHash(offer_id);
  OfferOutcomes& o = by_stage_[stage][id];
  o.impressions += delta.impressions;
  o.clicks += delta.clicks;
  o.conversions += delta.conversions;
  if (delta.conversions != 0) conversions_[id] += delta.conversions;
}

std::string HumanName(const std::string& name) {
  std::string out = absl::AsciiStrToLower(name);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string OfferRanker::Ineligible(const CompiledOffer& c, const CustomerContext& customer,
                                    const OfferStatsView* stats) const {
  std::shared_ptr<const OfferStatsTable> table = stats != nullptr ? stats->Table() : nullptr;
  return Ineligible(c, customer, table.get());
}

const char* OfferRanker::Ineligible(const CompiledOffer& c, const CustomerContext& customer,
                                    const OfferStatsTable* stats) const {
  if (customer.placement != v1::PLACEMENT_UNSPECIFIED && c.placement_mask != 0 &&
      (c.placement_mask & (1u << customer.placement)) == 0) {
    return "placement";
  }
  if (!customer.degraded && !Contains(c.offer.stages(), customer.stage)) return "stage";
  return IneligibleCandidate(c, customer, stats);
}

const char* OfferRanker::IneligibleCandidate(const CompiledOffer& c, const CustomerContext& customer,
                                             const OfferStatsTable* stats) const {
  const v1::Offer& o = c.offer;
  if (customer.now < c.valid_from || customer.now >= c.valid_to) return "validity";
  if (customer.degraded) {
    // Unknown customer state: nothing that depends on it.
    if (c.needs_customer_state) return "degraded";
  } else {
    if (c.has_audience) {
      const bool in_segment = MatchedSegment(o, customer) != nullptr;
      const bool is_persona = !customer.persona.empty() && Contains(o.personas(), customer.persona);
      if (!in_segment && !is_persona) return "segment";
    }
    if (!o.consent_purpose().empty()) {
      auto it = customer.consent.find(o.consent_purpose());
      if (it == customer.consent.end() || !it->second) return "consent";
    }
    if (o.cap_per_day() > 0 && !customer.shown_today.empty()) {
      auto it = customer.shown_today.find(c.id_hash);
      if (it != customer.shown_today.end() && it->second >= o.cap_per_day()) return "cap_per_day";
    }
    if (o.cap_lifetime() > 0 && !customer.shown_lifetime.empty()) {
      auto it = customer.shown_lifetime.find(c.id_hash);
      if (it != customer.shown_lifetime.end() && it->second >= o.cap_lifetime()) return "cap_lifetime";
    }
    // A product offer for something the customer already bought is pointless.
    if (!c.product_id.empty() && Contains(customer.purchased_product_ids, c.product_id)) return "already_bought";
  }
  if (o.budget_conversions() > 0 && stats != nullptr && stats->TotalConversions(c.id_hash) >= o.budget_conversions()) {
    return "budget";
  }
  return "";
}

std::vector<RankedOffer> OfferRanker::Rank(const OfferCatalog& catalog, const CustomerContext& customer,
                                           const OfferStatsView* stats, size_t limit, std::mt19937_64& rng,
                                           const RankVariant& variant) const {
  // 16 bytes a candidate, ordered by score then by id rank: the sort moves and compares
  // no strings, and what only returned offers need (statistics for the reason, the
  // matched segment) is looked up again for those few.
  struct Scored {
    double score;
    uint32_t index;     // into catalog.offers()
    uint32_t id_order;  // CompiledOffer::id_order
  };
  const std::shared_ptr<const OfferStatsTable> table = stats != nullptr ? stats->Table() : nullptr;
  const OfferStatsTable::Stage* stage_stats = table != nullptr ? table->ForStage(customer.stage) : nullptr;
  // The catalog's index already narrowed the offers to the stage and placement (or to
  // those a degraded answer may show); the filters below are the rest.
  const std::vector<uint32_t>& candidates = customer.degraded ? catalog.DegradedCandidates(customer.placement)
                                                              : catalog.Candidates(customer.stage, customer.placement);
  const std::vector<CompiledOffer>& offers = catalog.offers();
  thread_local std::vector<Scored> scored;  // reused: no allocation per request
  scored.clear();
  for (uint32_t index : candidates) {
    const CompiledOffer& c = offers[index];
    if (*IneligibleCandidate(c, customer, table.get()) != '\0') continue;
    if (variant.only_offer_ids != nullptr && !Contains(*variant.only_offer_ids, c.offer.id())) continue;
    const v1::Offer& o = c.offer;
    // Eligible with an audience rule: the segment or persona matched.
    const double affinity = !customer.degraded && c.has_audience ? 1.5 : 1.0;
    // Thompson sampling: a draw from the posterior of the offer's reward rate in this stage,
    // so a new offer (wide posterior) gets tried and a proven one wins most of the time.
    double theta = 0.5;
    if (!variant.baseline) {
      const OfferOutcomes outcomes = OfferStatsTable::Get(stage_stats, c.id_hash);
      const double reward = static_cast<double>(outcomes.clicks) + options_.conversion_reward * outcomes.conversions;
      const double trials = std::max<double>(static_cast<double>(outcomes.impressions), reward);
      theta = variant.explore ? SampleBeta(1.0 + reward, 1.0 + (trials - reward), rng)
                              : (1.0 + reward) / (2.0 + trials);
    }
    // Priority tiers first (a whole point each), then weight x affinity x sampled rate.
    scored.push_back({o.priority() + o.weight() * affinity * theta, index, c.id_order});
  }
  auto better = [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.id_order < b.id_order;
  };
  // Only the head needs ordering: the answer plus room for what the per-kind limit skips.
  const size_t head = std::min(scored.size(), 3 * limit);
  if (head < scored.size()) std::nth_element(scored.begin(), scored.begin() + head, scored.end(), better);
  std::sort(scored.begin(), scored.begin() + head, better);
  // Reasons only for what is returned: they are strings, and most candidates are not.
  std::vector<RankedOffer> out;
  out.reserve(std::min(limit, scored.size()));
  int per_kind[v1::OfferKind_ARRAYSIZE] = {};
  // The same for every offer of the answer: built once, copied into each.
  std::string stage_reason, placement_reason;
  if (!variant.baseline) {
    stage_reason = customer.degraded ? "fallback: customer state unavailable"
                                     : absl::StrCat("stage: ", HumanName(customer.stage));
    if (customer.placement != v1::PLACEMENT_UNSPECIFIED) {
      placement_reason = absl::StrCat("placement: ", HumanName(PlacementName(customer.placement)));
    }
  }
  for (size_t n = 0; n < scored.size() && out.size() < limit; ++n) {
    if (n == head) std::sort(scored.begin() + head, scored.end(), better);  // rare: the head ran out
    const Scored& s = scored[n];
    const CompiledOffer& c = offers[s.index];
    const v1::Offer& o = c.offer;
    if (++per_kind[o.kind()] > options_.max_per_kind) continue;
    RankedOffer r;
    r.offer = &c;
    r.score = s.score;
    if (variant.baseline) {
      r.reasons.push_back("baseline: holdout, not personalized");
      out.push_back(std::move(r));
      continue;
    }
    r.reasons.reserve(4);
    r.reasons.push_back(stage_reason);
    if (customer.placement != v1::PLACEMENT_UNSPECIFIED && c.placement_mask != 0) {
      r.reasons.push_back(placement_reason);
    }
    const std::string* matched_segment =
        !customer.degraded && c.has_audience ? MatchedSegment(o, customer) : nullptr;
    if (matched_segment != nullptr) {
      r.reasons.push_back(absl::StrCat("segment: ", HumanName(*matched_segment)));
    } else if (!customer.degraded && !o.personas().empty()) {
      r.reasons.push_back(absl::StrCat("persona: ", HumanName(customer.persona)));
    }
    const OfferOutcomes outcomes = OfferStatsTable::Get(stage_stats, c.id_hash);
    if (!variant.explore) {
      r.reasons.push_back("exploration off");
    } else if (outcomes.impressions < 100) {
      r.reasons.push_back(absl::StrCat("exploring: ", outcomes.impressions, " impressions so far"));
    } else {
      r.reasons.push_back(absl::StrFormat("click rate %.1f%%", 100.0 * outcomes.clicks / outcomes.impressions));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace journey::recommend
