// API key material: generating a key, and the SHA-256 that is all the suite ever stores or
// compares. A key is "jk_" + 48 hex digits (24 random bytes from OpenSSL's RAND_bytes).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace journey::auth {

absl::StatusOr<std::string> GenerateApiKey();
// 32 raw bytes.
std::string Sha256(absl::string_view data);
std::string HexEncode(absl::string_view bytes);
// The key id shown in lists and logs: "k" + the first 12 hex digits of the key's SHA-256.
// Stable, so every replica inserting the same bootstrap key writes the same record.
std::string KeyIdOf(absl::string_view api_key);

// Bootstrap keys are chosen by operators: at least this long.
inline constexpr size_t kMinApiKeyLength = 20;

}  // namespace journey::auth
