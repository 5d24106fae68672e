#include "services/persona/membership_engine.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

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
  // Runs for every profile write with every definition: sorted vectors of views instead of
  // sets of strings, and the stored lists and maps updated in place, so an evaluation that
  // changes nothing allocates (almost) nothing.
  pb::Profile* p = record->mutable_profile();
  std::vector<absl::string_view> before(p->segments().begin(), p->segments().end());
  if (!std::is_sorted(before.begin(), before.end())) std::sort(before.begin(), before.end());
  before.erase(std::unique(before.begin(), before.end()), before.end());  // a set, as stored lists always were
  std::vector<absl::string_view> after;
  if (!erased) {
    const size_t n = segments.definitions.size();
    std::vector<bool> matched(n, false);
    // RFM first: segments and personas may test it.
    auto values = RfmValuesOf(*record, now);
    if (values && segments.rfm.population() > 0) {
      *p->mutable_rfm() = ScoreRfm(segments.rfm, *values);
    } else {
      p->clear_rfm();
    }
    // Personas next (segments may test `persona`): the highest-priority match is primary.
    auto* scores = p->mutable_persona_scores();
    size_t personas = 0;
    const pb::SegmentDefinition* primary = nullptr;
    for (size_t i = 0; i < n; ++i) {
      const pb::SegmentDefinition& d = segments.definitions[i];
      if (!d.is_persona()) continue;
      ++personas;
      const double score = segments.conditions[i].Score(*record, now);
      (*scores)[d.id()] = score;
      if (score >= 1.0) {
        matched[i] = true;
        if (primary == nullptr || d.priority() > primary->priority()) primary = &d;
      }
    }
    if (scores->size() != personas) {  // a persona was deleted: keep only the current ones
      google::protobuf::Map<std::string, double> current;
      for (const pb::SegmentDefinition& d : segments.definitions) {
        if (d.is_persona()) current[d.id()] = scores->at(d.id());
      }
      scores->swap(current);
    }
    p->set_persona(primary != nullptr ? primary->id() : "");
    for (size_t i = 0; i < n; ++i) {
      const pb::SegmentDefinition& d = segments.definitions[i];
      if (!d.is_persona() && segments.conditions[i].Matches(*record, now)) matched[i] = true;
    }
    for (size_t i = 0; i < n; ++i) {
      if (matched[i]) after.push_back(segments.definitions[i].id());
    }
    if (!std::is_sorted(after.begin(), after.end())) std::sort(after.begin(), after.end());
  }
  std::vector<pb::SegmentChange> changes;
  if (before == after) return changes;
  auto change = [&](absl::string_view id, bool entered) {
    pb::SegmentChange c;
    c.set_user_id(p->user_id());
    c.set_segment(std::string(id));
    c.set_entered(entered);
    ToProto(now, c.mutable_time());
    changes.push_back(std::move(c));
  };
  std::vector<absl::string_view> left, entered;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(left));
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(entered));
  for (absl::string_view id : left) change(id, false);
  for (absl::string_view id : entered) change(id, true);
  // `before` views strings of p->segments(): rewrite them only now.
  std::vector<std::string> ids(after.begin(), after.end());
  p->clear_segments();
  for (std::string& id : ids) p->add_segments(std::move(id));
  return changes;
}

}  // namespace journey::persona
