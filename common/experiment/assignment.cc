#include "common/experiment/assignment.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cmath>
#include <memory>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace journey::experiment {

uint32_t AssignmentBucket(absl::string_view workspace, absl::string_view salt, absl::string_view customer_id) {
  // Length-prefixed parts, so ("ab", "c") and ("a", "bc") never collide.
  const std::string input = absl::StrCat(workspace.size(), ":", workspace, salt.size(), ":", salt, customer_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  // OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider registry on every
  // call (about 80% of its cost on this input size); the request path hashes once per layer,
  // so the algorithm is fetched once and each thread keeps its context. Same digest.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int length = 0;
  if (kSha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), kSha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  }
  uint64_t head = 0;
  for (int i = 0; i < 8; ++i) head = (head << 8) | digest[i];
  return static_cast<uint32_t>(head % kAssignmentBuckets);
}

bool ParseShare(absl::string_view text, uint32_t* bp) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  double x = 0;
  const bool percent = absl::ConsumeSuffix(&s, "%");
  if (!absl::SimpleAtod(s, &x) || !std::isfinite(x)) return false;
  if (percent) x /= 100.0;
  if (x < 0 || x > 1) return false;
  *bp = static_cast<uint32_t>(std::llround(x * kAssignmentBuckets));
  return true;
}

bool InHoldout(const HoldoutConfig& holdout, absl::string_view workspace, absl::string_view customer_id) {
  return AssignmentBucket(workspace, holdout.salt, customer_id) < holdout.share_bp;
}

}  // namespace journey::experiment
