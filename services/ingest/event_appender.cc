#include "services/ingest/event_appender.h"

#include "absl/strings/match.h"
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
    : redis_(redis), options_(std::move(options)) {}

absl::StatusOr<std::vector<storage::RedisReply>> EventAppender::RunScripts(
    std::vector<storage::RedisCommand>& cmds) {
  // EVALSHA, and after a Redis restart (empty script cache) load the script and run the
  // whole pipeline again: scripts that did run are deduplicated on the second pass.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string sha;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sha = script_sha_;
    }
    if (sha.empty() || attempt > 0) {
      auto loaded = redis_->Command({"SCRIPT", "LOAD", kAppendScript});
      if (!loaded.ok()) return loaded.status();
      sha = loaded->str;
      std::lock_guard<std::mutex> lock(mu_);
      script_sha_ = sha;
    }
    for (auto& c : cmds) c[1] = sha;
    auto replies = redis_->Pipeline(cmds);
    if (!replies.ok()) return replies.status();
    bool noscript = false;
    for (const auto& r : *replies) noscript |= r.is_error() && absl::StartsWith(r.str, "NOSCRIPT");
    if (!noscript) return replies;
  }
  return absl::UnavailableError("append script could not be loaded");
}

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
      cmds.push_back({"EVALSHA", "", "", keys::EventStream(it.partition)});
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

  auto replies = RunScripts(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t c = 0; c < cmds.size(); ++c) {
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
