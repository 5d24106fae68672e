#include "services/journey/journey_applier.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "journey/state/v1/journey.pb.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_aggregates.h"

namespace journey::journey_state {
namespace {

using journey::common::v1::EventEnvelope;
using storage::RedisCommand;
using storage::RedisReply;
using stream::PartitionedConsumer;
namespace pb = journey::common::v1;

// Runs a batch of commands only while a timer is still armed with the score we read: the
// claim and its effects are one atomic step, so a timer fires once across replicas.
// KEYS[1] timers, ARGV[1] member, ARGV[2] score, ARGV[3] number of commands, then per
// command its argc and args.
constexpr char kFireTimerScript[] =
    "local s = redis.call('ZSCORE', KEYS[1], ARGV[1]) "
    "if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end "
    "local i = 4 "
    "for c = 1, tonumber(ARGV[3]) do "
    "  local n = tonumber(ARGV[i]) "
    "  redis.call(unpack(ARGV, i + 1, i + n)) "
    "  i = i + n + 1 "
    "end "
    "return 1";

// Runs a batch's writes only if the partition's watermark is still the one read before the
// batch was applied, then advances it. KEYS[1] watermark, ARGV[1] expected ("" = none),
// ARGV[2] new watermark, ARGV[3] number of commands, then per command its argc and args.
constexpr char kFencedBatchScript[] =
    "local cur = redis.call('GET', KEYS[1]) or '' "
    "if cur ~= ARGV[1] then return 0 end "
    "local i = 4 "
    "for c = 1, tonumber(ARGV[3]) do "
    "  local n = tonumber(ARGV[i]) "
    "  redis.call(unpack(ARGV, i + 1, i + n)) "
    "  i = i + n + 1 "
    "end "
    "redis.call('SET', KEYS[1], ARGV[2]) "
    "return 1";

std::string TimerMember(const std::string& ws, const std::string& uid) { return absl::StrCat(ws, "|", uid); }

struct UserState {
  std::string ws;
  std::string uid;
  JourneySnapshot snap;
  bool dirty = false;  // write the snapshot back
};

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

std::string UserKey(const std::string& ws, const std::string& uid) { return absl::StrCat(ws, "\n", uid); }

bool AlreadyApplied(const JourneySnapshot& s, uint32_t partition, const std::string& id) {
  auto it = s.applied_offsets().find(partition);
  return it != s.applied_offsets().end() && PartitionedConsumer::IdLessOrEqual(id, it->second);
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

}  // namespace

JourneyApplier::JourneyApplier(storage::RedisClient* redis, DefinitionStore* definitions, const Clock* clock,
                               ApplierOptions options)
    : redis_(redis), definitions_(definitions), clock_(clock), options_(std::move(options)) {}

absl::Status JourneyApplier::ApplyBatch(uint32_t partition, const std::vector<stream::StreamEntry>& entries) {
  std::lock_guard<std::mutex> lock(PartitionMutex(partition));
  const auto machine = definitions_->Machine();
  const CompiledDefinition& def = machine->definition();

  // 1. Which users does the batch touch? One pipelined read of their snapshots.
  std::map<std::string, UserState> users;
  std::vector<std::string> order;
  auto need = [&](const std::string& ws, const std::string& uid) {
    const std::string k = UserKey(ws, uid);
    if (users.emplace(k, UserState{ws, uid, {}, false}).second) order.push_back(k);
  };
  auto workspace_of = [&](const EventEnvelope& env) {
    return env.workspace_id().empty() ? options_.default_workspace : env.workspace_id();
  };
  auto user_of = [](const EventEnvelope& env) {
    if (!env.canonical_user_id().empty()) return env.canonical_user_id();
    return env.event().user_id().empty() ? env.event().anonymous_id() : env.event().user_id();
  };
  auto previous_of = [](const EventEnvelope& env) {
    return env.previous_id().empty() ? env.event().previous_id() : env.previous_id();
  };
  for (const auto& entry : entries) {
    const EventEnvelope& env = entry.envelope;
    const std::string ws = workspace_of(env);
    const std::string uid = user_of(env);
    if (uid.empty()) continue;
    need(ws, uid);
    if (env.kind() == pb::ENVELOPE_KIND_MERGE && !previous_of(env).empty()) need(ws, previous_of(env));
  }
  if (order.empty()) return absl::OkStatus();
  const std::string watermark_key = keys::JourneyAppliedWatermark(partition);
  std::vector<RedisCommand> reads;
  reads.reserve(order.size() + 1);
  for (const auto& k : order) {
    const UserState& u = users[k];
    reads.push_back({"HGET", keys::View(u.ws, u.uid), std::string(keys::kViewJourneyField)});
  }
  reads.push_back({"GET", watermark_key});
  auto read = redis_->Pipeline(reads);
  if (!read.ok()) return read.status();
  const RedisReply& mark = read->back();
  const std::string watermark = mark.is_string() ? mark.str : "";
  for (size_t i = 0; i < order.size(); ++i) {
    const RedisReply& r = (*read)[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("reading journey snapshot: ", r.str));
    UserState& u = users[order[i]];
    if (r.is_string() && !u.snap.ParseFromString(r.str)) {
      return absl::InternalError(absl::StrCat("journey snapshot of '", log::UserId(u.uid), "' does not parse"));
    }
  }

  // 2. Apply in memory, in stream order.
  AggregateDelta delta;
  std::map<std::string, std::vector<RedisCommand>> per_ws_transitions;
  for (const auto& entry : entries) {
    const EventEnvelope& env = entry.envelope;
    const std::string ws = workspace_of(env);
    const std::string uid = user_of(env);
    if (uid.empty()) continue;
    UserState& u = users[UserKey(ws, uid)];
    if (!watermark.empty() && PartitionedConsumer::IdLessOrEqual(entry.id, watermark)) continue;
    if (AlreadyApplied(u.snap, partition, entry.id)) continue;
    switch (env.kind()) {
      case pb::ENVELOPE_KIND_MERGE: {
        const std::string prev_id = previous_of(env);
        if (prev_id.empty() || prev_id == uid) break;
        UserState& prev = users[UserKey(ws, prev_id)];
        if (prev.snap.stage().empty()) break;  // nothing to move (or moved already)
        if (u.snap.user_id().empty()) {
          u.snap.set_user_id(uid);
          u.snap.set_workspace_id(ws);
        }
        machine->Merge(prev.snap, &u.snap);
        for (const auto& [p, id] : prev.snap.applied_offsets()) {
          auto& mine = (*u.snap.mutable_applied_offsets())[p];
          if (mine.empty() || PartitionedConsumer::IdLessOrEqual(mine, id)) mine = id;
        }
        (*u.snap.mutable_applied_offsets())[partition] = entry.id;
        u.dirty = true;
        Tombstone(partition, entry.id, &prev.snap);
        prev.dirty = true;
        break;
      }
      case pb::ENVELOPE_KIND_ERASE:
        u.snap.set_user_id(uid);
        u.snap.set_workspace_id(ws);
        Tombstone(partition, entry.id, &u.snap);
        u.dirty = true;
        break;
      default: {
        if (u.snap.user_id().empty()) {
          u.snap.set_user_id(uid);
          u.snap.set_workspace_id(ws);
        }
        StepOutcome outcome = machine->Apply(env.event(), &u.snap);
        if (!outcome.applied && u.snap.stage().empty()) break;  // identify before any touch: nothing to keep
        (*u.snap.mutable_applied_offsets())[partition] = entry.id;
        u.dirty = true;
        delta.Add(ws, def.id(), outcome);
        AddTransitions(keys::JourneyTransitions(ws), options_.transitions_maxlen, uid, outcome,
                       &per_ws_transitions[ws]);
        break;
      }
    }
  }

  // 3. One atomic write: snapshots, timers, aggregates, transitions, the watermark.
  std::vector<RedisCommand> writes;
  for (const auto& k : order) {
    UserState& u = users[k];
    const std::string member = TimerMember(u.ws, u.uid);
    const std::string timers = keys::JourneyTimers(keys::PartitionOf(u.uid, options_.partitions));
    if (u.dirty) {
      writes.push_back({"HSET", keys::View(u.ws, u.uid), std::string(keys::kViewJourneyField), u.snap.SerializeAsString()});
      if (auto due = machine->TimerDue(u.snap)) {
        writes.push_back({"ZADD", timers, std::to_string(absl::ToUnixMillis(*due)), member});
      } else {
        writes.push_back({"ZREM", timers, member});
      }
    }
  }
  for (auto& cmd : delta.Commands()) writes.push_back(std::move(cmd));
  for (auto& [ws, cmds] : per_ws_transitions) {
    for (auto& cmd : cmds) writes.push_back(std::move(cmd));
  }
  if (writes.empty()) return absl::OkStatus();
  const std::string& last_id = entries.back().id;
  if (!options_.fenced_writes) {
    writes.insert(writes.begin(), RedisCommand{"MULTI"});
    writes.push_back({"SET", watermark_key, last_id});
    writes.push_back({"EXEC"});
    auto written = redis_->Pipeline(writes);
    if (!written.ok()) return written.status();
    return CheckExec(*written);
  }
  RedisCommand script = {"EVAL", kFencedBatchScript, "1", watermark_key, watermark, last_id,
                         std::to_string(writes.size())};
  for (auto& cmd : writes) {
    script.push_back(std::to_string(cmd.size()));
    for (auto& a : cmd) script.push_back(std::move(a));
  }
  auto written = redis_->Pipeline({std::move(script)});
  if (!written.ok()) return written.status();
  const RedisReply& r = written->front();
  if (r.is_error()) return absl::InternalError(absl::StrCat("journey write: ", r.str));
  if (r.integer != 1) {
    // Another replica applied entries of this partition since we read: ours are stale. Left
    // pending, they come back and are skipped by the watermark.
    return absl::AbortedError(absl::StrCat("partition ", partition, " was applied by another replica (lease handover)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> JourneyApplier::FireDueTimers(uint32_t partition, absl::Time now, int limit) {
  std::lock_guard<std::mutex> lock(PartitionMutex(partition));
  const auto machine = definitions_->Machine();
  const CompiledDefinition& def = machine->definition();
  const std::string timers = keys::JourneyTimers(partition);
  auto due = redis_->Command({"ZRANGEBYSCORE", timers, "-inf", std::to_string(absl::ToUnixMillis(now)), "WITHSCORES",
                              "LIMIT", "0", std::to_string(limit)});
  if (!due.ok()) return due.status();
  if (due->elements.empty()) return 0;
  struct Due {
    std::string member, score, ws, uid;
  };
  std::vector<Due> items;
  std::vector<RedisCommand> reads;
  for (size_t i = 0; i + 1 < due->elements.size(); i += 2) {
    Due d{due->elements[i].str, due->elements[i + 1].str, "", ""};
    const size_t bar = d.member.find('|');
    if (bar == std::string::npos) continue;
    d.ws = d.member.substr(0, bar);
    d.uid = d.member.substr(bar + 1);
    reads.push_back({"HGET", keys::View(d.ws, d.uid), std::string(keys::kViewJourneyField)});
    items.push_back(std::move(d));
  }
  if (items.empty()) return 0;
  auto read = redis_->Pipeline(reads);
  if (!read.ok()) return read.status();
  std::vector<RedisCommand> scripts;
  std::vector<bool> fires;
  for (size_t i = 0; i < items.size(); ++i) {
    const Due& d = items[i];
    JourneySnapshot snap;
    const RedisReply& r = (*read)[i];
    std::vector<RedisCommand> effects;
    if (!r.is_string() || !snap.ParseFromString(r.str)) {
      effects.push_back({"ZREM", timers, d.member});  // the customer is gone
      fires.push_back(false);
    } else {
      StepOutcome outcome = machine->FireTimer(&snap, now);
      fires.push_back(outcome.applied);
      if (outcome.applied) {
        effects.push_back({"HSET", keys::View(d.ws, d.uid), std::string(keys::kViewJourneyField), snap.SerializeAsString()});
        AggregateDelta delta;
        delta.Add(d.ws, def.id(), outcome);
        for (auto& cmd : delta.Commands()) effects.push_back(std::move(cmd));
        AddTransitions(keys::JourneyTransitions(d.ws), options_.transitions_maxlen, d.uid, outcome, &effects);
      }
      if (auto next = machine->TimerDue(snap); next.has_value() && !outcome.applied) {
        effects.push_back({"ZADD", timers, std::to_string(absl::ToUnixMillis(*next)), d.member});
      } else {
        effects.push_back({"ZREM", timers, d.member});
      }
    }
    RedisCommand script = {"EVAL", kFireTimerScript, "1", timers, d.member, d.score, std::to_string(effects.size())};
    for (auto& cmd : effects) {
      script.push_back(std::to_string(cmd.size()));
      for (auto& a : cmd) script.push_back(std::move(a));
    }
    scripts.push_back(std::move(script));
  }
  auto written = redis_->Pipeline(scripts);
  if (!written.ok()) return written.status();
  int fired = 0;
  for (size_t i = 0; i < written->size(); ++i) {
    const RedisReply& r = (*written)[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("firing timer: ", r.str));
    // 0: another replica fired it first, or an event re-armed it since we read it.
    if (r.integer == 1 && fires[i]) ++fired;
  }
  return fired;
}

}  // namespace journey::journey_state
