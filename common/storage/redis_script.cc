#include "common/storage/redis_script.h"

#include "absl/strings/match.h"

namespace journey::storage {

RedisCommand RedisScript::Call(int numkeys) { return {"EVALSHA", "", std::to_string(numkeys)}; }

absl::StatusOr<std::string> RedisScript::Load(RedisClient* redis) const {
  auto loaded = redis->Command({"SCRIPT", "LOAD", source_});
  if (!loaded.ok()) return loaded.status();
  if (!loaded->is_string()) return absl::InternalError("SCRIPT LOAD: " + loaded->str);
  std::lock_guard<std::mutex> lock(mu_);
  sha_ = loaded->str;
  return sha_;
}

absl::StatusOr<std::vector<RedisReply>> RedisScript::Pipeline(RedisClient* redis,
                                                              std::vector<RedisCommand> commands) const {
  std::vector<size_t> calls;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].size() >= 3 && commands[i][0] == "EVALSHA" && commands[i][1].empty()) calls.push_back(i);
  }
  std::string sha;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sha = sha_;
  }
  if (sha.empty() && !calls.empty()) {
    auto loaded = Load(redis);
    if (!loaded.ok()) return loaded.status();
    sha = *loaded;
  }
  for (size_t i : calls) commands[i][1] = sha;
  auto replies = redis->Pipeline(commands);
  if (!replies.ok()) return replies.status();

  std::vector<size_t> again;
  for (size_t i : calls) {
    const RedisReply& r = (*replies)[i];
    if (r.is_error() && absl::StartsWith(r.str, "NOSCRIPT")) again.push_back(i);
  }
  if (again.empty()) return replies;
  // Redis lost its script cache: load the script and send only the calls that did not run.
  auto loaded = Load(redis);
  if (!loaded.ok()) return loaded.status();
  std::vector<RedisCommand> retry;
  for (size_t i : again) {
    retry.push_back(std::move(commands[i]));
    retry.back()[1] = *loaded;
  }
  auto second = redis->Pipeline(retry);
  if (!second.ok()) return second.status();
  for (size_t k = 0; k < again.size(); ++k) (*replies)[again[k]] = std::move((*second)[k]);
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisScript::Run(RedisClient* redis, std::vector<RedisCommand> calls) const {
  for (auto& c : calls) c.insert(c.begin(), {"EVALSHA", ""});
  return Pipeline(redis, std::move(calls));
}

}  // namespace journey::storage
