#include "services/persona/segment_triggers.h"

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::persona {
namespace {

using orchestration::TriggerOn;

// The customer's zone, from the trait "timezone" (identify calls, CRM sync).
std::string TimeZoneTrait(const pb::ProfileRecord& record) {
  auto it = record.profile().traits().find("timezone");
  if (it == record.profile().traits().end()) return "";
  return it->second.value().string_value();
}

}  // namespace

SegmentTriggers::SegmentTriggers(orchestration::ActionOutbox* outbox, int partitions)
    : outbox_(outbox), partitions_(partitions) {}

bool SegmentTriggers::any() const {
  for (const auto& t : outbox_->config().triggers) {
    if (t.on == TriggerOn::kSegmentEntered || t.on == TriggerOn::kSegmentExited) return true;
  }
  return false;
}

absl::Status SegmentTriggers::OnPublished(const std::vector<const ProfileWrite*>& writes) const {
  std::vector<orchestration::ActionCandidate> candidates;
  for (const ProfileWrite* w : writes) {
    if (w->erase) continue;  // an erased customer gets nothing
    for (const pb::SegmentChange& change : w->changes) {
      const TriggerOn on = change.entered() ? TriggerOn::kSegmentEntered : TriggerOn::kSegmentExited;
      for (const auto& t : outbox_->config().triggers) {
        if (t.on != on || t.segment != change.segment()) continue;
        orchestration::ActionCandidate c;
        c.trigger = &t;
        c.partition = keys::PartitionOf(w->user.user_id, partitions_);
        c.cause_id = absl::StrCat("segment:", change.segment(), ":", change.entered() ? "in" : "out", ":",
                                  change.user_sequence());
        c.time_zone = TimeZoneTrait(w->record);
        for (const auto& [purpose, granted] : w->snapshot.consent()) c.consent[purpose] = granted;
        cpb::Action& a = c.action;
        a.set_workspace_id(w->user.workspace);
        a.set_user_id(w->user.user_id);
        a.set_cause(change.entered() ? cpb::ACTION_CAUSE_SEGMENT_ENTRY : cpb::ACTION_CAUSE_SEGMENT_EXIT);
        *a.mutable_caused_at() = change.time();
        a.set_reason(absl::StrCat("segment ", change.segment(), change.entered() ? " entered" : " exited"));
        a.set_stage(w->snapshot.journey_stage());
        candidates.push_back(std::move(c));
      }
    }
  }
  if (candidates.empty()) return absl::OkStatus();
  return outbox_->Decide(std::move(candidates)).status();
}

}  // namespace journey::persona
