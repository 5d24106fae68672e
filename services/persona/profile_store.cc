#include "services/persona/profile_store.h"

#include <algorithm>
#include <map>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"

namespace journey::persona {
namespace {

// Compare-and-set of one user's profile and its view field (one hash slot: the user's tag).
// KEYS: profile, view. ARGV: expected revision, record bytes ("" = erase), snapshot bytes.
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
return newrev
)lua";

// Appends changes to a workspace's change stream with a strictly increasing sequence.
// KEYS: stream, sequence (one slot: the workspace's change tag). ARGV: maxlen, changes...
// One INCRBY reserves the whole run of sequences (the script is atomic, so they are consecutive).
constexpr char kPublishScript[] = R"lua(
local n = #ARGV - 1
if n < 1 then return 0 end
local first = redis.call('INCRBY', KEYS[2], n) - n
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', first + i - 1, 'c', ARGV[i])
end
return n
)lua";

// The `stage` of a serialized JourneySnapshot, skipping every other field unparsed: the
// snapshot carries journey's history and touchpoints, which persona never reads.
std::string JourneyStageOf(const std::string& snapshot) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(snapshot.data()),
                                            static_cast<int>(snapshot.size()));
  std::string stage;
  while (const uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == cpb::JourneySnapshot::kStageFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::ReadString(&in, &stage)) return "";
      continue;  // a later occurrence wins, as in a full parse
    }
    if (!WireFormatLite::SkipField(&in, tag)) return "";
  }
  return stage;
}

}  // namespace

void TakeJourneyStage(LoadedProfile* loaded) {
  if (!loaded->journey_stage.empty()) {
    loaded->record.mutable_profile()->mutable_computed()->set_journey_stage(loaded->journey_stage);
  }
}

ProfileStore::ProfileStore(storage::RedisClient* redis, StoreOptions options)
    : redis_(redis), options_(options), commit_script_(kCommitScript), publish_script_(kPublishScript) {}

absl::StatusOr<std::vector<LoadedProfile>> ProfileStore::Load(const std::vector<UserRef>& users,
                                                              ParsedProfileCache* cache) {
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(users.size() * 2);
  for (const UserRef& u : users) {
    cmds.push_back({"HMGET", keys::Profile(u.workspace, u.user_id), "p", "rev", "pub"});
    cmds.push_back({"HGET", keys::View(u.workspace, u.user_id), std::string(keys::kViewJourneyField)});
  }
  std::vector<LoadedProfile> out(users.size());
  if (users.empty()) return out;
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < users.size(); ++i) {
    LoadedProfile& lp = out[i];
    lp.user = users[i];
    storage::RedisReply& prof = (*replies)[2 * i];
    storage::RedisReply& view = (*replies)[2 * i + 1];
    if (prof.is_error()) return absl::UnavailableError(absl::StrCat("HMGET profile: ", prof.str));
    if (prof.is_array() && prof.elements.size() == 3 && prof.elements[0].is_string()) {
      const std::string& stored = prof.elements[0].str;
      const bool reused = cache != nullptr && cache->Take(cmds[2 * i][1], stored, &lp.record);
      if (!reused && !lp.record.ParseFromString(stored)) {
        return absl::InternalError(absl::StrCat("profile of ", log::UserId(users[i].user_id), " does not parse"));
      }
      lp.exists = true;
      long long rev = 0;
      if (prof.elements[1].is_string() && absl::SimpleAtoi(prof.elements[1].str, &rev)) lp.revision = rev;
      long long pub = 0;
      if (prof.elements[2].is_string() && absl::SimpleAtoi(prof.elements[2].str, &pub)) lp.published = pub;
      if (cache != nullptr) lp.stored_record = std::move(prof.elements[0].str);
    }
    if (view.is_string()) {
      lp.journey_stage = JourneyStageOf(view.str);
      lp.journey_snapshot = std::move(view.str);
    }
  }
  return out;
}

