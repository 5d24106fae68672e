#include "common/auth/api_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace journey::auth {

absl::StatusOr<std::string> GenerateApiKey() {
  unsigned char secret[24];
  if (RAND_bytes(secret, sizeof(secret)) != 1) return absl::InternalError("RAND_bytes failed");
  return "jk_" + HexEncode(absl::string_view(reinterpret_cast<const char*>(secret), sizeof(secret)));
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string KeyIdOf(absl::string_view api_key) { return "k" + HexEncode(Sha256(api_key)).substr(0, 12); }

}  // namespace journey::auth
