#include "services/persona/profile_stream_handler.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"
#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

struct WorkingProfile {
  LoadedProfile* loaded = nullptr;
  bool touched = false;
  bool erased = false;  // ERASE or merged away: deleted at commit unless events recreate it
};

bool AlreadyApplied(const pb::ProfileRecord& record, uint32_t partition, const std::string& id) {
  auto it = record.applied_offsets().find(partition);
  return it != record.applied_offsets().end() && stream::PartitionedConsumer::IdLessOrEqual(id, it->second);
}

void MarkApplied(uint32_t partition, const std::string& id, pb::ProfileRecord* record) {
  (*record->mutable_applied_offsets())[partition] = id;
}

void EnsureIdentity(const UserRef& user, pb::ProfileRecord* record) {
  if (record->profile().user_id().empty()) record->mutable_profile()->set_user_id(user.user_id);
  if (record->profile().workspace_id().empty()) record->mutable_profile()->set_workspace_id(user.workspace);
}

std::string WorkspaceOf(const cpb::EventEnvelope& e) {
  return e.workspace_id().empty() ? std::string("default") : e.workspace_id();
}

}  // namespace

absl::Status ProfileStreamHandler::ApplyBatch(uint32_t partition, const std::vector<stream::StreamEntry>& entries) {
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    int conflicts = 0;
    if (absl::Status s = ApplyOnce(partition, entries, &conflicts); !s.ok()) return s;
    if (conflicts == 0) return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("partition ", partition, ": profile writes kept losing the race after ",
                                         options_.max_commit_attempts, " attempts"));
}

absl::Status ProfileStreamHandler::ApplyOnce(uint32_t partition, const std::vector<stream::StreamEntry>& entries,
                                             int* conflicts) {
  const absl::Time now = clock_->Now();

  // Every profile the batch touches, loaded in one round trip.
  std::set<UserRef> wanted;
  for (const stream::StreamEntry& e : entries) {
    const std::string ws = WorkspaceOf(e.envelope);
    if (e.envelope.canonical_user_id().empty()) continue;
    wanted.insert({ws, e.envelope.canonical_user_id()});
    if (e.envelope.kind() == cpb::ENVELOPE_KIND_MERGE && !e.envelope.previous_id().empty()) {
      wanted.insert({ws, e.envelope.previous_id()});
    }
  }
  std::vector<UserRef> users(wanted.begin(), wanted.end());
  auto loaded = store_->Load(users, &parsed_);
  if (!loaded.ok()) return loaded.status();
  std::map<UserRef, WorkingProfile> work;
  for (LoadedProfile& lp : *loaded) {
    work[lp.user].loaded = &lp;
    // Changes a crash kept from being published go out with this batch.
    if (HasUnpublished(lp)) work[lp.user].touched = true;
  }

  std::vector<storage::RedisCommand> extra;
  for (const stream::StreamEntry& e : entries) {
    const cpb::EventEnvelope& env = e.envelope;
    if (env.canonical_user_id().empty()) continue;  // nothing to key it by; ingest never sends these
    const UserRef user{WorkspaceOf(env), env.canonical_user_id()};
    WorkingProfile& w = work[user];
    pb::ProfileRecord& record = w.loaded->record;
    switch (env.kind()) {
      case cpb::ENVELOPE_KIND_MERGE: {
        if (env.previous_id().empty() || env.previous_id() == user.user_id) break;
        WorkingProfile& from = work[{user.workspace, env.previous_id()}];
        // The merged-away profile is deleted even when the merge itself was applied before
        // (a crash between the two writes): deleting is idempotent.
        from.touched = true;
        from.erased = true;
        extra.push_back({"SET", keys::PersonaAlias(user.workspace, env.previous_id()), user.user_id});
        if (AlreadyApplied(record, partition, e.id)) break;
        EnsureIdentity(user, &record);
        EnsureIdentity({user.workspace, env.previous_id()}, &from.loaded->record);
        aggregator_->Merge(from.loaded->record, now, &record);
        {
          // Keep the merged-away id's memberships so it is reported leaving them.
          pb::ProfileRecord kept;
          *kept.mutable_profile()->mutable_segments() = from.loaded->record.profile().segments();
          from.loaded->record.Swap(&kept);
        }
        MarkApplied(partition, e.id, &record);
        w.touched = true;
        w.erased = false;
        break;
      }
      case cpb::ENVELOPE_KIND_ERASE:
        if (AlreadyApplied(record, partition, e.id)) break;
        // Keep the old memberships until Evaluate reports them left; drop everything else.
        {
          pb::ProfileRecord kept;
          *kept.mutable_profile()->mutable_segments() = record.profile().segments();
          record.Swap(&kept);
        }
        w.touched = true;
        w.erased = true;
        break;
      default: {  // EVENT (and unspecified, treated as an event)
        if (AlreadyApplied(record, partition, e.id)) break;
        if (w.erased) {  // the id comes back after an erasure or a merge: a fresh profile
          pb::ProfileRecord fresh;
          *fresh.mutable_profile()->mutable_segments() = record.profile().segments();
          record.Swap(&fresh);
          w.erased = false;
        }
        EnsureIdentity(user, &record);
        aggregator_->ApplyEvent(env.event(), ProfileAggregator::EventTime(env, now), now, &record);
        MarkApplied(partition, e.id, &record);
        w.touched = true;
        break;
      }
    }
  }

  std::vector<ProfileWrite> writes;
  for (auto& [user, w] : work) {
    LoadedProfile& lp = *w.loaded;
    if (!w.touched) {
      // Loaded for nothing (every entry already applied): unchanged, so still the stored bytes.
      if (lp.exists) parsed_.Put(keys::Profile(user.workspace, user.user_id), std::move(lp.stored_record), std::move(lp.record));
      continue;
    }
    if (w.erased && !lp.exists && lp.record.profile().segments().empty()) continue;  // nothing stored to delete
    ProfileWrite write;
    write.user = user;
    write.expected_revision = lp.revision;
    write.erase = w.erased;
    if (!w.erased) {
      TakeJourneyStage(&lp);
      aggregator_->RefreshForStorage(now, &lp.record);
    }
    std::vector<pb::SegmentChange> changes;
    if (evaluator_ != nullptr) changes = evaluator_->Evaluate(user.workspace, now, w.erased, &lp.record);
    StageChanges(lp, std::move(changes), &write);
    if (!w.erased) {
      lp.record.mutable_profile()->set_found(true);
      *lp.record.mutable_profile()->mutable_updated_at() = ToProto(now);
      write.snapshot = ProfileAggregator::Snapshot(lp.record, now);
      write.record = std::move(lp.record);
      write.record.SerializeToString(&write.record_bytes);  // kept for the parsed-profile cache
    }
    writes.push_back(std::move(write));
  }
  if (writes.empty() && extra.empty()) return absl::OkStatus();
  auto committed = store_->Commit(writes, extra);
  if (!committed.ok()) return committed.status();
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!(*committed)[i]) {
      ++*conflicts;
    } else if (!writes[i].erase) {
      ProfileWrite& w = writes[i];
      parsed_.Put(keys::Profile(w.user.workspace, w.user.user_id), std::move(w.record_bytes), std::move(w.record));
    }
  }
  return absl::OkStatus();
}

}  // namespace journey::persona
