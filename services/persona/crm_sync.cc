#include "services/persona/crm_sync.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"
#include "common/stream/partitioned_consumer.h"
#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

namespace cpb = ::journey::common::v1;

void Reject(pb::UpsertProfilesSummary* summary, int64_t index, const std::string& external_id,
            const std::string& field, const std::string& reason) {
  summary->set_rejected(summary->rejected() + 1);
  pb::UpsertRejection* r = summary->add_rejections();
  r->set_index(index);
  r->set_external_id(external_id);
  r->set_field(field);
  r->set_reason(reason);
}

}  // namespace

absl::Status CrmSync::UpsertBatch(const std::vector<pb::UpsertProfileRequest>& batch, int64_t first_index,
                                  pb::UpsertProfilesSummary* summary) {
  summary->set_received(summary->received() + static_cast<int64_t>(batch.size()));
  std::vector<const pb::UpsertProfileRequest*> valid;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& r = batch[i];
    const int64_t index = first_index + static_cast<int64_t>(i);
    if (r.external_id().empty()) {
      Reject(summary, index, "", "external_id", "required");
      continue;
    }
    if (r.external_id().size() > options_.max_id_bytes || r.user_id().size() > options_.max_id_bytes) {
      Reject(summary, index, r.external_id(), r.user_id().size() > options_.max_id_bytes ? "user_id" : "external_id",
             absl::StrCat("longer than ", options_.max_id_bytes, " bytes"));
      continue;
    }
    if (r.traits_size() > options_.max_traits_per_record) {
      Reject(summary, index, r.external_id(), "traits", absl::StrCat("more than ", options_.max_traits_per_record));
      continue;
    }
    std::string bad;
    for (const auto& [key, value] : r.traits()) {
      if (key.empty() || key.size() > options_.max_trait_key_bytes) {
        bad = absl::StrCat("traits: key '", key.substr(0, 40), "' must be 1-", options_.max_trait_key_bytes, " bytes");
      } else if (value.kind_case() == cpb::TraitValue::KIND_NOT_SET) {
        bad = absl::StrCat("traits.", key, ": no value");
      }
      if (!bad.empty()) break;
    }
    for (const auto& [purpose, granted] : r.consent()) {
      if (purpose.empty()) bad = "consent: empty purpose";
    }
    if (!bad.empty()) {
      const size_t colon = bad.find(':');
      Reject(summary, index, r.external_id(), bad.substr(0, colon), bad.substr(colon + 2));
      continue;
    }
    valid.push_back(&r);
  }
  if (valid.empty()) return absl::OkStatus();

  // External id -> user id: the request's, else the one already linked, else the external id.
  std::vector<storage::RedisCommand> lookups;
  for (const auto* r : valid) lookups.push_back({"GET", keys::ExternalId(logic_->workspace(), r->external_id())});
  auto linked = store_->redis()->Pipeline(lookups);
  if (!linked.ok()) return linked.status();
  std::vector<std::string> ids;
  std::vector<PersonaLogic::Mutation> mutations;
  std::vector<storage::RedisCommand> links;
  const absl::Time now = logic_->Now();
  for (size_t i = 0; i < valid.size(); ++i) {
    const pb::UpsertProfileRequest* r = valid[i];
    std::string uid = r->user_id();
    if (uid.empty()) uid = (*linked)[i].is_string() ? (*linked)[i].str : r->external_id();
    ids.push_back(uid);
    links.push_back({"SET", keys::ExternalId(logic_->workspace(), r->external_id()), uid});
    const std::string source = r->source().empty() ? "crm" : r->source();
    mutations.push_back([r, now, source](pb::ProfileRecord* record) {
      pb::Profile* p = record->mutable_profile();
      p->set_external_id(r->external_id());
      for (const auto& [key, value] : r->traits()) {
        pb::Trait& t = (*p->mutable_traits())[key];
        *t.mutable_value() = value;
        t.set_source(source);
        ToProto(now, t.mutable_updated_at());
      }
      for (const auto& [purpose, granted] : r->consent()) {
        pb::Consent& c = (*p->mutable_consent())[purpose];
        c.set_granted(granted);
        c.set_source(source);
        ToProto(now, c.mutable_updated_at());
      }
      return true;
    });
  }
  if (auto s = logic_->MutateProfiles(ids, mutations); !s.ok()) return s;
  auto wrote = store_->redis()->Pipeline(links);
  if (!wrote.ok()) return wrote.status();
  summary->set_accepted(summary->accepted() + static_cast<int64_t>(valid.size()));
  return absl::OkStatus();
}

