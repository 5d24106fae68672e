#include "services/ingest/ingest_logic.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"
#include "services/ingest/envelope_writer.h"
#include "services/ingest/event_normalizer.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using journey::common::v1::EventEnvelope;

// The id an event is keyed by before alias resolution.
const std::string& PrimaryId(const Event& e) { return e.user_id().empty() ? e.anonymous_id() : e.user_id(); }

// The id an Identify or Alias links to the user ("" when the event links nothing).
const std::string& LinkFrom(const Event& e) {
  static const std::string kNone;
  if (e.type() == journey::common::v1::EVENT_TYPE_ALIAS) {
    return e.previous_id().empty() ? e.anonymous_id() : e.previous_id();
  }
  if (e.type() == journey::common::v1::EVENT_TYPE_IDENTIFY && !e.user_id().empty()) return e.anonymous_id();
  return kNone;
}

}  // namespace

IngestLogic::IngestLogic(IngestDeps deps, IngestLimits limits, AppendOptions append)
    : deps_(deps),
      validator_(std::move(limits)),
      append_(append),
      identity_(deps.redis, append.workspace, append.single_redis),
      appender_(deps.redis, append) {
  if (deps_.clock == nullptr) deps_.clock = RealClock::Get();
  if (deps_.metrics == nullptr) deps_.metrics = &no_metrics_;
}