absl::StatusOr<std::vector<bool>> ProfileStore::Commit(const std::vector<ProfileWrite>& writes,
                                                       const std::vector<storage::RedisCommand>& extra) {
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(writes.size() + extra.size());
  for (const ProfileWrite& w : writes) {
    storage::RedisCommand cmd = storage::RedisScript::Call(2);
    cmd.reserve(8);
    cmd.push_back(keys::Profile(w.user.workspace, w.user.user_id));
    cmd.push_back(keys::View(w.user.workspace, w.user.user_id));
    cmd.push_back(std::to_string(w.expected_revision));
    cmd.emplace_back();
    cmd.emplace_back();
    if (!w.erase) {
      if (w.record_bytes.empty()) {
        w.record.SerializeToString(&cmd[6]);
      } else {
        cmd[6] = w.record_bytes;
      }
      w.snapshot.SerializeToString(&cmd[7]);
    }
    cmds.push_back(std::move(cmd));
  }
  for (const auto& c : extra) cmds.push_back(c);
  std::vector<bool> committed(writes.size(), false);
  if (cmds.empty()) return committed;
  auto replies = commit_script_.Pipeline(redis_, std::move(cmds));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < writes.size(); ++i) {
    const storage::RedisReply& r = (*replies)[i];
    if (r.is_error()) return absl::UnavailableError(absl::StrCat("profile commit: ", r.str));
    committed[i] = r.integer >= 0;
  }
  for (size_t i = writes.size(); i < replies->size(); ++i) {
    if ((*replies)[i].is_error()) return absl::UnavailableError(absl::StrCat("profile commit: ", (*replies)[i].str));
  }

  // Publish the committed writes' changes, one script per workspace, then mark them published.
  std::map<std::string, storage::RedisCommand> publish;
  std::vector<storage::RedisCommand> marks;
  const std::string maxlen = std::to_string(options_.change_stream_maxlen);
  for (size_t i = 0; i < writes.size(); ++i) {
    const ProfileWrite& w = writes[i];
    if (!committed[i] || w.changes.empty()) continue;
    auto it = publish.find(w.user.workspace);
    if (it == publish.end()) {
      storage::RedisCommand cmd = storage::RedisScript::Call(2);
      cmd.push_back(keys::SegmentChanges(w.user.workspace));
      cmd.push_back(keys::SegmentChangeSeq(w.user.workspace));
      cmd.push_back(maxlen);
      it = publish.insert({w.user.workspace, std::move(cmd)}).first;
    }
    int64_t last = 0;
    for (const pb::SegmentChange& c : w.changes) {
      it->second.push_back(c.SerializeAsString());
      last = std::max(last, c.user_sequence());
    }
    if (!w.erase) marks.push_back({"HSET", keys::Profile(w.user.workspace, w.user.user_id), "pub", std::to_string(last)});
  }
  if (publish.empty()) return committed;
  std::vector<storage::RedisCommand> pcmds;
  for (auto& [ws, cmd] : publish) pcmds.push_back(std::move(cmd));
  auto published = publish_script_.Pipeline(redis_, std::move(pcmds));
  if (!published.ok()) return published.status();
  for (const auto& r : *published) {
    if (r.is_error()) return absl::UnavailableError(absl::StrCat("change publish: ", r.str));
  }
  if (published_listener_) {
    std::vector<const ProfileWrite*> with_changes;
    for (size_t i = 0; i < writes.size(); ++i) {
      if (committed[i] && !writes[i].changes.empty()) with_changes.push_back(&writes[i]);
    }
    if (absl::Status heard = published_listener_(with_changes); !heard.ok()) return heard;
  }
  if (!marks.empty()) {
    auto marked = redis_->Pipeline(marks);
    if (!marked.ok()) return marked.status();
  }
  return committed;
}

void StageChanges(LoadedProfile& loaded, std::vector<pb::SegmentChange> changes, ProfileWrite* write) {
  pb::ProfileRecord& record = loaded.record;
  std::vector<pb::SegmentChange> outbox;
  for (const auto& c : record.outbox()) {
    if (c.user_sequence() > loaded.published) outbox.push_back(c);
  }
  for (auto& c : changes) {
    record.set_change_sequence(record.change_sequence() + 1);
    c.set_user_sequence(record.change_sequence());
    outbox.push_back(std::move(c));
  }
  record.clear_outbox();
  for (const auto& c : outbox) *record.add_outbox() = c;
  write->changes = std::move(outbox);
}

bool HasUnpublished(const LoadedProfile& loaded) {
  for (const auto& c : loaded.record.outbox()) {
    if (c.user_sequence() > loaded.published) return true;
  }
  return false;
}

absl::StatusOr<RecordPage> ProfileStore::ScanRecords(const std::string& workspace, const std::string& cursor,
                                                     int count) {
  auto scan = redis_->Command({"SCAN", cursor, "MATCH", keys::ProfilePattern(workspace), "COUNT",
                               std::to_string(count)});
  if (!scan.ok()) return scan.status();
  RecordPage page;
  if (!scan->is_array() || scan->elements.size() != 2) return absl::InternalError("SCAN: unexpected reply");
  page.cursor = scan->elements[0].str;
  std::vector<storage::RedisCommand> gets;
  for (const auto& k : scan->elements[1].elements) gets.push_back({"HGET", k.str, "p"});
  if (gets.empty()) return page;
  auto replies = redis_->Pipeline(gets);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    pb::ProfileRecord record;
    if (r.is_string() && record.ParseFromString(r.str)) page.records.push_back(std::move(record));
  }
  return page;
}

absl::Status ProfileStore::RefreshJourneyStages(const std::string& workspace, std::vector<pb::ProfileRecord>* records) {
  if (records->empty()) return absl::OkStatus();
  std::vector<storage::RedisCommand> gets;
  gets.reserve(records->size());
  for (const auto& r : *records) {
    gets.push_back({"HGET", keys::View(workspace, r.profile().user_id()), std::string(keys::kViewJourneyField)});
  }
  auto replies = redis_->Pipeline(gets);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < records->size(); ++i) {
    const storage::RedisReply& r = (*replies)[i];
    const std::string stage = r.is_string() ? JourneyStageOf(r.str) : std::string();
    if (!stage.empty()) (*records)[i].mutable_profile()->mutable_computed()->set_journey_stage(stage);
  }
  return absl::OkStatus();
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
