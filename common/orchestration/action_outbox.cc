#include "common/orchestration/action_outbox.h"

#include <openssl/sha.h>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "common/experiment/assignment.h"
#include "common/orchestration/quiet_hours.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"

namespace journey::orchestration {
namespace {

using storage::RedisCommand;
using storage::RedisReply;

// KEYS: 1 decided marker, 2 cap counter of today, 3 cool-downs, 4 trigger entries, 5 action
// stream, 6 deferred set, 7 counts. ARGV: 1 now ms, 2 decided ttl s, 3 reason decided before
// ("" = none), 4 trigger id, 5 re-entry ms (0 = none), 6 cap (0 = not promotional), 7 cap ttl
// s, 8 release ms, 9 action bytes, 10 stream maxlen, 11 "1" = obey cool-downs.
constexpr const char* kDecideScript = R"lua(
local now = tonumber(ARGV[1])
local trigger = ARGV[4]
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[7], 'duplicate||' .. trigger, 1)
  return 'duplicate'
end
local function suppress(reason)
  redis.call('HINCRBY', KEYS[7], 'suppressed|' .. reason .. '|' .. trigger, 1)
  return 'suppressed:' .. reason
end
if ARGV[3] ~= '' then return suppress(ARGV[3]) end
if ARGV[11] == '1' then
  local cool = redis.call('HMGET', KEYS[3], 'conversion', 'dismissal')
  if cool[1] and tonumber(cool[1]) > now then return suppress('cooldown_conversion') end
  if cool[2] and tonumber(cool[2]) > now then return suppress('cooldown_dismissal') end
end
local reentry = tonumber(ARGV[5])
if reentry > 0 then
  local last = redis.call('HGET', KEYS[4], trigger)
  if last and now - tonumber(last) < reentry then return suppress('reentry') end
end
local cap = tonumber(ARGV[6])
if cap > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= cap then return suppress('global_cap') end
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
end
redis.call('HSET', KEYS[4], trigger, now)
local release = tonumber(ARGV[8])
if release > now then
  redis.call('ZADD', KEYS[6], release, ARGV[9])
  redis.call('HINCRBY', KEYS[7], 'deferred|quiet_hours|' .. trigger, 1)
  return 'deferred'
end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[10], '*', 'a', ARGV[9])
redis.call('HINCRBY', KEYS[7], 'sent||' .. trigger, 1)
return 'sent'
)lua";

// KEYS: 1 deferred set, 2 action stream. ARGV: 1 now ms, 2 limit, 3 stream maxlen.
constexpr const char* kReleaseScript = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, action in ipairs(due) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'a', action)
  redis.call('ZREM', KEYS[1], action)
end
return #due
)lua";

std::string Day(absl::Time t) { return absl::FormatTime("%Y%m%d", t, absl::UTCTimeZone()); }

}  // namespace

