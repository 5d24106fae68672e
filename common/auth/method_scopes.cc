#include "common/auth/method_scopes.h"

#include <algorithm>

namespace journey::auth {

const std::vector<absl::string_view>& AllScopes() {
  static const auto* scopes = new std::vector<absl::string_view>{
      kScopeIngestWrite, kScopeRecommendRead, kScopeJourneyRead, kScopePersonaRead, kScopePersonaSync, kScopeAdmin};
  return *scopes;
}

bool IsScope(absl::string_view scope) {
  const auto& all = AllScopes();
  return std::find(all.begin(), all.end(), scope) != all.end();
}

const std::vector<MethodPolicy>& AllMethodPolicies() {
  // Reads by the shop front (recommend:read includes its feedback), CRM sync (persona:sync),
  // marketers' dashboards (journey:read, persona:read); changing definitions, catalogs,
  // keys and erasing a customer need admin.
  static const auto* table = new std::vector<MethodPolicy>{
      {"journey.ingest.v1.Ingest/Track", kScopeIngestWrite},
      {"journey.ingest.v1.Ingest/Identify", kScopeIngestWrite},
      {"journey.ingest.v1.Ingest/Page", kScopeIngestWrite},
      {"journey.ingest.v1.Ingest/Alias", kScopeIngestWrite},
      {"journey.ingest.v1.Ingest/Batch", kScopeIngestWrite},
      {"journey.ingest.v1.Ingest/StreamEvents", kScopeIngestWrite, true},

      {"journey.state.v1.Journey/GetJourney", kScopeJourneyRead},
      {"journey.state.v1.Journey/GetFunnel", kScopeJourneyRead},
      {"journey.state.v1.Journey/GetJourneyMap", kScopeJourneyRead},
      {"journey.state.v1.Journey/WatchTransitions", kScopeJourneyRead, true},
      {"journey.state.v1.Journey/GetDefinition", kScopeJourneyRead},
      {"journey.state.v1.Journey/ApplyDefinition", kScopeAdmin},
      {"journey.state.v1.Journey/ValidateDefinition", kScopeAdmin},
      {"journey.state.v1.Journey/ListDefinitions", kScopeJourneyRead},
      {"journey.state.v1.Journey/DeleteDefinition", kScopeAdmin},
      {"journey.state.v1.Journey/GetActionStats", kScopeJourneyRead},

      {"journey.persona.v1.Persona/GetProfile", kScopePersonaRead},
      {"journey.persona.v1.Persona/UpsertProfiles", kScopePersonaSync, true},
      {"journey.persona.v1.Persona/ExportSegment", kScopePersonaSync, true},
      {"journey.persona.v1.Persona/WatchSegmentChanges", kScopePersonaSync, true},
      {"journey.persona.v1.Persona/SetConsent", kScopePersonaSync},
      {"journey.persona.v1.Persona/DeleteProfile", kScopeAdmin},
      {"journey.persona.v1.Persona/ExportProfile", kScopePersonaRead},
      {"journey.persona.v1.Persona/ListSegments", kScopePersonaRead},
      {"journey.persona.v1.Persona/ApplySegment", kScopeAdmin},
      {"journey.persona.v1.Persona/ValidateSegment", kScopeAdmin},
      {"journey.persona.v1.Persona/DeleteSegment", kScopeAdmin},
      {"journey.persona.v1.Persona/EstimateSegment", kScopePersonaRead},

      {"journey.recommend.v1.Recommend/GetRecommendations", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/ReportOutcome", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/GetOfferStats", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/ListOffers", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/ApplyOffers", kScopeAdmin},
      {"journey.recommend.v1.Recommend/ValidateOffers", kScopeAdmin},
      {"journey.recommend.v1.Recommend/DeleteOffer", kScopeAdmin},
      {"journey.recommend.v1.Recommend/UpsertProducts", kScopeAdmin},
      {"journey.recommend.v1.Recommend/GetExperimentResults", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/ListExperiments", kScopeRecommendRead},
      {"journey.recommend.v1.Recommend/ValidateExperiments", kScopeAdmin},
      {"journey.recommend.v1.Recommend/ApplyExperiments", kScopeAdmin},

      {"journey.auth.v1.ApiKeys/CreateKey", kScopeAdmin},
      {"journey.auth.v1.ApiKeys/ListKeys", kScopeAdmin},
      {"journey.auth.v1.ApiKeys/RevokeKey", kScopeAdmin},
  };
  return *table;
}

const MethodPolicy* FindMethodPolicy(absl::string_view full_method) {
  for (const MethodPolicy& p : AllMethodPolicies()) {
    if (p.method == full_method) return &p;
  }
  return nullptr;
}

}  // namespace journey::auth
