#include "services/ingest/event_appender.h"

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::ingest {
namespace {

// One call appends one or more partition runs ("groups"): on Redis Cluster each call is one
// group (its keys share the partition's slot); on a single Redis one call carries every run
// of the batch, so Redis parses, dispatches and enters Lua once per batch, not once per
// partition.
// Per group g (0-based): KEYS[4g+1] = stream, KEYS[4g+2] = this window's marker set,
// KEYS[4g+3] / KEYS[4g+4] = the previous / next window's (the next one is there for an
// ingest replica whose clock is a little ahead; it rarely exists, so it is looked into only
// when it does).
// ARGV[1] = expiry of the window's set (unix s), ARGV[2] = trim strategy (MAXLEN, MINID or ""
// for none), ARGV[3] = its threshold, ARGV[4] = number of groups, then per group: n, the n
// dedup ids, the n payloads. Returns one entry per envelope, groups in order: the stream id,
// or "" for a duplicate (of an earlier call or of an earlier envelope of its run). The
// stream is trimmed once per run (XTRIM ~, as approximate as XADD's own trim) rather than
// per entry. The markers are added after the appends: a script failing half way leaves
// unmarked entries (a retry may append them twice, consumers skip those) rather than marked
// ones that were never appended.
constexpr char kAppendScript[] = R"lua(
local out, a = {}, 5
for g = 0, tonumber(ARGV[4]) - 1 do
  local stream, window = KEYS[4 * g + 1], KEYS[4 * g + 2]
  local n = tonumber(ARGV[a])
  local ids = {}
  for i = 1, n do ids[i] = ARGV[a + i] end
  local now = redis.call('SMISMEMBER', window, unpack(ids))
  local before = redis.call('SMISMEMBER', KEYS[4 * g + 3], unpack(ids))
  local after = {}
  if redis.call('EXISTS', KEYS[4 * g + 4]) == 1 then after = redis.call('SMISMEMBER', KEYS[4 * g + 4], unpack(ids)) end
  local fresh, here = {}, {}
  for i = 1, n do
    local id = ids[i]
    if now[i] == 1 or before[i] == 1 or after[i] == 1 or here[id] then
      out[#out + 1] = ''
    else
      here[id] = true
      fresh[#fresh + 1] = id
      out[#out + 1] = redis.call('XADD', stream, '*', 'e', ARGV[a + n + i])
    end
  end
  if #fresh > 0 then
    if ARGV[2] ~= '' then redis.call('XTRIM', stream, ARGV[2], '~', ARGV[3]) end
    redis.call('SADD', window, unpack(fresh))
    redis.call('EXPIREAT', window, ARGV[1])
  end
  a = a + 1 + 2 * n
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

  // Runs: each partition's items in order, cut at kMaxPerScript. Calls: on a single Redis
  // runs share a call while it holds at most kMaxPerScript envelopes; on Cluster one run per
  // call. `members[c]` lists the items of call c in the order of its reply.
  std::vector<std::vector<size_t>> runs;
  std::vector<int> open(static_cast<size_t>(std::max(1, options_.partitions)), -1);
  for (size_t i = 0; i < items.size(); ++i) {
    const uint32_t p = items[i].partition;
    if (p >= open.size()) open.resize(p + 1, -1);
    int& run = open[p];
    if (run < 0 || runs[run].size() >= kMaxPerScript) {
      run = static_cast<int>(runs.size());
      runs.emplace_back();
    }
    runs[run].push_back(i);
  }
  std::vector<storage::RedisCommand> cmds;
  std::vector<std::vector<size_t>> members;
  std::vector<std::vector<const std::vector<size_t>*>> call_runs;
  for (const auto& run : runs) {
    if (cmds.empty() || !options_.single_redis || members.back().size() + run.size() > kMaxPerScript) {
      cmds.emplace_back();
      members.emplace_back();
      call_runs.emplace_back();
    }
    call_runs.back().push_back(&run);
    members.back().insert(members.back().end(), run.begin(), run.end());
  }
  for (size_t c = 0; c < cmds.size(); ++c) {
    const auto& groups = call_runs[c];
    storage::RedisCommand& cmd = cmds[c];
    cmd = storage::RedisScript::Call(static_cast<int>(4 * groups.size()));
    cmd.reserve(cmd.size() + 8 * groups.size() + 2 * members[c].size() + 4);
    for (const auto* run : groups) {
      const uint32_t p = items[run->front()].partition;
      cmd.push_back(keys::EventStream(p));
      cmd.push_back(keys::DedupBucket(options_.workspace, p, bucket));
      cmd.push_back(keys::DedupBucket(options_.workspace, p, bucket - 1));
      cmd.push_back(keys::DedupBucket(options_.workspace, p, bucket + 1));
    }
    cmd.push_back(expire_at);
    cmd.push_back(trim);
    cmd.push_back(threshold);
    cmd.push_back(absl::StrCat(groups.size()));
    for (const auto* run : groups) {
      cmd.push_back(absl::StrCat(run->size()));
      for (size_t i : *run) cmd.push_back(std::move(items[i].dedup_id));
      for (size_t i : *run) cmd.push_back(std::move(items[i].payload));
    }
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
