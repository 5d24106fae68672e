#include "services/ingest/event_appender.h"

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::ingest {
namespace {

// KEYS[1] = stream, KEYS[2] = this window's marker set, KEYS[3] / KEYS[4] = the previous /
// next window's (the next one is there for an ingest replica whose clock is a little ahead;
// it rarely exists, so it is looked into only when it does).
// ARGV[1] = expiry of KEYS[2] (unix s), ARGV[2] = trim strategy (MAXLEN, MINID or "" for
// none), ARGV[3] = its threshold, ARGV[4] = n, ARGV[5 .. 4+n] = dedup ids, ARGV[5+n ..
// 4+2n] = payloads. Returns one entry per envelope: the stream id, or "" for a duplicate
// (of an earlier call or of an earlier envelope of this run). The markers are added after
// the appends: a script failing half way leaves unmarked entries (a retry may append them
// twice, consumers skip those) rather than marked ones that were never appended.
constexpr char kAppendScript[] = R"lua(
local n = tonumber(ARGV[4])
local ids = {}
for i = 1, n do ids[i] = ARGV[4 + i] end
local now = redis.call('SMISMEMBER', KEYS[2], unpack(ids))
local before = redis.call('SMISMEMBER', KEYS[3], unpack(ids))
local after = {}
if redis.call('EXISTS', KEYS[4]) == 1 then after = redis.call('SMISMEMBER', KEYS[4], unpack(ids)) end
local out, fresh, here = {}, {}, {}
for i = 1, n do
  local id = ids[i]
  if now[i] == 1 or before[i] == 1 or after[i] == 1 or here[id] then
    out[i] = ''
  else
    here[id] = true
    fresh[#fresh + 1] = id
    if ARGV[2] == '' then
      out[i] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[4 + n + i])
    else
      out[i] = redis.call('XADD', KEYS[1], ARGV[2], '~', ARGV[3], '*', 'e', ARGV[4 + n + i])
    end
  end
end
if #fresh > 0 then
  redis.call('SADD', KEYS[2], unpack(fresh))
  redis.call('EXPIREAT', KEYS[2], ARGV[1])
end
return out
)lua";

}  // namespace

EventAppender::EventAppender(storage::RedisClient* redis, AppendOptions options)
    : redis_(redis), options_(std::move(options)), append_script_(kAppendScript) {}

int64_t EventAppender::WindowSeconds() const {
  return std::max<int64_t>(1, absl::ToInt64Seconds(options_.dedup_window));
}

absl::StatusOr<std::vector<bool>> EventAppender::AppendedBefore(
    const std::vector<std::pair<uint32_t, std::string>>& markers) {
  std::vector<bool> out(markers.size(), false);
  if (markers.empty()) return out;
  const int64_t bucket = absl::ToUnixSeconds(absl::Now()) / WindowSeconds();
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(markers.size() * 3);
  for (const auto& [partition, id] : markers) {
    for (int64_t b : {bucket, bucket - 1, bucket + 1}) {
      cmds.push_back({"SISMEMBER", keys::DedupBucket(options_.workspace, partition, b), id});
    }
  }
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < markers.size(); ++i) {
    for (size_t k = 0; k < 3; ++k) {
      const storage::RedisReply& r = (*replies)[3 * i + k];
      if (r.is_error()) return absl::InternalError(absl::StrCat("dedup probe: ", r.str));
      if (r.integer > 0) out[i] = true;
    }
  }
  return out;
}

absl::StatusOr<std::vector<AppendResult>> EventAppender::Append(std::vector<AppendItem> items) {
  std::vector<AppendResult> out(items.size());
  if (items.empty()) return out;
  // Retention: by age (MINID, entry ids are milliseconds) when set, else by length.
  std::string trim, threshold;
  if (options_.stream_max_age > absl::ZeroDuration()) {
    trim = "MINID";
    threshold = absl::StrCat(std::max<int64_t>(0, absl::ToUnixMillis(absl::Now() - options_.stream_max_age)));
  } else if (options_.stream_maxlen > 0) {
    trim = "MAXLEN";
    threshold = absl::StrCat(options_.stream_maxlen);
  }

  // The dedup window this call falls in; its marker set expires once no call can look at it
  // any more (after the next window, plus a margin for clock differences between replicas).
  const int64_t window = WindowSeconds();
  const int64_t bucket = absl::ToUnixSeconds(absl::Now()) / window;
  const std::string expire_at = absl::StrCat((bucket + 2) * window + 300);

  // Group by partition, keeping each partition's order; remember where each item went.
  std::vector<storage::RedisCommand> cmds;
  std::vector<std::vector<size_t>> members;
  std::vector<int> open(static_cast<size_t>(std::max(1, options_.partitions)), -1);
  for (size_t i = 0; i < items.size(); ++i) {
    const AppendItem& it = items[i];
    if (it.partition >= open.size()) open.resize(it.partition + 1, -1);
    int& slot = open[it.partition];
    if (slot < 0 || members[slot].size() >= kMaxPerScript) {
      slot = static_cast<int>(cmds.size());
      storage::RedisCommand cmd = storage::RedisScript::Call(4);
      cmd.push_back(keys::EventStream(it.partition));
      cmd.push_back(keys::DedupBucket(options_.workspace, it.partition, bucket));
      cmd.push_back(keys::DedupBucket(options_.workspace, it.partition, bucket - 1));
      cmd.push_back(keys::DedupBucket(options_.workspace, it.partition, bucket + 1));
      cmd.push_back(expire_at);
      cmd.push_back(trim);
      cmd.push_back(threshold);
      cmd.emplace_back();  // n, set below
      cmds.push_back(std::move(cmd));
      members.emplace_back();
    }
    members[slot].push_back(i);
  }
  for (size_t c = 0; c < cmds.size(); ++c) {
    auto& cmd = cmds[c];
    cmd.back() = absl::StrCat(members[c].size());
    cmd.reserve(cmd.size() + 2 * members[c].size());
    for (size_t i : members[c]) cmd.push_back(std::move(items[i].dedup_id));
    for (size_t i : members[c]) cmd.push_back(std::move(items[i].payload));
  }

  // After a Redis restart (empty script cache) only the calls answered NOSCRIPT run again.
  const size_t calls = cmds.size();
  auto replies = append_script_.Pipeline(redis_, std::move(cmds));
  if (!replies.ok()) return replies.status();
  for (size_t c = 0; c < calls; ++c) {
    const auto& r = (*replies)[c];
    if (r.is_error()) return absl::InternalError(absl::StrCat("append script: ", r.str));
    if (!r.is_array() || r.elements.size() != members[c].size()) {
      return absl::InternalError("append script: unexpected reply shape");
    }
    for (size_t k = 0; k < members[c].size(); ++k) {
      AppendResult& res = out[members[c][k]];
      res.stream_id = r.elements[k].str;
      res.duplicate = res.stream_id.empty();
    }
  }
  return out;
}

}  // namespace journey::ingest
