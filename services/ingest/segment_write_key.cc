#include "services/ingest/segment_write_key.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/auth/method_scopes.h"

namespace journey::ingest {

std::string WriteKeyOf(absl::string_view authorization) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.size() > 7 && absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return std::string(absl::StripAsciiWhitespace(authorization.substr(7)));
  }
  if (authorization.size() > 6 && absl::EqualsIgnoreCase(authorization.substr(0, 6), "basic ")) {
    std::string decoded;
    if (!absl::Base64Unescape(absl::StripAsciiWhitespace(authorization.substr(6)), &decoded)) return "";
    return decoded.substr(0, decoded.find(':'));
  }
  return "";
}

std::optional<HttpReply> CheckWriteKey(auth::CallGate* gate, absl::string_view authorization) {
  auth::Decision d = gate->Authorize(WriteKeyOf(authorization), auth::kScopeIngestWrite);
  if (d.status.ok()) return std::nullopt;
  int status = 403;
  if (absl::IsUnauthenticated(d.status)) status = 401;
  if (absl::IsResourceExhausted(d.status)) status = 429;  // the server adds Retry-After
  nlohmann::json body{{"success", false},
                      {"error", {{"code", absl::StatusCodeToString(d.status.code())},
                                 {"message", std::string(d.status.message())}}}};
  if (status == 429) body["error"]["retryAfterMs"] = std::max<int64_t>(1, absl::ToInt64Milliseconds(d.retry_after));
  return HttpReply{status, body.dump()};
}

}  // namespace journey::ingest
