#include "services/journey/journey_applier.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "journey/state/v1/journey.pb.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_aggregates.h"
#include "services/journey/journey_write_scripts.h"

namespace journey::journey_state {
namespace {

using journey::common::v1::EventEnvelope;
using storage::RedisCommand;
using storage::RedisReply;
using stream::PartitionedConsumer;
namespace pb = journey::common::v1;

std::string TimerMember(const std::string& ws, const std::string& uid) { return absl::StrCat(ws, "|", uid); }

// One customer a batch touches, as read and as the batch leaves them.
struct UserState {
  std::string ws;
  std::string uid;
  std::string view;  // keys::View(ws, uid), built once for the read and the write
  JourneySnapshot* snap = nullptr;  // on the batch's arena: parsed and dropped once per batch
  bool home = false;    // of the batch's partition (else written by compare-and-set)
  const std::string* cached = nullptr;  // the cache's copy of the snapshot: not read from Redis
  std::string written;  // the snapshot as written, for the cache
  std::string stored;   // the snapshot as read ("" = none): the compare-and-set value
  std::string persona;  // their PersonaSnapshot as read ("" = none)
  std::optional<std::vector<std::string>> segments;  // parsed from `persona` when first needed
  bool dirty = false;   // write the snapshot back
  // Had an inactivity timer due as read, so may be in the partition's timer set. One that
  // was not needs no ZREM when it has none after the batch either: most customers are in a
  // stage without a timer, and every batch removed them all from the set again. (A member
  // left behind anyway, e.g. by a definition that dropped a timer, fires as a no-op and is
  // removed then.)
  bool armed = false;
};

// The persona segments a customer is in, as persona last published them.
const std::vector<std::string>& SegmentsOf(UserState* u) {
  if (!u->segments.has_value()) {
    u->segments.emplace();
    journey::common::v1::PersonaSnapshot persona;
    if (!u->persona.empty() && persona.ParseFromString(u->persona)) {
      u->segments->assign(persona.segments().begin(), persona.segments().end());
    }
  }
  return *u->segments;
}

// Records the segments with the stages this outcome newly reached (the last entries of
// `reached`), so a later merge can take back exactly what was counted.
void RecordReachSegments(const StepOutcome& o, const std::vector<std::string>& segments, JourneySnapshot* s) {
  if (segments.empty()) return;
  const int n = static_cast<int>(o.newly_reached.size());
  for (int i = std::max(0, s->reached_size() - n); i < s->reached_size(); ++i) {
    auto* r = s->mutable_reached(i);
    r->clear_segments();
    for (const auto& seg : segments) r->add_segments(seg);
  }
}

// What is left of a journey after erasure or after it merged into another id: no stage and
// no personal data, only the applied offsets, so a redelivered entry cannot bring it back.
void Tombstone(uint32_t partition, const std::string& entry_id, JourneySnapshot* s) {
  JourneySnapshot t;
  t.set_user_id(s->user_id());
  t.set_workspace_id(s->workspace_id());
  *t.mutable_applied_offsets() = s->applied_offsets();
  (*t.mutable_applied_offsets())[partition] = entry_id;
  *s = std::move(t);
}

bool AlreadyApplied(const JourneySnapshot& s, uint32_t partition, const stream::StreamPosition& at) {
  auto it = s.applied_offsets().find(partition);
  return it != s.applied_offsets().end() && at <= PartitionedConsumer::ParsePosition(it->second);
}

void AddTransitions(const std::string& key, long long maxlen, const std::string& uid, const StepOutcome& o,
                    std::vector<RedisCommand>* cmds) {
  for (const StageChange& c : o.changes) {
    journey::state::v1::Transition t;
    t.set_user_id(uid);
    t.set_from_stage(c.from_stage);
    t.set_to_stage(c.to_stage);
    t.set_kind(c.kind);
    SetTimestamp(c.time, t.mutable_time());
    t.set_event_name(c.event_name);
    t.set_message_id(c.message_id);
    cmds->push_back({"XADD", key, "MAXLEN", "~", std::to_string(maxlen), "*", "t", t.SerializeAsString()});
  }
}

// Exec replies: an array (one per queued command) on success; nil when aborted.
absl::Status CheckExec(const std::vector<RedisReply>& replies) {
  const RedisReply& exec = replies.back();
  if (exec.is_error()) return absl::InternalError(absl::StrCat("journey write aborted: ", exec.str));
  if (!exec.is_array()) return absl::UnavailableError("journey write transaction did not run");
  for (const RedisReply& r : exec.elements) {
    if (r.is_error()) return absl::InternalError(absl::StrCat("journey write: ", r.str));
  }
  return absl::OkStatus();
}

// Appends commands to a script call as (argc, args...) groups.
void AppendCommands(std::vector<RedisCommand>* cmds, RedisCommand* call) {
  call->push_back(std::to_string(cmds->size()));
  for (auto& cmd : *cmds) {
    call->push_back(std::to_string(cmd.size()));
    for (auto& a : cmd) call->push_back(std::move(a));
  }
}

const std::string& WorkspaceOf(const EventEnvelope& env, const std::string& fallback) {
  return env.workspace_id().empty() ? fallback : env.workspace_id();
}

const std::string& UserOf(const EventEnvelope& env) {
  if (!env.canonical_user_id().empty()) return env.canonical_user_id();
  return env.event().user_id().empty() ? env.event().anonymous_id() : env.event().user_id();
}

const std::string& PreviousOf(const EventEnvelope& env) {
  return env.previous_id().empty() ? env.event().previous_id() : env.previous_id();
}

}  // namespace

JourneyApplier::JourneyApplier(storage::RedisClient* redis, DefinitionStore* definitions, const Clock* clock,
                               ApplierOptions options)
    : redis_(redis),
      definitions_(definitions),
      clock_(clock),
      options_(std::move(options)),
      timer_script_(kFireTimerScript) {
  if (options_.snapshot_cache_entries > 0 && options_.fenced_writes && options_.partitions > 0) {
    caches_.resize(options_.partitions);
    cache_entries_per_partition_ =
        std::max<size_t>(1, static_cast<size_t>(options_.snapshot_cache_entries) / options_.partitions);
  }
}

// One partition's batch on its way through ApplyBatches.
struct JourneyApplier::BatchWork {
  uint32_t partition = 0;
  const std::vector<stream::StreamEntry>* entries = nullptr;
  google::protobuf::Arena arena;
  std::vector<UserState> users;
  absl::flat_hash_map<std::string, size_t> index;  // "<ws>\n<uid>" -> users[i]
  std::string key;                                 // scratch for `index`
  SnapshotCache* cache = nullptr;
  bool keep_cache = false;  // else the cache is dropped: after a failed write Redis may hold anything
  std::string watermark_key, generation_key, watermark, generation;
  size_t first_read = 0;  // where this batch's replies start in the shared read
  AggregateDelta delta;
  std::vector<RedisCommand> transitions, cooldowns;
  std::vector<orchestration::ActionCandidate> actions;
  std::vector<RedisCommand> writes;        // the transaction's commands
  RedisCommand watch, fence;                // before it: see kBatchFenceScript
  bool done = false;  // status final: nothing (more) to write
  absl::Status status;

