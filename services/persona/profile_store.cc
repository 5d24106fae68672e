#include "services/persona/profile_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::persona {
namespace {

// Compare-and-set of one user's profile, its view field and its membership changes, atomic
// so a change is published exactly when the profile that produced it is stored.
// KEYS: profile, view, change stream, change sequence.
// ARGV: expected revision, record bytes ("" = erase), snapshot bytes, stream maxlen, changes...
// Note: the change stream is per workspace, so on Redis Cluster this script would need the
// stream co-located with the user; single-node and replicated Redis are what we run today.
constexpr char kCommitScript[] = R"lua(
local rev = redis.call('HGET', KEYS[1], 'rev')
if (rev or '0') ~= ARGV[1] then return -1 end
local newrev = tonumber(ARGV[1]) + 1
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], 'persona')
  newrev = 0
else
  redis.call('HSET', KEYS[1], 'p', ARGV[2], 'rev', newrev)
  redis.call('HSET', KEYS[2], 'persona', ARGV[3])
end
for i = 5, #ARGV do
  local seq = redis.call('INCR', KEYS[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'seq', seq, 'c', ARGV[i])
end
return newrev
)lua";

}  // namespace

absl::StatusOr<std::vector<LoadedProfile>> ProfileStore::Load(const std::vector<UserRef>& users) {
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(users.size() * 2);
  for (const UserRef& u : users) {
    cmds.push_back({"HMGET", keys::Profile(u.workspace, u.user_id), "p", "rev"});
    cmds.push_back({"HGET", keys::View(u.workspace, u.user_id), std::string(keys::kViewJourneyField)});
  }
  std::vector<LoadedProfile> out(users.size());
  if (users.empty()) return out;
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < users.size(); ++i) {
    LoadedProfile& lp = out[i];
    lp.user = users[i];
    const storage::RedisReply& prof = (*replies)[2 * i];
    const storage::RedisReply& view = (*replies)[2 * i + 1];
    if (prof.is_error()) return absl::UnavailableError(absl::StrCat("HMGET profile: ", prof.str));
    if (prof.is_array() && prof.elements.size() == 2 && prof.elements[0].is_string()) {
      if (!lp.record.ParseFromString(prof.elements[0].str)) {
        return absl::InternalError(absl::StrCat("profile of ", users[i].user_id, " does not parse"));
      }
      lp.exists = true;
      long long rev = 0;
      if (prof.elements[1].is_string() && absl::SimpleAtoi(prof.elements[1].str, &rev)) lp.revision = rev;
    }
    if (view.is_string() && lp.journey.ParseFromString(view.str)) lp.has_journey = true;
  }
  return out;
}

absl::StatusOr<std::vector<bool>> ProfileStore::Commit(const std::vector<ProfileWrite>& writes,
                                                       const std::vector<storage::RedisCommand>& extra) {
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(writes.size() + extra.size());
  const std::string maxlen = std::to_string(options_.change_stream_maxlen);
  for (const ProfileWrite& w : writes) {
    storage::RedisCommand cmd = {"EVAL",
                                 kCommitScript,
                                 "4",
                                 keys::Profile(w.user.workspace, w.user.user_id),
                                 keys::View(w.user.workspace, w.user.user_id),
                                 keys::SegmentChanges(w.user.workspace),
                                 keys::SegmentChangeSeq(w.user.workspace),
                                 std::to_string(w.expected_revision),
                                 w.erase ? std::string() : w.record.SerializeAsString(),
                                 w.erase ? std::string() : w.snapshot.SerializeAsString(),
                                 maxlen};
    for (const pb::SegmentChange& c : w.changes) cmd.push_back(c.SerializeAsString());
    cmds.push_back(std::move(cmd));
  }
  for (const auto& c : extra) cmds.push_back(c);
  std::vector<bool> committed(writes.size(), false);
  if (cmds.empty()) return committed;
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < writes.size(); ++i) {
    const storage::RedisReply& r = (*replies)[i];
    if (r.is_error()) return absl::UnavailableError(absl::StrCat("profile commit: ", r.str));
    committed[i] = r.integer >= 0;
  }
  for (size_t i = writes.size(); i < replies->size(); ++i) {
    if ((*replies)[i].is_error()) return absl::UnavailableError(absl::StrCat("profile commit: ", (*replies)[i].str));
  }
  return committed;
}

absl::StatusOr<std::string> ProfileStore::ResolveAlias(const std::string& workspace, const std::string& id) {
  auto reply = redis_->Command({"GET", keys::PersonaAlias(workspace, id)});
  if (!reply.ok()) return reply.status();
  return reply->is_string() ? reply->str : std::string();
}

bool ParseChangeEntry(const storage::RedisReply& entry, pb::SegmentChange* out) {
  if (!entry.is_array() || entry.elements.size() < 2 || !entry.elements[1].is_array()) return false;
  const auto& fields = entry.elements[1].elements;
  long long seq = 0;
  bool have_change = false;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "seq") {
      (void)absl::SimpleAtoi(fields[i + 1].str, &seq);
    } else if (fields[i].str == "c") {
      have_change = out->ParseFromString(fields[i + 1].str);
    }
  }
  if (!have_change) return false;
  out->set_sequence(seq);
  out->set_cursor(entry.elements[0].str);
  return true;
}

}  // namespace journey::persona