absl::Status CrmSync::SetConsent(const pb::SetConsentRequest& request) {
  if (request.user_id().empty()) return absl::InvalidArgumentError("user_id: required");
  if (request.purpose().empty()) return absl::InvalidArgumentError("purpose: required (e.g. marketing)");
  const absl::Time now = logic_->Now();
  return logic_->MutateProfiles({request.user_id()}, {[&](pb::ProfileRecord* record) {
                                  pb::Consent& c = (*record->mutable_profile()->mutable_consent())[request.purpose()];
                                  c.set_granted(request.granted());
                                  c.set_source(request.source().empty() ? "api" : request.source());
                                  ToProto(now, c.mutable_updated_at());
                                  return true;
                                }});
}

absl::StatusOr<int64_t> CrmSync::DeleteProfile(const std::string& user_id) {
  if (user_id.empty()) return absl::InvalidArgumentError("user_id: required");
  const std::string& ws = logic_->workspace();
  int64_t deleted = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto loaded = store_->Load({{ws, user_id}});
    if (!loaded.ok()) return loaded.status();
    LoadedProfile& lp = (*loaded)[0];
    std::vector<storage::RedisCommand> extra;
    for (const auto& anon : lp.record.profile().anonymous_ids()) extra.push_back({"DEL", keys::PersonaAlias(ws, anon)});
    if (!lp.record.profile().external_id().empty()) {
      extra.push_back({"DEL", keys::ExternalId(ws, lp.record.profile().external_id())});
    }
    // The ERASE envelope, as ingest would append it: journey and recommend drop theirs.
    cpb::EventEnvelope erase;
    erase.set_kind(cpb::ENVELOPE_KIND_ERASE);
    erase.set_workspace_id(ws);
    erase.set_canonical_user_id(user_id);
    ToProto(logic_->Now(), erase.mutable_ingested_at());
    const uint32_t partition = keys::PartitionOf(user_id, options_.partitions);
    erase.set_partition(partition);
    extra.push_back({"XADD", keys::EventStream(partition), "*", "e", erase.SerializeAsString()});
    ProfileWrite w;
    w.user = {ws, user_id};
    w.expected_revision = lp.revision;
    w.erase = true;
    if (evaluator_ != nullptr) {
      auto changes = evaluator_->Evaluate(ws, logic_->Now(), /*erased=*/true, &lp.record);
      StageChanges(lp, std::move(changes), &w);
    }
    auto committed = store_->Commit({w}, extra);
    if (!committed.ok()) return committed.status();
    if (!(*committed)[0]) continue;  // a concurrent write: load again
    deleted = (lp.exists ? 1 : 0) + static_cast<int64_t>(extra.size()) - 1;
    return deleted;
  }
  return absl::AbortedError("profile kept changing during erasure; retry");
}

absl::StatusOr<pb::ProfileExport> CrmSync::ExportProfile(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("user_id or anonymous_id: required");
  auto lp = logic_->LoadResolved(id);
  if (!lp.ok()) return lp.status();
  pb::ProfileExport out;
  const std::string& ws = logic_->workspace();
  const pb::Profile& p = lp->record.profile();
  *out.mutable_profile() = p;
  out.mutable_profile()->set_found(true);
  if (!lp->journey_snapshot.empty() && !out.mutable_journey()->ParseFromString(lp->journey_snapshot)) {
    return absl::InternalError(absl::StrCat("journey snapshot of ", id, " does not parse"));
  }
  out.add_keys(keys::Profile(ws, p.user_id()));
  out.add_keys(keys::View(ws, p.user_id()));
  for (const auto& anon : p.anonymous_ids()) out.add_keys(keys::PersonaAlias(ws, anon));
  if (!p.external_id().empty()) out.add_keys(keys::ExternalId(ws, p.external_id()));
  return out;
}

