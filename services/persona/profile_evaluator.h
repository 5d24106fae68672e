// The seam between profile updates and what is derived from the whole profile (segment
// membership, custom personas, RFM scores): called after every change to a profile, before
// it is stored, so membership is always current with the profile it was computed from.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

class ProfileEvaluator {
 public:
  virtual ~ProfileEvaluator() = default;
  // Updates profile.segments, persona, persona_scores and rfm of `record` (already refreshed
  // for `now`) and returns the membership changes against what the record held before.
  // `erased` = the profile is going away: every membership is left.
  virtual std::vector<::journey::persona::v1::SegmentChange> Evaluate(const std::string& workspace, absl::Time now,
                                                                      bool erased,
                                                                      ::journey::persona::v1::ProfileRecord* record) = 0;
};

}  // namespace journey::persona
