#include "common/orchestration/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace journey::orchestration {

std::string HmacSha256Hex(absl::string_view secret, absl::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string WebhookSignature(absl::string_view secret, absl::string_view timestamp, absl::string_view body) {
  return absl::StrCat("sha256=", HmacSha256Hex(secret, absl::StrCat(timestamp, ".", body)));
}

bool VerifyWebhookSignature(absl::string_view secret, absl::string_view timestamp, absl::string_view body,
                            absl::string_view header_value) {
  const std::string expected = WebhookSignature(secret, timestamp, body);
  return header_value.size() == expected.size() &&
         CRYPTO_memcmp(header_value.data(), expected.data(), expected.size()) == 0;
}

}  // namespace journey::orchestration
