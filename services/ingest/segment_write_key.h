// Segment's write key on ingest's HTTP API: the HTTP Basic user (password empty), or
// "Bearer <key>", checked by the process's CallGate for the ingest:write scope.
#pragma once

#include <optional>

#include "absl/strings/string_view.h"
#include "common/auth/call_gate.h"
#include "services/ingest/segment_http_handler.h"

namespace journey::ingest {

// The API key inside an Authorization header; "" when there is none or it is malformed.
std::string WriteKeyOf(absl::string_view authorization);

// nullopt when the request may be served, else its 401 / 403 / 429 reply.
std::optional<HttpReply> CheckWriteKey(auth::CallGate* gate, absl::string_view authorization);

}  // namespace journey::ingest