absl::Status CrmSync::ExportSegment(const std::string& segment, const std::vector<std::string>& known_segments,
                                    const std::function<bool(const pb::Profile&)>& emit) {
  if (segment.empty()) return absl::InvalidArgumentError("segment: required");
  if (std::find(known_segments.begin(), known_segments.end(), segment) == known_segments.end()) {
    return absl::NotFoundError(absl::StrCat("segment: no segment '", segment, "'"));
  }
  std::set<std::string> emitted;
  const absl::Time now = logic_->Now();
  std::string cursor = "0";
  do {
    auto page = store_->ScanRecords(logic_->workspace(), cursor, 500);
    if (!page.ok()) return page.status();
    cursor = page->cursor;
    if (auto s = store_->RefreshJourneyStages(logic_->workspace(), &page->records); !s.ok()) return s;
    for (auto& record : page->records) {
      const auto& segs = record.profile().segments();
      if (std::find(segs.begin(), segs.end(), segment) == segs.end()) continue;
      if (!emitted.insert(record.profile().user_id()).second) continue;
      logic_->RefreshForReading(now, &record);
      pb::Profile p = record.profile();
      p.set_found(true);
      if (!emit(p)) return absl::OkStatus();
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<std::string> CrmSync::StartCursor(const std::string& cursor) {
  const std::string stream = keys::SegmentChanges(logic_->workspace());
  if (cursor.empty()) {
    auto last = store_->redis()->Command({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
    if (!last.ok()) return last.status();
    return last->elements.empty() ? std::string("0-0") : last->elements[0].elements[0].str;
  }
  if (cursor == "0") return std::string("0-0");
  if (cursor.find('-') == std::string::npos || cursor.find_first_not_of("0123456789-") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("cursor: '", cursor, "' is not a cursor from a change"));
  }
  // Changes after the cursor must all still be in the stream: the entry the cursor names is
  // the oldest we may have lost, so it must not be older than the oldest retained entry.
  auto first = store_->redis()->Command({"XRANGE", stream, "-", "+", "COUNT", "1"});
  if (!first.ok()) return first.status();
  if (first->is_array() && !first->elements.empty()) {
    const std::string& oldest = first->elements[0].elements[0].str;
    if (!stream::PartitionedConsumer::IdLessOrEqual(oldest, cursor)) {
      return absl::OutOfRangeError(absl::StrCat("cursor: changes after ", cursor,
                                                " may have been trimmed; export the segments again and watch from now"));
    }
  }
  return cursor;
}

absl::StatusOr<std::vector<pb::SegmentChange>> CrmSync::ReadChanges(const std::string& cursor, int count,
                                                                    absl::Duration block) {
  const std::string stream = keys::SegmentChanges(logic_->workspace());
  auto replies = store_->redis()->Pipeline(
      {{"XREAD", "COUNT", std::to_string(count), "BLOCK", std::to_string(absl::ToInt64Milliseconds(block)),
        "STREAMS", stream, cursor}},
      block + absl::Seconds(2));
  if (!replies.ok()) return replies.status();
  std::vector<pb::SegmentChange> out;
  const storage::RedisReply& r = (*replies)[0];
  if (!r.is_array() || r.elements.empty()) return out;
  if (r.elements[0].elements.size() < 2) return out;
  for (const auto& e : r.elements[0].elements[1].elements) {
    pb::SegmentChange c;
    if (ParseChangeEntry(e, &c)) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace journey::persona
