// The offer catalog: offer definitions (YAML file or admin RPC), validated as a whole, and
// compiled into an immutable, versioned snapshot indexed by stage. Readers hold a
// shared_ptr to one snapshot, so a reload swaps the pointer and never blocks a request.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "journey/recommend/v1/recommend.pb.h"

namespace journey::recommend {

namespace v1 = ::journey::recommend::v1;

// One offer with its eligibility rules in the form the ranker needs.
struct CompiledOffer {
  v1::Offer offer;
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_to = absl::InfiniteFuture();
  uint32_t placement_mask = 0;  // bit per v1::Placement; 0 = every placement
  // Precomputed so the hot path reads flags instead of walking the proto.
  bool has_audience = false;         // segments or personas restrict it
  bool needs_customer_state = false;  // audience, consent or a cap: excluded when degraded
  std::string product_id;             // attributes["product_id"] of a product offer, else ""
  uint64_t id_hash = 0;               // OfferIdHash(offer.id()): the key of its statistics and caps
  uint32_t id_order = 0;              // rank of offer.id() among the catalog's ids: ties break on it
};

// The key of an offer in the in-process statistics.
uint64_t OfferIdHash(absl::string_view offer_id);

class OfferCatalog {
 public:
  // Validates every offer (ids unique, known kinds/placements, sane numbers) and indexes
  // them. Errors name the offer and field: "offers[2] (id \"x\").cap_per_day: ...".
  static absl::StatusOr<std::shared_ptr<const OfferCatalog>> Build(std::vector<v1::Offer> offers, int64_t version);

  int64_t version() const { return version_; }
  const std::vector<CompiledOffer>& offers() const { return offers_; }
  // Indexes into offers() of the offers eligible in `stage` (upper-case stage name) at
  // `placement` (UNSPECIFIED = any placement): a request only looks at these.
  const std::vector<uint32_t>& Candidates(const std::string& stage, v1::Placement placement) const;
  // Offers that need no customer state (no audience, consent or cap), any stage, at
  // `placement`: the candidates of a degraded answer.
  const std::vector<uint32_t>& DegradedCandidates(v1::Placement placement) const;
  const CompiledOffer* Find(const std::string& offer_id) const;

 private:
  int64_t version_ = 0;
  std::vector<CompiledOffer> offers_;
  static constexpr int kPlacements = 7;  // v1::Placement values, UNSPECIFIED included
  using ByPlacement = std::array<std::vector<uint32_t>, kPlacements>;
  absl::flat_hash_map<std::string, ByPlacement> by_stage_placement_;
  ByPlacement degraded_by_placement_;
  absl::flat_hash_map<std::string, uint32_t> by_id_;
};

// Parses an offer catalog document:
//   offers:
//     - id: guide-101
//       kind: content            # content|product|discount|free_shipping|bundle|loyalty_reward|referral|survey
//       title: "How to choose"
//       stages: [AWARENESS]
//       placements: [home, product_page]   # omitted = every placement
//       segments: [], personas: [], valid_from/valid_to: RFC 3339, priority, weight,
//       consent_purpose, cap_per_day, cap_lifetime, budget_conversions, attributes: {k: v}
// Unknown keys are errors (a typo must not silently widen eligibility). `source` names the
// file in error messages.
absl::StatusOr<std::vector<v1::Offer>> ParseOffersYaml(const std::string& text, const std::string& source);

// Reads and parses a catalog file; the error names the file and the field.
absl::StatusOr<std::vector<v1::Offer>> LoadOffersFile(const std::string& path);

// Placement names as written in YAML ("product_page") <-> enum.
bool ParsePlacement(const std::string& name, v1::Placement* out);
std::string PlacementName(v1::Placement placement);
std::string OfferKindName(v1::OfferKind kind);

}  // namespace journey::recommend
