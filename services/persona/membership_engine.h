// Segment membership, custom personas and RFM scores of one profile, from the workspace's
// current definitions: what ProfileEvaluator means in production. Used on every profile
// change (stream, CRM, consent) and by the scheduled re-evaluation.
#pragma once

#include "services/persona/profile_evaluator.h"
#include "services/persona/segment_catalog.h"

namespace journey::persona {

class MembershipEngine final : public ProfileEvaluator {
 public:
  explicit MembershipEngine(SegmentCatalog* catalog) : catalog_(catalog) {}

  std::vector<pb::SegmentChange> Evaluate(const std::string& workspace, absl::Time now, bool erased,
                                          pb::ProfileRecord* record) override;

  // The same evaluation against given definitions (no catalog): for estimates and tests.
  static std::vector<pb::SegmentChange> EvaluateWith(const WorkspaceSegments& segments, absl::Time now, bool erased,
                                                     pb::ProfileRecord* record);

 private:
  SegmentCatalog* catalog_;
};

}  // namespace journey::persona
