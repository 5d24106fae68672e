#include "services/persona/membership_engine.h"

#include <set>

#include "services/persona/condition_evaluator.h"
#include "services/persona/proto_time.h"
#include "services/persona/rfm.h"

namespace journey::persona {

std::vector<pb::SegmentChange> MembershipEngine::Evaluate(const std::string& workspace, absl::Time now, bool erased,
                                                          pb::ProfileRecord* record) {
  return EvaluateWith(*catalog_->Get(workspace), now, erased, record);
}

std::vector<pb::SegmentChange> MembershipEngine::EvaluateWith(const WorkspaceSegments& segments, absl::Time now,
                                                              bool erased, pb::ProfileRecord* record) {
  pb::Profile* p = record->mutable_profile();
  const std::set<std::string> before(p->segments().begin(), p->segments().end());
  std::set<std::string> after;
  if (!erased) {
    // RFM first: segments and personas may test it.
    auto values = RfmValuesOf(*record, now);
    if (values && segments.rfm.population() > 0) {
      *p->mutable_rfm() = ScoreRfm(segments.rfm, *values);
    } else {
      p->clear_rfm();
    }
    // Personas next (segments may test `persona`): the highest-priority match is primary.
    p->clear_persona_scores();
    const pb::SegmentDefinition* primary = nullptr;
    for (size_t i = 0; i < segments.definitions.size(); ++i) {
      const pb::SegmentDefinition& d = segments.definitions[i];
      if (!d.is_persona()) continue;
      const double score = segments.conditions[i].Score(*record, now);
      (*p->mutable_persona_scores())[d.id()] = score;
      if (score >= 1.0) {
        after.insert(d.id());
        if (primary == nullptr || d.priority() > primary->priority()) primary = &d;
      }
    }
    p->set_persona(primary != nullptr ? primary->id() : "");
    for (size_t i = 0; i < segments.definitions.size(); ++i) {
      const pb::SegmentDefinition& d = segments.definitions[i];
      if (!d.is_persona() && segments.conditions[i].Matches(*record, now)) after.insert(d.id());
    }
  }
  std::vector<pb::SegmentChange> changes;
  auto change = [&](const std::string& id, bool entered) {
    pb::SegmentChange c;
    c.set_user_id(p->user_id());
    c.set_segment(id);
    c.set_entered(entered);
    ToProto(now, c.mutable_time());
    changes.push_back(std::move(c));
  };
  for (const auto& id : before) {
    if (!after.count(id)) change(id, false);
  }
  for (const auto& id : after) {
    if (!before.count(id)) change(id, true);
  }
  p->clear_segments();
  for (const auto& id : after) p->add_segments(id);
  return changes;
}

}  // namespace journey::persona
