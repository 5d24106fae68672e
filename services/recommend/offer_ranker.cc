#include "services/recommend/offer_ranker.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace journey::recommend {
namespace {

double SampleBeta(double a, double b, std::mt19937_64& rng) {
  std::gamma_distribution<double> ga(a, 1.0), gb(b, 1.0);
  const double x = ga(rng), y = gb(rng);
  return x + y > 0 ? x / (x + y) : 0.5;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The first of the offer's segments the customer is in, or "".
std::string MatchedSegment(const v1::Offer& o, const CustomerContext& c) {
  for (const auto& s : o.segments()) {
    if (Contains(c.segments, s)) return s;
  }
  return "";
}

}  // namespace

std::string HumanName(const std::string& name) {
  std::string out = absl::AsciiStrToLower(name);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string OfferRanker::Ineligible(const CompiledOffer& c, const CustomerContext& customer,
                                    const OfferStatsView* stats) const {
  const v1::Offer& o = c.offer;
  if (customer.placement != v1::PLACEMENT_UNSPECIFIED && c.placement_mask != 0 &&
      (c.placement_mask & (1u << customer.placement)) == 0) {
    return "placement";
  }
  if (customer.now < c.valid_from || customer.now >= c.valid_to) return "validity";
  if (customer.degraded) {
    // Unknown customer state: nothing that depends on it.
    if (!o.segments().empty() || !o.personas().empty() || !o.consent_purpose().empty() || o.cap_per_day() > 0 ||
        o.cap_lifetime() > 0) {
      return "degraded";
    }
  } else {
    if (!Contains({o.stages().begin(), o.stages().end()}, customer.stage)) return "stage";
    if (!o.segments().empty() || !o.personas().empty()) {
      const bool in_segment = !MatchedSegment(o, customer).empty();
      const bool is_persona = !customer.persona.empty() && Contains({o.personas().begin(), o.personas().end()}, customer.persona);
      if (!in_segment && !is_persona) return "segment";
    }
    if (!o.consent_purpose().empty()) {
      auto it = customer.consent.find(o.consent_purpose());
      if (it == customer.consent.end() || !it->second) return "consent";
    }
    if (o.cap_per_day() > 0) {
      auto it = customer.shown_today.find(o.id());
      if (it != customer.shown_today.end() && it->second >= o.cap_per_day()) return "cap_per_day";
    }
    if (o.cap_lifetime() > 0) {
      auto it = customer.shown_lifetime.find(o.id());
      if (it != customer.shown_lifetime.end() && it->second >= o.cap_lifetime()) return "cap_lifetime";
    }
    // A product offer for something the customer already bought is pointless.
    auto product = o.attributes().find("product_id");
    if (o.kind() == v1::OFFER_KIND_PRODUCT && product != o.attributes().end() &&
        Contains(customer.purchased_product_ids, product->second)) {
      return "already_bought";
    }
  }
  if (o.budget_conversions() > 0 && stats != nullptr && stats->TotalConversions(o.id()) >= o.budget_conversions()) {
    return "budget";
  }
  return "";
}

std::vector<RankedOffer> OfferRanker::Rank(const OfferCatalog& catalog, const CustomerContext& customer,
                                           const OfferStatsView* stats, size_t limit, std::mt19937_64& rng) const {
  struct Scored {
    const CompiledOffer* offer;
    double score;
    OfferOutcomes outcomes;
    std::string matched_segment;
  };
  std::vector<Scored> scored;
  auto consider = [&](const CompiledOffer& c) {
    if (!Ineligible(c, customer, stats).empty()) return;
    const v1::Offer& o = c.offer;
    Scored s{&c, 0, {}, ""};
    double affinity = 1.0;
    if (!customer.degraded) {
      s.matched_segment = MatchedSegment(o, customer);
      if (!s.matched_segment.empty() || !o.personas().empty()) affinity = 1.5;
    }
    // Thompson sampling: a draw from the posterior of the offer's reward rate in this stage,
    // so a new offer (wide posterior) gets tried and a proven one wins most of the time.
    s.outcomes = stats ? stats->Get(o.id(), customer.stage) : OfferOutcomes{};
    const double reward = static_cast<double>(s.outcomes.clicks) + options_.conversion_reward * s.outcomes.conversions;
    const double trials = std::max<double>(static_cast<double>(s.outcomes.impressions), reward);
    const double theta = SampleBeta(1.0 + reward, 1.0 + (trials - reward), rng);
    // Priority tiers first (a whole point each), then weight x affinity x sampled rate.
    s.score = o.priority() + o.weight() * affinity * theta;
    scored.push_back(std::move(s));
  };
  if (customer.degraded) {
    for (const auto& c : catalog.offers()) consider(c);
  } else {
    for (uint32_t i : catalog.ForStage(customer.stage)) consider(catalog.offers()[i]);
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.offer->offer.id() < b.offer->offer.id();
  });
  // Reasons only for what is returned: they are strings, and most candidates are not.
  std::vector<RankedOffer> out;
  absl::flat_hash_map<int, int> per_kind;
  for (const Scored& s : scored) {
    if (out.size() >= limit) break;
    const v1::Offer& o = s.offer->offer;
    if (++per_kind[o.kind()] > options_.max_per_kind) continue;
    RankedOffer r;
    r.offer = s.offer;
    r.score = s.score;
    r.reasons.push_back(customer.degraded ? "fallback: customer state unavailable"
                                          : absl::StrCat("stage: ", HumanName(customer.stage)));
    if (customer.placement != v1::PLACEMENT_UNSPECIFIED && s.offer->placement_mask != 0) {
      r.reasons.push_back(absl::StrCat("placement: ", HumanName(PlacementName(customer.placement))));
    }
    if (!s.matched_segment.empty()) {
      r.reasons.push_back(absl::StrCat("segment: ", HumanName(s.matched_segment)));
    } else if (!customer.degraded && !o.personas().empty()) {
      r.reasons.push_back(absl::StrCat("persona: ", HumanName(customer.persona)));
    }
    if (s.outcomes.impressions < 100) {
      r.reasons.push_back(absl::StrCat("exploring: ", s.outcomes.impressions, " impressions so far"));
    } else {
      r.reasons.push_back(absl::StrFormat("click rate %.1f%%", 100.0 * s.outcomes.clicks / s.outcomes.impressions));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace journey::recommend
