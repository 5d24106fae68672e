#include "services/persona/persona_logic.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/persona/condition_evaluator.h"
#include "services/persona/proto_time.h"

namespace journey::persona {

absl::StatusOr<LoadedProfile> PersonaLogic::LoadResolved(const std::string& id) {
  auto loaded = store_->Load({{options_.workspace, id}});
  if (!loaded.ok()) return loaded.status();
  LoadedProfile lp = std::move((*loaded)[0]);
  if (!lp.exists) {
    auto target = store_->ResolveAlias(options_.workspace, id);
    if (!target.ok()) return target.status();
    if (!target->empty() && *target != id) {
      auto again = store_->Load({{options_.workspace, *target}});
      if (!again.ok()) return again.status();
      lp = std::move((*again)[0]);
    }
  }
  if (!lp.exists) return absl::NotFoundError(absl::StrCat("no profile for id '", id, "'"));
  TakeJourneyStage(&lp);
  aggregator_->Refresh(clock_->Now(), &lp.record);
  return lp;
}

absl::StatusOr<pb::Profile> PersonaLogic::GetProfile(const std::string& user_id, const std::string& anonymous_id) {
  const std::string& id = !user_id.empty() ? user_id : anonymous_id;
  if (id.empty()) return absl::InvalidArgumentError("user_id or anonymous_id is required");
  auto lp = LoadResolved(id);
  if (absl::IsNotFound(lp.status())) {
    pb::Profile empty;
    empty.set_user_id(id);
    empty.set_workspace_id(options_.workspace);
    empty.set_found(false);
    return empty;
  }
  if (!lp.ok()) return lp.status();
  pb::Profile out = std::move(*lp->record.mutable_profile());
  out.set_found(true);
  return out;
}

absl::Status PersonaLogic::MutateProfiles(const std::vector<std::string>& user_ids,
                                          const std::vector<Mutation>& mutations) {
  std::vector<size_t> pending(user_ids.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  for (int attempt = 0; attempt < options_.max_commit_attempts && !pending.empty(); ++attempt) {
    const absl::Time now = clock_->Now();
    std::vector<UserRef> users;
    for (size_t i : pending) users.push_back({options_.workspace, user_ids[i]});
    auto loaded = store_->Load(users);
    if (!loaded.ok()) return loaded.status();
    std::vector<ProfileWrite> writes;
    std::vector<size_t> written;
    // Several mutations of one user in a batch apply in order on one record.
    std::map<UserRef, size_t> first_of;
    std::vector<bool> dirty(pending.size(), false);
    for (size_t k = 0; k < pending.size(); ++k) {
      LoadedProfile& lp = (*loaded)[k];
      auto it = first_of.insert({lp.user, k}).first;
      LoadedProfile& target = (*loaded)[it->second];
      pb::ProfileRecord* record = &target.record;
      if (!mutations[pending[k]](record)) continue;
      if (record->profile().user_id().empty()) record->mutable_profile()->set_user_id(lp.user.user_id);
      if (record->profile().workspace_id().empty()) record->mutable_profile()->set_workspace_id(options_.workspace);
      dirty[it->second] = true;
    }
    std::set<UserRef> done;
    for (size_t k = 0; k < pending.size(); ++k) {
      LoadedProfile& lp = (*loaded)[k];
      if (first_of[lp.user] != k || done.count(lp.user)) continue;
      done.insert(lp.user);
      if (!dirty[k]) continue;
      TakeJourneyStage(&lp);
      aggregator_->RefreshForStorage(now, &lp.record);
      ProfileWrite w;
      w.user = lp.user;
      w.expected_revision = lp.revision;
      std::vector<pb::SegmentChange> changes;
      if (evaluator_ != nullptr) changes = evaluator_->Evaluate(lp.user.workspace, now, false, &lp.record);
      StageChanges(lp, std::move(changes), &w);
      lp.record.mutable_profile()->set_found(true);
      ToProto(now, lp.record.mutable_profile()->mutable_updated_at());
      w.snapshot = ProfileAggregator::Snapshot(lp.record, now);
      w.record = std::move(lp.record);
      writes.push_back(std::move(w));
      written.push_back(k);
    }
    auto committed = store_->Commit(writes);
    if (!committed.ok()) return committed.status();
    // Retry every mutation of a user whose write lost the race.
    std::set<UserRef> lost;
    for (size_t j = 0; j < written.size(); ++j) {
      if (!(*committed)[j]) lost.insert((*loaded)[written[j]].user);
    }
    std::vector<size_t> next;
    for (size_t k = 0; k < pending.size(); ++k) {
      if (lost.count((*loaded)[k].user)) next.push_back(pending[k]);
    }
    pending.swap(next);
  }
  if (!pending.empty()) {
    return absl::AbortedError(absl::StrCat(pending.size(), " profile writes kept losing the race; retry"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<int64_t, int64_t>> PersonaLogic::Estimate(const pb::Condition& condition) {
  const absl::Time now = clock_->Now();
  const CompiledCondition compiled(condition);
  int64_t members = 0, population = 0;
  std::string cursor = "0";
  do {
    auto page = store_->ScanRecords(options_.workspace, cursor, 500);
    if (!page.ok()) return page.status();
    cursor = page->cursor;
    if (auto s = store_->RefreshJourneyStages(options_.workspace, &page->records); !s.ok()) return s;
    for (auto& record : page->records) {
      ++population;
      aggregator_->Refresh(now, &record);
      if (compiled.Matches(record, now)) ++members;
    }
  } while (cursor != "0");
  return std::make_pair(members, population);
}

}  // namespace journey::persona
