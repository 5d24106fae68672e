// The one table that says which scope every RPC of every service needs. A method that is
// not in it is refused (fail closed), and tests/integration/auth_rpc_test.cc checks that
// every method of every proto service is listed and enforced.
#pragma once

#include <vector>

#include "absl/strings/string_view.h"

namespace journey::auth {

inline constexpr absl::string_view kScopeIngestWrite = "ingest:write";
inline constexpr absl::string_view kScopeRecommendRead = "recommend:read";
inline constexpr absl::string_view kScopeJourneyRead = "journey:read";
inline constexpr absl::string_view kScopePersonaRead = "persona:read";
inline constexpr absl::string_view kScopePersonaSync = "persona:sync";
inline constexpr absl::string_view kScopeAdmin = "admin";  // grants every scope

// Every scope a key may carry.
const std::vector<absl::string_view>& AllScopes();
bool IsScope(absl::string_view scope);

struct MethodPolicy {
  absl::string_view method;  // "journey.ingest.v1.Ingest/Track"
  absl::string_view scope;
  // Watch and export streams live as long as the client wants: no default deadline.
  bool long_lived = false;
};

// The whole table, for tests and docs.
const std::vector<MethodPolicy>& AllMethodPolicies();
// nullptr when the method is not listed.
const MethodPolicy* FindMethodPolicy(absl::string_view full_method);

}  // namespace journey::auth
