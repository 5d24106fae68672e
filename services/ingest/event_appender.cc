#include "services/ingest/event_appender.h"

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::ingest {
namespace {

// KEYS[1] = stream, KEYS[2..] = dedup keys; ARGV[1] = window s, ARGV[2] = trim strategy
// (MAXLEN, MINID or "" for none), ARGV[3] = its threshold, ARGV[4..] = payloads. Returns one
// entry per envelope: the stream id, or "" for a duplicate.
constexpr char kAppendScript[] = R"lua(
local out = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    if ARGV[2] == '' then
      out[i - 1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i + 2])
    else
      out[i - 1] = redis.call('XADD', KEYS[1], ARGV[2], '~', ARGV[3], '*', 'e', ARGV[i + 2])
    end
  else
    out[i - 1] = ''
  end
end
return out
)lua";

}  // namespace

EventAppender::EventAppender(storage::RedisClient* redis, AppendOptions options)
    : redis_(redis), options_(std::move(options)), append_script_(kAppendScript) {}

absl::StatusOr<std::vector<bool>> EventAppender::AppendedBefore(
    const std::vector<std::pair<uint32_t, std::string>>& markers) {
  std::vector<bool> out(markers.size(), false);
  if (markers.empty()) return out;
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(markers.size());
  for (const auto& [partition, id] : markers) cmds.push_back({"EXISTS", keys::Dedup(options_.workspace, partition, id)});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < markers.size(); ++i) out[i] = (*replies)[i].integer > 0;
  return out;
}

absl::StatusOr<std::vector<AppendResult>> EventAppender::Append(std::vector<AppendItem> items) {
  std::vector<AppendResult> out(items.size());
  if (items.empty()) return out;
  const std::string window_s = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(options_.dedup_window)));
  // Retention: by age (MINID, entry ids are milliseconds) when set, else by length.
  std::string trim, threshold;
  if (options_.stream_max_age > absl::ZeroDuration()) {
    trim = "MINID";
    threshold = absl::StrCat(std::max<int64_t>(0, absl::ToUnixMillis(absl::Now() - options_.stream_max_age)));
  } else if (options_.stream_maxlen > 0) {
    trim = "MAXLEN";
    threshold = absl::StrCat(options_.stream_maxlen);
  }

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
      cmds.push_back(storage::RedisScript::Call(0));  // numkeys set below
      cmds.back().push_back(keys::EventStream(it.partition));
      members.emplace_back();
    }
    members[slot].push_back(i);
    cmds[slot].push_back(keys::Dedup(options_.workspace, it.partition, it.dedup_id));
  }
  for (size_t c = 0; c < cmds.size(); ++c) {
    auto& cmd = cmds[c];
    cmd[2] = absl::StrCat(members[c].size() + 1);  // numkeys
    cmd.push_back(window_s);
    cmd.push_back(trim);
    cmd.push_back(threshold);
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
