#include "common/experiment/assignment.h"

#include <openssl/sha.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace journey::experiment {

uint32_t AssignmentBucket(absl::string_view workspace, absl::string_view salt, absl::string_view customer_id) {
  // Length-prefixed parts, so ("ab", "c") and ("a", "bc") never collide.
  const std::string input = absl::StrCat(workspace.size(), ":", workspace, salt.size(), ":", salt, customer_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  uint64_t head = 0;
  for (int i = 0; i < 8; ++i) head = (head << 8) | digest[i];
  return static_cast<uint32_t>(head % kAssignmentBuckets);
}

bool InHoldout(const HoldoutConfig& holdout, absl::string_view workspace, absl::string_view customer_id) {
  return AssignmentBucket(workspace, holdout.salt, customer_id) < holdout.share_bp;
}

}  // namespace journey::experiment
