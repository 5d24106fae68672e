#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace journey::experiment {

// Assignment buckets are basis points: a share of 5% is 500 buckets out of 10,000.
inline constexpr uint32_t kAssignmentBuckets = 10000;

// A customer's bucket in [0, kAssignmentBuckets) for one allocation (the holdout, an
// experiment layer). It hashes workspace, salt and the canonical customer id with SHA-256, so
// every replica, every restart and every language that can compute SHA-256 agrees, and two
// allocations with different salts are independent of each other.
uint32_t AssignmentBucket(absl::string_view workspace, absl::string_view salt, absl::string_view customer_id);

// The global control group: customers in it get the non-personalized baseline and no
// triggered action. Which id decides is the caller's rule (the canonical customer id after
// identity stitching); the function only maps an id to in or out.
struct HoldoutConfig {
  uint32_t share_bp = 500;  // 5% by default
  std::string salt = "holdout";
};
bool InHoldout(const HoldoutConfig& holdout, absl::string_view workspace, absl::string_view customer_id);

// A share as config files write it, "5%" or "0.05", in basis points; false unless a number in
// [0, 1] (0% to 100%). One parser, so recommend's experiments and the journey's triggers read
// the same holdout from config/experiments/*.yaml.
bool ParseShare(absl::string_view text, uint32_t* bp);

}  // namespace journey::experiment