  ~BatchWork() {
    if (cache != nullptr && !keep_cache) cache->Drop();
  }
  UserState* Find(const std::string& ws, const std::string& uid, bool add) {
    key.assign(ws).append(1, '\n').append(uid);
    auto it = index.find(key);
    if (it != index.end()) return &users[it->second];
    if (!add) return nullptr;
    index.emplace(key, users.size());
    users.emplace_back();
    users.back().ws = ws;
    users.back().uid = uid;
    users.back().snap = google::protobuf::Arena::CreateMessage<JourneySnapshot>(&arena);
    return &users.back();
  }
  void Fail(absl::Status s) {
    status = std::move(s);
    done = true;
  }
};

absl::Status JourneyApplier::ApplyBatch(uint32_t partition, const std::vector<stream::StreamEntry>& entries) {
  return ApplyBatches({{partition, &entries}}).front();
}

std::vector<absl::Status> JourneyApplier::ApplyBatches(const std::vector<PartitionBatch>& batches) {
  // The partitions' mutexes, each once and in order (partitions may share one).
  std::vector<size_t> mutexes;
  for (const PartitionBatch& b : batches) mutexes.push_back(b.partition % partition_mu_.size());
  std::sort(mutexes.begin(), mutexes.end());
  mutexes.erase(std::unique(mutexes.begin(), mutexes.end()), mutexes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  for (size_t m : mutexes) locks.emplace_back(partition_mu_[m]);
  const auto machine = definitions_->Machine();

  // 1. Which users does each batch touch? One pipelined read, for all the batches, of their
  //    snapshots (and persona snapshots, same hash), each partition's watermark and generation.
  std::deque<BatchWork> work(batches.size());
  std::vector<RedisCommand> reads;
  for (size_t i = 0; i < batches.size(); ++i) {
    BatchWork& w = work[i];
    w.partition = batches[i].partition;
    w.entries = batches[i].entries;
    w.first_read = reads.size();
    if (!Prepare(&w, &reads)) w.done = true;
  }
  if (!reads.empty()) {
    auto read = redis_->Pipeline(reads);
    for (BatchWork& w : work) {
      if (w.done) continue;
      if (!read.ok()) {
        w.Fail(read.status());
      } else if (absl::Status s = Absorb(&w, &*read); !s.ok()) {
        w.Fail(std::move(s));
      }
    }
  }

  // 2. Apply in memory, in stream order.
  std::vector<orchestration::ActionCandidate> actions;
  for (BatchWork& w : work) {
    if (w.done) continue;
    ApplyInMemory(*machine, &w);
    for (auto& a : w.actions) actions.push_back(std::move(a));
  }
  // Actions first: if a batch write below fails or the process dies before it, the batch is
  // applied again and its actions come back as duplicates of the ones decided here.
  if (triggers_ != nullptr && !actions.empty()) {
    if (absl::Status emitted = triggers_->Emit(std::move(actions)); !emitted.ok()) {
      for (BatchWork& w : work) {
        if (!w.done) w.Fail(emitted);
      }
    }
  }

  // 3. One atomic write per batch, each a fenced transaction (WATCH, the fence script,
  //    MULTI ... EXEC), all the batches' in one pipeline on one connection.
  std::vector<RedisCommand> calls;
  struct Called {
    BatchWork* w;
    size_t fence, exec;  // indexes of their replies
  };
  std::vector<Called> called;
  for (BatchWork& w : work) {
    if (w.done) continue;
    BuildWrite(*machine, &w);
    if (w.done) continue;
    if (!options_.fenced_writes) {
      WriteUnfenced(&w);
      continue;
    }
    calls.push_back(std::move(w.watch));
    const size_t fence = calls.size();
    calls.push_back(std::move(w.fence));
    calls.push_back({"MULTI"});
    for (auto& cmd : w.writes) calls.push_back(std::move(cmd));
    calls.push_back({"SET", w.watermark_key, w.entries->back().id});
    calls.push_back({"EXEC"});
    called.push_back({&w, fence, calls.size() - 1});
  }
  if (!calls.empty()) {
    auto written = redis_->Pipeline(calls);
    for (const Called& c : called) {
      if (!written.ok()) {
        c.w->Fail(written.status());
      } else {
        Finish(c.w, (*written)[c.fence], (*written)[c.exec]);
      }
    }
  }
  std::vector<absl::Status> out;
  out.reserve(work.size());
  for (BatchWork& w : work) out.push_back(w.status);
  return out;
}

bool JourneyApplier::Prepare(BatchWork* w, std::vector<RedisCommand>* reads) {
  for (const auto& entry : *w->entries) {
    const EventEnvelope& env = entry.envelope;
    const std::string& uid = UserOf(env);
    if (uid.empty()) continue;
    const std::string& ws = WorkspaceOf(env, options_.default_workspace);
    w->Find(ws, uid, true);
    if (env.kind() == pb::ENVELOPE_KIND_MERGE && !PreviousOf(env).empty()) w->Find(ws, PreviousOf(env), true);
  }
  if (w->users.empty()) return false;
  // The partition's cached snapshots stand in for a read while the watermark and generation
  // read below are the ones our last write left; if not, they are read after all (rare:
  // after a lease handover, a merge from another partition or a fired timer).
  w->cache = CacheOf(w->partition);
  for (UserState& u : w->users) {
    u.home = keys::PartitionOf(u.uid, options_.partitions) == w->partition;
    if (w->cache == nullptr || !w->cache->valid || !u.home) continue;
    w->key.assign(u.ws).append(1, '\n').append(u.uid);
    if (auto it = w->cache->users.find(w->key); it != w->cache->users.end()) u.cached = &it->second;
  }
  w->watermark_key = keys::JourneyAppliedWatermark(w->partition);
  w->generation_key = keys::JourneyPartitionGeneration(w->partition);
  for (UserState& u : w->users) {
    u.view = keys::View(u.ws, u.uid);
    if (u.cached) {
      reads->push_back({"HMGET", u.view, std::string(keys::kViewPersonaField)});
    } else {
      reads->push_back({"HMGET", u.view, std::string(keys::kViewJourneyField), std::string(keys::kViewPersonaField)});
    }
  }
  reads->push_back({"GET", w->watermark_key});
  reads->push_back({"GET", w->generation_key});
  return true;
}

absl::Status JourneyApplier::Absorb(BatchWork* w, std::vector<RedisReply>* replies) {
  std::vector<UserState>& users = w->users;
  RedisReply* read = replies->data() + w->first_read;
  const RedisReply& mark = read[users.size()];
  w->watermark = mark.is_string() ? mark.str : "";
  const RedisReply& gen = read[users.size() + 1];
  w->generation = gen.is_string() ? gen.str : "";
  SnapshotCache* cache = w->cache;
  const bool cache_current =
      cache != nullptr && cache->valid && cache->watermark == w->watermark && cache->generation == w->generation;
  if (cache != nullptr && !cache_current) {
    // Someone else wrote the partition since our last batch: read the snapshots we skipped.
    // (The cache is not changed before that: `cached` points into it until then.)
    std::vector<RedisCommand> rereads;
    std::vector<size_t> which;
    for (size_t i = 0; i < users.size(); ++i) {
      if (!users[i].cached) continue;
      rereads.push_back({"HMGET", users[i].view, std::string(keys::kViewJourneyField),
                         std::string(keys::kViewPersonaField)});
      which.push_back(i);
    }
    cache->Drop();
    if (!rereads.empty()) {
      auto reread = redis_->Pipeline(rereads);
      if (!reread.ok()) return reread.status();
      for (size_t k = 0; k < which.size(); ++k) {
        read[which[k]] = std::move((*reread)[k]);
        users[which[k]].cached = nullptr;
      }
    }
  }
  for (size_t i = 0; i < users.size(); ++i) {
    RedisReply& r = read[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("reading journey snapshot: ", r.str));
    UserState& u = users[i];
    if (u.cached != nullptr) {
      if (r.elements.size() == 1 && r.elements[0].is_string()) u.persona = std::move(r.elements[0].str);
      if (!u.cached->empty() && !u.snap->ParseFromString(*u.cached)) {
        return absl::InternalError(absl::StrCat("cached journey snapshot of '", log::UserId(u.uid), "' does not parse"));
      }
      continue;
    }
    if (r.elements.size() == 2) {
      if (r.elements[0].is_string()) u.stored = std::move(r.elements[0].str);
      if (r.elements[1].is_string()) u.persona = std::move(r.elements[1].str);
    }
    if (!u.stored.empty() && !u.snap->ParseFromString(u.stored)) {
      return absl::InternalError(absl::StrCat("journey snapshot of '", log::UserId(u.uid), "' does not parse"));
    }
  }
  return absl::OkStatus();
}

void JourneyApplier::ApplyInMemory(const JourneyStateMachine& machine, BatchWork* w) {
  const CompiledDefinition& def = machine.definition();
  const uint32_t partition = w->partition;
  // Parsed once per batch and once per entry: these comparisons run for every entry.
  const bool has_watermark = !w->watermark.empty();
  const stream::StreamPosition watermark = PartitionedConsumer::ParsePosition(w->watermark);
  for (UserState& u : w->users) u.armed = machine.TimerDue(*u.snap).has_value();
  for (const auto& entry : *w->entries) {
    const EventEnvelope& env = entry.envelope;
    const std::string& uid = UserOf(env);
    if (uid.empty()) continue;
    const std::string& ws = WorkspaceOf(env, options_.default_workspace);
    UserState& u = *w->Find(ws, uid, false);
    const stream::StreamPosition at = PartitionedConsumer::ParsePosition(entry.id);
    if (has_watermark && at <= watermark) continue;
    if (AlreadyApplied(*u.snap, partition, at)) continue;
    switch (env.kind()) {
      case pb::ENVELOPE_KIND_MERGE: {
        const std::string& prev_id = PreviousOf(env);
        if (prev_id.empty() || prev_id == uid) break;
        UserState& prev = *w->Find(ws, prev_id, false);
        if (prev.snap->stage().empty()) break;  // nothing to move (or moved already)
        if (u.snap->user_id().empty()) {
          u.snap->set_user_id(uid);
          u.snap->set_workspace_id(ws);
        }
        // The same person counted under both ids at a stage: take back the later count.
        for (const StageReach& twice : machine.Merge(*prev.snap, u.snap)) w->delta.Uncount(ws, def.id(), twice);
        for (const auto& [p, id] : prev.snap->applied_offsets()) {
          auto& mine = (*u.snap->mutable_applied_offsets())[p];
          if (mine.empty() || PartitionedConsumer::IdLessOrEqual(mine, id)) mine = id;
        }
        (*u.snap->mutable_applied_offsets())[partition] = entry.id;
        u.dirty = true;
        Tombstone(partition, entry.id, prev.snap);
        prev.dirty = true;
        break;
      }
      case pb::ENVELOPE_KIND_ERASE:
        u.snap->set_user_id(uid);
        u.snap->set_workspace_id(ws);
        Tombstone(partition, entry.id, u.snap);
        u.dirty = true;
        break;
      default: {
        if (u.snap->user_id().empty()) {
          u.snap->set_user_id(uid);
          u.snap->set_workspace_id(ws);
        }
        StepOutcome outcome = machine.Apply(env.event(), u.snap);
        if (!outcome.applied && u.snap->stage().empty()) break;  // identify before any touch: nothing to keep
        (*u.snap->mutable_applied_offsets())[partition] = entry.id;
        u.dirty = true;
        if (outcome.applied) {
          // Every aggregate is also counted per segment: the persona snapshot is parsed once
          // per customer and batch (none published: no segments, nothing parsed).
          const std::vector<std::string>& segments = SegmentsOf(&u);
          RecordReachSegments(outcome, segments, u.snap);
          w->delta.Add(ws, def.id(), outcome, segments);
        }
        AddTransitions(keys::JourneyTransitions(ws), options_.transitions_maxlen, uid, outcome, &w->transitions);
        if (triggers_ != nullptr) {
          triggers_->Collect(ws, uid, partition, &env.event(), outcome, *u.snap, u.persona, &w->actions);
          triggers_->CooldownWrites(ws, uid, env.event(), &w->cooldowns);
        }
        break;
      }
    }
  }
}

// One atomic write: snapshots, timers, aggregates, transitions, the watermark. Users of other
// partitions (the canonical side of a merge) are written only if unchanged since read, and
// their partition's generation is bumped so its owner's batch in flight is refused rather
// than overwriting the merge.
void JourneyApplier::BuildWrite(const JourneyStateMachine& machine, BatchWork* w) {
  std::vector<RedisCommand>& writes = w->writes;
  writes.reserve(2 * w->users.size() + 16);
  w->watch = {"WATCH", w->watermark_key, w->generation_key};
  w->fence = {"EVAL", kBatchFenceScript, "2", w->watermark_key, w->generation_key};
  std::vector<std::string> foreign_read;  // the snapshots of other partitions' users as read
  struct TimerWrites {
    RedisCommand arm, disarm;
  };
  std::map<uint32_t, TimerWrites> timer_writes;
  for (UserState& u : w->users) {
    if (!u.dirty) continue;
    const uint32_t home = keys::PartitionOf(u.uid, options_.partitions);
    std::string& view = u.view;
    if (!u.home) {
      w->watch.push_back(view);
      w->fence.push_back(view);
      foreign_read.push_back(std::move(u.stored));
      writes.push_back({"INCR", keys::JourneyPartitionGeneration(home)});
    }
    // One ZADD and one ZREM per timer set for the whole batch, not one per user.
    TimerWrites& t = timer_writes[home];
    if (auto due = machine.TimerDue(*u.snap)) {
      if (t.arm.empty()) t.arm = {"ZADD", keys::JourneyTimers(home)};
      t.arm.push_back(std::to_string(absl::ToUnixMillis(*due)));
      t.arm.push_back(TimerMember(u.ws, u.uid));
    } else if (u.armed) {
      if (t.disarm.empty()) t.disarm = {"ZREM", keys::JourneyTimers(home)};
      t.disarm.push_back(TimerMember(u.ws, u.uid));
    }
    std::string serialized = u.snap->SerializeAsString();
    if (w->cache != nullptr && u.home) u.written = serialized;
    writes.push_back({"HSET", std::move(view), std::string(keys::kViewJourneyField), std::move(serialized)});
  }
  w->fence[2] = std::to_string(2 + foreign_read.size());
  w->fence.push_back(w->watermark);
  w->fence.push_back(w->generation);
  w->fence.push_back(std::string(keys::kViewJourneyField));
  for (auto& read : foreign_read) w->fence.push_back(std::move(read));
  for (auto& [home, t] : timer_writes) {
    if (!t.arm.empty()) writes.push_back(std::move(t.arm));
    if (!t.disarm.empty()) writes.push_back(std::move(t.disarm));
  }
  for (auto& cmd : w->delta.Commands()) writes.push_back(std::move(cmd));
  for (auto& cmd : w->transitions) writes.push_back(std::move(cmd));
  for (auto& cmd : w->cooldowns) writes.push_back(std::move(cmd));
  if (writes.empty()) {
    KeepCache(w, w->watermark);
    w->done = true;
  }
}

// Redis Cluster: MULTI/EXEC, split per slot by the cluster client; no fence (see the header).
void JourneyApplier::WriteUnfenced(BatchWork* w) {
  std::vector<RedisCommand>& writes = w->writes;
  writes.insert(writes.begin(), RedisCommand{"MULTI"});
  writes.push_back({"SET", w->watermark_key, w->entries->back().id});
  writes.push_back({"EXEC"});
  auto written = redis_->Pipeline(writes);
  w->Fail(written.ok() ? CheckExec(*written) : written.status());
}

void JourneyApplier::Finish(BatchWork* w, const RedisReply& fence, const RedisReply& exec) {
  // EXEC's reply says what happened; the fence's only why it was refused.
  if (exec.is_array()) {
    for (const RedisReply& r : exec.elements) {
      if (r.is_error()) return w->Fail(absl::InternalError(absl::StrCat("journey write: ", r.str)));
    }
    KeepCache(w, w->entries->back().id);
    w->done = true;
    return;
  }
  if (exec.is_error()) return w->Fail(absl::InternalError(absl::StrCat("journey write: ", exec.str)));
  if (fence.is_error()) return w->Fail(absl::InternalError(absl::StrCat("journey write fence: ", fence.str)));
  if (fence.integer == 2) {
    // The canonical user of a merge changed in their own partition since we read them. Left
    // pending, the batch comes back and merges into what is there now.
    return w->Fail(absl::AbortedError(absl::StrCat("partition ", w->partition, ": a merged customer changed meanwhile")));
  }
  // 0, or 1 and a watched key changed between the fence and EXEC: another replica applied
  // entries of this partition since we read, or wrote one of its users from outside: ours
  // are stale. Left pending, they come back and are either skipped by the watermark or
  // applied to what is there now.
  return w->Fail(absl::AbortedError(
      absl::StrCat("partition ", w->partition, " changed since read (lease handover or merge)")));
}

// After a write that went through, the cache holds the partition's customers as written.
void JourneyApplier::KeepCache(BatchWork* w, const std::string& new_watermark) {
  SnapshotCache* cache = w->cache;
  if (cache == nullptr) return;
  w->keep_cache = true;
  // Over the bound: forget arbitrary entries (they are read from Redis again when needed).
  for (auto it = cache->users.begin();
       it != cache->users.end() && cache->users.size() + w->users.size() > cache_entries_per_partition_;) {
    cache->users.erase(it++);
  }
  for (UserState& u : w->users) {
    if (!u.home || !u.dirty) continue;  // an unwritten snapshot's cached copy is still right
    w->key.assign(u.ws).append(1, '\n').append(u.uid);
    cache->users[w->key] = std::move(u.written);
  }
  cache->valid = true;
  cache->watermark = new_watermark;
  cache->generation = w->generation;
}

absl::StatusOr<int> JourneyApplier::FireDueTimers(uint32_t partition, absl::Time now, int limit) {
  std::lock_guard<std::mutex> lock(PartitionMutex(partition));
  const auto machine = definitions_->Machine();
  const CompiledDefinition& def = machine->definition();
  const std::string timers = keys::JourneyTimers(partition);
  const std::string generation_key = keys::JourneyPartitionGeneration(partition);
  // Deferred actions are timers too: those whose quiet hours ended go to the action stream.
  if (triggers_ != nullptr) {
    if (auto released = triggers_->ReleaseDeferred(partition, now); !released.ok()) return released.status();
  }
  auto due = redis_->Command({"ZRANGEBYSCORE", timers, "-inf", std::to_string(absl::ToUnixMillis(now)), "WITHSCORES",
                              "LIMIT", "0", std::to_string(limit)});
  if (!due.ok()) return due.status();
  if (due->elements.empty()) return 0;
  struct Due {
    std::string member, score;
    UserState user;
  };
  google::protobuf::Arena arena;
  std::vector<Due> items;
  std::vector<RedisCommand> reads;
  for (size_t i = 0; i + 1 < due->elements.size(); i += 2) {
    Due d{due->elements[i].str, due->elements[i + 1].str, {}};
    d.user.snap = google::protobuf::Arena::CreateMessage<JourneySnapshot>(&arena);
    const size_t bar = d.member.find('|');
    if (bar == std::string::npos) continue;
    d.user.ws = d.member.substr(0, bar);
    d.user.uid = d.member.substr(bar + 1);
    reads.push_back({"HMGET", keys::View(d.user.ws, d.user.uid), std::string(keys::kViewJourneyField),
                     std::string(keys::kViewPersonaField)});
    items.push_back(std::move(d));
  }
  if (items.empty()) return 0;
  auto read = redis_->Pipeline(reads);
  if (!read.ok()) return read.status();
  std::vector<RedisCommand> calls;
  std::vector<RedisCommand> cluster_writes;
  std::vector<bool> fires;
  std::vector<orchestration::ActionCandidate> actions;
  for (size_t i = 0; i < items.size(); ++i) {
    Due& d = items[i];
    RedisReply& r = (*read)[i];
    if (r.elements.size() == 2 && r.elements[1].is_string()) d.user.persona = std::move(r.elements[1].str);
    JourneySnapshot& snap = *d.user.snap;
    std::vector<RedisCommand> effects;
    if (r.elements.size() != 2 || !r.elements[0].is_string() || !snap.ParseFromString(r.elements[0].str)) {
      effects.push_back({"ZREM", timers, d.member});  // the customer is gone
      fires.push_back(false);
    } else {
      StepOutcome outcome = machine->FireTimer(&snap, now);
      fires.push_back(outcome.applied);
      if (outcome.applied) {
        effects.push_back({"HSET", keys::View(d.user.ws, d.user.uid), std::string(keys::kViewJourneyField),
                           snap.SerializeAsString()});
        AggregateDelta delta;
        delta.Add(d.user.ws, def.id(), outcome, SegmentsOf(&d.user));
        for (auto& cmd : delta.Commands()) effects.push_back(std::move(cmd));
        AddTransitions(keys::JourneyTransitions(d.user.ws), options_.transitions_maxlen, d.user.uid, outcome, &effects);
        if (triggers_ != nullptr) {
          triggers_->Collect(d.user.ws, d.user.uid, partition, nullptr, outcome, snap, d.user.persona, &actions);
        }
      }
      if (auto next = machine->TimerDue(snap); next.has_value() && !outcome.applied) {
        effects.push_back({"ZADD", timers, std::to_string(absl::ToUnixMillis(*next)), d.member});
      } else {
        effects.push_back({"ZREM", timers, d.member});
      }
    }
    if (!options_.fenced_writes) {
      for (auto& cmd : effects) cluster_writes.push_back(std::move(cmd));
      continue;
    }
    RedisCommand call = {"2", timers, generation_key, d.member, d.score};
    AppendCommands(&effects, &call);
    calls.push_back(std::move(call));
  }
  // As for batches: decided before the timers are claimed, so a crash re-decides them.
  if (triggers_ != nullptr) {
    if (absl::Status emitted = triggers_->Emit(std::move(actions)); !emitted.ok()) return emitted;
  }
  if (!options_.fenced_writes) {
    // Redis Cluster: a script may not touch the user's view (another slot), so the effects run
    // in MULTI/EXEC, which the cluster client splits per slot. The partition mutex keeps this
    // process's batches of the partition out meanwhile. A crash between the slots' parts is
    // repaired by the snapshot: fired state written but the timer still armed fires as a no-op
    // next tick; the aggregates of such a crash may count twice, as for batches on Cluster.
    cluster_writes.insert(cluster_writes.begin(), RedisCommand{"MULTI"});
    cluster_writes.push_back({"INCR", generation_key});
    cluster_writes.push_back({"EXEC"});
    auto written = redis_->Pipeline(cluster_writes);
    if (!written.ok()) return written.status();
    if (auto exec = CheckExec(*written); !exec.ok()) return exec;
    int fired = 0;
    for (bool f : fires) fired += f;
    return fired;
  }
  SnapshotCache* cache = CacheOf(partition);
  auto written = timer_script_.Run(redis_, std::move(calls));
  if (!written.ok()) {
    if (cache != nullptr) cache->Drop();
    return written.status();
  }
  int fired = 0;
  // The cache stays valid only if the generation moved by exactly our timers' bumps, one by
  // one from the value it holds: then nobody else wrote the partition in between.
  long long expected_generation = 0;
  bool cache_current = cache != nullptr && cache->valid &&
                       (cache->generation.empty() || absl::SimpleAtoi(cache->generation, &expected_generation));
  for (size_t i = 0; i < written->size(); ++i) {
    const RedisReply& r = (*written)[i];
    if (r.is_error()) {
      if (cache != nullptr) cache->Drop();
      return absl::InternalError(absl::StrCat("firing timer: ", r.str));
    }
    // 0: another replica fired it first, or an event re-armed it since we read it.
    if (r.integer < 1) continue;
    if (fires[i]) ++fired;
    if (cache_current) {
      cache_current = r.integer == ++expected_generation;
      cache->users.erase(absl::StrCat(items[i].user.ws, "\n", items[i].user.uid));
    }
  }
  if (cache != nullptr) {
    if (!cache_current) {
      cache->Drop();
    } else if (expected_generation > 0) {
      cache->generation = std::to_string(expected_generation);
    }
  }
  return fired;
}

}  // namespace journey::journey_state
