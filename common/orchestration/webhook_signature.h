// The signature a webhook receiver checks: header X-Journey-Signature = "sha256=" + hex of
// HMAC-SHA256(secret, "<X-Journey-Timestamp>.<body>"). Signing the timestamp with the body
// lets a receiver refuse old replays as well as forgeries.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace journey::orchestration {

inline constexpr absl::string_view kSignatureHeader = "X-Journey-Signature";
inline constexpr absl::string_view kTimestampHeader = "X-Journey-Timestamp";
inline constexpr absl::string_view kIdempotencyHeader = "X-Journey-Idempotency-Key";
inline constexpr absl::string_view kAttemptHeader = "X-Journey-Attempt";

// Lower-case hex HMAC-SHA256 of `message` under `secret`.
std::string HmacSha256Hex(absl::string_view secret, absl::string_view message);

// The header value for a body sent at `timestamp` (unix seconds, as sent in kTimestampHeader).
std::string WebhookSignature(absl::string_view secret, absl::string_view timestamp, absl::string_view body);

// Constant-time check of a received header value.
bool VerifyWebhookSignature(absl::string_view secret, absl::string_view timestamp, absl::string_view body,
                            absl::string_view header_value);

}  // namespace journey::orchestration
