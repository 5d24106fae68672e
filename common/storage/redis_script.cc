#include "common/storage/redis_script.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace journey::storage {
namespace {

bool IsNoScript(const RedisReply& r) { return r.is_error() && absl::StartsWith(r.str, "NOSCRIPT"); }

}  // namespace

absl::StatusOr<std::string> RedisScript::Load(RedisClient* redis) const {
  auto loaded = redis->Command({"SCRIPT", "LOAD", body_});
  if (!loaded.ok()) return loaded.status();
  if (!loaded->is_string()) return absl::InternalError(absl::StrCat("SCRIPT LOAD: ", loaded->str));
  std::lock_guard<std::mutex> lock(mu_);
  sha_ = loaded->str;
  return sha_;
}

absl::StatusOr<std::vector<RedisReply>> RedisScript::Run(RedisClient* redis, std::vector<RedisCommand> calls) const {
  std::string sha;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sha = sha_;
  }
  if (sha.empty()) {
    auto loaded = Load(redis);
    if (!loaded.ok()) return loaded.status();
    sha = *loaded;
  }
  for (auto& c : calls) {
    c.insert(c.begin(), {"EVALSHA", sha});
  }
  auto replies = redis->Pipeline(calls);
  if (!replies.ok()) return replies;
  std::vector<size_t> refused;
  for (size_t i = 0; i < replies->size(); ++i) {
    if (IsNoScript((*replies)[i])) refused.push_back(i);
  }
  if (refused.empty()) return replies;
  auto loaded = Load(redis);
  if (!loaded.ok()) return loaded.status();
  std::vector<RedisCommand> again;
  again.reserve(refused.size());
  for (size_t i : refused) {
    calls[i][1] = *loaded;
    again.push_back(std::move(calls[i]));
  }
  auto retried = redis->Pipeline(again);
  if (!retried.ok()) return retried.status();
  for (size_t k = 0; k < refused.size(); ++k) (*replies)[refused[k]] = std::move((*retried)[k]);
  return replies;
}

}  // namespace journey::storage