absl::Status IngestLogic::CheckBatch(int event_count, size_t bytes) const {
  const IngestLimits& l = validator_.limits();
  if (event_count > l.max_batch_events) {
    return absl::InvalidArgumentError(
        absl::StrFormat("events: a batch holds at most %d events, got %d", l.max_batch_events, event_count));
  }
  if (bytes > l.max_batch_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat("events: a batch is at most %d bytes, got %d", l.max_batch_bytes, bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<IngestLogic::Resolved> IngestLogic::Resolve(EventRefs events,
                                                           const std::vector<size_t>& valid) {
  // Round trip 1: every id of the call whose link we need, once.
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, size_t> seen;
  auto want = [&](const std::string& id) {
    if (!id.empty() && seen.emplace(id, ids.size()).second) ids.push_back(id);
  };
  for (size_t i : valid) {
    want(PrimaryId(*events[i]));
    want(LinkFrom(*events[i]));
  }
  auto linked = identity_.Lookup(ids);
  if (!linked.ok()) return linked.status();
  absl::flat_hash_map<std::string, std::string> canon;  // id -> canonical, Redis then this call's links
  for (size_t k = 0; k < ids.size(); ++k) {
    if (!(*linked)[k].empty()) canon[ids[k]] = (*linked)[k];
  }

  // Walk in order so that an anonymous event after an Identify in the same call already
  // resolves to the user, and one before it stays with the anonymous id (before the MERGE).
  Resolved r;
  r.canonical.resize(events.size());
  r.merge_from.resize(events.size());
  std::vector<IdentityLink> new_links;
  std::vector<size_t> link_event;
  for (size_t i : valid) {
    const std::string& primary = PrimaryId(*events[i]);
    auto it = canon.find(primary);
    r.canonical[i] = it == canon.end() ? primary : it->second;
    const std::string& from = LinkFrom(*events[i]);
    if (from.empty() || from == r.canonical[i]) continue;
    auto link = canon.find(from);
    if (link == canon.end()) {
      canon[from] = r.canonical[i];
      new_links.push_back({from, r.canonical[i]});
      link_event.push_back(i);
      r.merge_from[i] = from;
    } else if (link->second == r.canonical[i]) {
      // Linked by an earlier attempt of this call that failed later: append the MERGE
      // again; its dedup marker keeps it once.
      r.merge_from[i] = from;
    }
    // Otherwise `from` already belongs to another user: first link wins, nothing merges.
  }
  if (auto st = CheckLag(r, valid); !st.ok()) return st;

  // Round trip 2, only when the call links ids: create the links, first link wins.
  if (!new_links.empty()) {
    auto won = identity_.Link(new_links);
    if (!won.ok()) return won.status();
    for (size_t k = 0; k < new_links.size(); ++k) {
      if ((*won)[k] != new_links[k].to) r.merge_from[link_event[k]].clear();  // lost a race
    }
  }
  return r;
}

absl::StatusOr<std::vector<bool>> IngestLogic::AppendedBefore(EventRefs events,
                                                             const std::vector<size_t>& valid,
                                                             const std::vector<std::string>& canonical) {
  // A retry of an anonymous event first sent before its id was linked now resolves to the
  // user's partition, while the first attempt's dedup marker sits in the anonymous id's
  // partition: look there (one round trip, only for events that resolve elsewhere).
  std::vector<bool> seen(events.size(), false);
  std::vector<std::pair<uint32_t, std::string>> markers;
  std::vector<size_t> probed;
  for (size_t i : valid) {
    const std::string& primary = PrimaryId(*events[i]);
    if (canonical[i] == primary) continue;
    markers.emplace_back(keys::PartitionOf(primary, append_.partitions), events[i]->message_id());
    probed.push_back(i);
  }
  auto found = appender_.AppendedBefore(markers);
  if (!found.ok()) return found.status();
  for (size_t k = 0; k < probed.size(); ++k) seen[probed[k]] = (*found)[k];
  return seen;
}

absl::Status IngestLogic::CheckLag(const Resolved& r, const std::vector<size_t>& valid) const {
  if (deps_.lag_gate == nullptr) return absl::OkStatus();
  for (size_t i : valid) {
    for (const std::string* id : {&r.canonical[i], &r.merge_from[i]}) {
      if (id->empty()) continue;
      const uint32_t p = keys::PartitionOf(*id, append_.partitions);
      if (!deps_.lag_gate->Admits(p)) {
        deps_.metrics->Throttled(static_cast<int>(valid.size()));
        return absl::ResourceExhaustedError(absl::StrFormat(
            "stream partition %d: consumers are %d entries behind; retry with backoff", p, deps_.lag_gate->Lag(p)));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EventOutcome>> IngestLogic::Ingest(std::vector<Event> events) {
  std::vector<Event*> refs;
  refs.reserve(events.size());
  for (Event& e : events) refs.push_back(&e);
  return IngestInPlace(refs);
}

absl::StatusOr<std::vector<EventOutcome>> IngestLogic::IngestInPlace(EventRefs events) {
  const absl::Time now = deps_.clock->Now();
  std::vector<EventOutcome> out(events.size());
  std::vector<size_t> valid;
  valid.reserve(events.size());
  std::vector<std::string> serialized(events.size());  // what the validator checked, appended as is
  for (size_t i = 0; i < events.size(); ++i) {
    std::optional<FieldError> err = NormalizeEvent(events[i], now);
    if (!err) err = validator_.Validate(*events[i], now, &serialized[i]);
    out[i].message_id = events[i]->message_id();
    if (err) {
      deps_.metrics->Rejected(err->reason);
      out[i].error = std::move(err);
    } else {
      valid.push_back(i);
    }
  }
  if (valid.empty()) return out;

  auto resolved = Resolve(events, valid);
  if (!resolved.ok()) return resolved.status();

  auto seen = AppendedBefore(events, valid, resolved->canonical);
  if (!seen.ok()) return seen.status();

  // Last round trip: the appends. A MERGE goes to the partition of the id it merges, after
  // that id's earlier events of this call (the appender keeps per-partition order).
  std::vector<AppendItem> items;
  std::vector<size_t> item_of(events.size(), SIZE_MAX);
  items.reserve(valid.size());
  // The envelope's fields other than kind and event (AppendEnvelope writes those around the
  // bytes the validator serialized).
  EventEnvelope env;
  prototime::ToProto(now, env.mutable_ingested_at());
  env.set_workspace_id(append_.workspace);
  env.set_schema_version(1);
  for (size_t i : valid) {
    const Event& e = *events[i];
    const std::string& canonical = resolved->canonical[i];
    out[i].canonical_user_id = canonical;
    const std::string& from = resolved->merge_from[i];
    if (!from.empty()) {
      AppendItem merge;
      merge.partition = keys::PartitionOf(from, append_.partitions);
      merge.dedup_id = absl::StrCat(e.message_id(), "#merge");
      env.set_canonical_user_id(canonical);
      env.set_previous_id(from);
      env.set_partition(merge.partition);
      AppendEnvelope(journey::common::v1::ENVELOPE_KIND_MERGE, serialized[i], env, &merge.payload);
      items.push_back(std::move(merge));
    }
    if ((*seen)[i]) continue;  // appended by an earlier attempt, in another partition
    AppendItem item;
    item.partition = keys::PartitionOf(canonical, append_.partitions);
    item.dedup_id = e.message_id();
    env.set_canonical_user_id(canonical);
    env.clear_previous_id();
    env.set_partition(item.partition);
    AppendEnvelope(journey::common::v1::ENVELOPE_KIND_EVENT, serialized[i], env, &item.payload);
    item_of[i] = items.size();
    items.push_back(std::move(item));
  }
  const absl::Time start = absl::Now();
  auto appended = appender_.Append(std::move(items));
  if (!appended.ok()) return appended.status();
  deps_.metrics->AppendLatency(absl::Now() - start);

  int duplicates = 0;
  for (size_t i : valid) {
    if (item_of[i] == SIZE_MAX) {
      out[i].duplicate = true;
    } else {
      out[i].stream_id = (*appended)[item_of[i]].stream_id;
      out[i].duplicate = (*appended)[item_of[i]].duplicate;
    }
    duplicates += out[i].duplicate ? 1 : 0;
  }
  deps_.metrics->Accepted(static_cast<int>(valid.size()));
  deps_.metrics->Deduplicated(duplicates);
  return out;
}

}  // namespace journey::ingest