std::string IdempotencyKey(const std::string& workspace, const std::string& user_id, const std::string& trigger_id,
                           const std::string& cause_id) {
  const std::string text = absl::StrCat(workspace, "|", user_id, "|", trigger_id, "|", cause_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void AppendCooldownCommands(const std::string& workspace, const std::string& user_id, const std::string& kind,
                            absl::Time start, absl::Duration length, std::vector<RedisCommand>* out) {
  std::string key = keys::OrchestrationCooldown(workspace, user_id);
  out->push_back({"HSET", key, kind, std::to_string(absl::ToUnixMillis(start + length))});
  // NX gives a hash without a TTL one; GT only ever extends it, so the other kind's longer
  // cool-down keeps the hash alive (Redis takes "no TTL" as infinite for GT, hence both).
  const std::string keep_ms = std::to_string(absl::ToInt64Milliseconds(length + absl::Hours(1)));
  out->push_back({"PEXPIRE", key, keep_ms, "NX"});
  out->push_back({"PEXPIRE", std::move(key), keep_ms, "GT"});
}

ActionOutbox::ActionOutbox(storage::RedisClient* redis, const Clock* clock, TriggerConfig config,
                           OutboxOptions options, prometheus::Registry* metrics)
    : redis_(redis),
      clock_(clock),
      config_(std::move(config)),
      options_(options),
      decide_script_(kDecideScript),
      release_script_(kReleaseScript) {
  if (metrics != nullptr) {
    outcomes_ = &prometheus::BuildCounter()
                     .Name("journey_triggered_actions_total")
                     .Help("Triggered actions by outcome (sent, deferred, released, duplicate, suppressed) and reason")
                     .Register(*metrics);
  }
}

ActionOutbox::~ActionOutbox() = default;

void ActionOutbox::Count(const std::string& outcome, const TriggerSpec& trigger) {
  if (outcomes_ == nullptr) return;
  const size_t colon = outcome.find(':');
  const std::string kind = outcome.substr(0, colon);
  const std::string reason = colon == std::string::npos ? "" : outcome.substr(colon + 1);
  outcomes_->Add({{"outcome", kind}, {"reason", reason}, {"trigger", trigger.id}}).Increment();
}

absl::StatusOr<std::vector<std::string>> ActionOutbox::Decide(std::vector<ActionCandidate> candidates) {
  std::vector<std::string> outcomes;
  if (candidates.empty()) return outcomes;
  const absl::Time now = clock_->Now();
  const int64_t now_ms = absl::ToUnixMillis(now);
  std::vector<RedisCommand> calls;
  calls.reserve(candidates.size());
  for (ActionCandidate& c : candidates) {
    const TriggerSpec& t = *c.trigger;
    journey::common::v1::Action& a = c.action;
    const std::string& ws = a.workspace_id();
    const std::string& uid = a.user_id();
    a.set_trigger_id(t.id);
    a.set_offer_id(t.offer_id);
    a.set_message(t.message);
    a.set_channel(t.channel);
    a.set_idempotency_key(IdempotencyKey(ws, uid, t.id, c.cause_id));
    prototime::ToProto(now, a.mutable_emitted_at());
    // Decided in memory; still recorded by the script so the count is once per cause.
    std::string reason;
    if (experiment::InHoldout(config_.holdout, ws, uid)) {
      reason = "holdout";
    } else if (!t.consent_purpose.empty()) {
      auto it = c.consent.find(t.consent_purpose);
      if (it == c.consent.end() || !it->second) reason = "consent";
    }
    const absl::Time release =
        IsOutbound(t.channel) ? ReleaseTime(config_.rules, t.channel, now, c.time_zone) : now;
    if (release > now) prototime::ToProto(release, a.mutable_deferred_until());
    RedisCommand call = storage::RedisScript::Call(7);
    call.push_back(keys::ActionDecided(ws, uid, a.idempotency_key()));
    call.push_back(keys::OrchestrationCapDay(ws, uid, Day(now)));
    call.push_back(keys::OrchestrationCooldown(ws, uid));
    call.push_back(keys::TriggerEntries(ws, uid));
    call.push_back(keys::ActionStream(c.partition));
    call.push_back(keys::ActionsDeferred(c.partition));
    call.push_back(keys::ActionCounts(ws));
    call.push_back(std::to_string(now_ms));
    call.push_back(std::to_string(absl::ToInt64Seconds(options_.decided_ttl)));
    call.push_back(reason);
    call.push_back(t.id);
    call.push_back(std::to_string(absl::ToInt64Milliseconds(t.reentry_after)));
    call.push_back(std::to_string(t.promotional ? config_.rules.global_cap_per_day : 0));
    call.push_back("172800");  // two days: the counter of a UTC day outlives every time zone's day
    call.push_back(std::to_string(absl::ToUnixMillis(release)));
    call.push_back(a.SerializeAsString());
    call.push_back(std::to_string(options_.stream_maxlen));
    call.push_back(t.promotional ? "1" : "0");
    calls.push_back(std::move(call));
  }
  auto replies = decide_script_.Pipeline(redis_, std::move(calls));
  if (!replies.ok()) return replies.status();
  outcomes.reserve(replies->size());
  for (size_t i = 0; i < replies->size(); ++i) {
    const RedisReply& r = (*replies)[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("deciding triggered action: ", r.str));
    outcomes.push_back(r.str);
    Count(r.str, *candidates[i].trigger);
  }
  return outcomes;
}

absl::StatusOr<int> ActionOutbox::ReleaseDue(uint32_t partition, absl::Time now, int limit) {
  RedisCommand call = {"2", keys::ActionsDeferred(partition), keys::ActionStream(partition),
                       std::to_string(absl::ToUnixMillis(now)), std::to_string(limit),
                       std::to_string(options_.stream_maxlen)};
  std::vector<RedisCommand> calls;
  calls.push_back(std::move(call));
  auto replies = release_script_.Run(redis_, std::move(calls));
  if (!replies.ok()) return replies.status();
  const RedisReply& r = replies->front();
  if (r.is_error()) return absl::InternalError(absl::StrCat("releasing deferred actions: ", r.str));
  if (outcomes_ != nullptr && r.integer > 0) {
    outcomes_->Add({{"outcome", "released"}, {"reason", "quiet_hours"}, {"trigger", ""}}).Increment(double(r.integer));
  }
  return static_cast<int>(r.integer);
}

absl::StatusOr<std::map<std::string, long long>> ReadActionCounts(storage::RedisClient* redis,
                                                                 const std::string& workspace) {
  auto reply = redis->Command({"HGETALL", keys::ActionCounts(workspace)});
  if (!reply.ok()) return reply.status();
  std::map<std::string, long long> counts;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    long long n = 0;
    if (absl::SimpleAtoi(reply->elements[i + 1].str, &n)) counts[reply->elements[i].str] = n;
  }
  return counts;
}

}  // namespace journey::orchestration
