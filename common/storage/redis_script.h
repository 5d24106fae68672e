// A Lua script called by EVALSHA: the body travels once (SCRIPT LOAD on first use, and again
// when Redis has lost its script cache, e.g. after a restart), not with every call.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"

namespace journey::storage {

class RedisScript {
 public:
  explicit RedisScript(std::string body) : body_(std::move(body)) {}

  // One pipelined round trip of calls; each call is what follows "EVALSHA <sha>" (numkeys,
  // keys, args). Replies in call order. A call refused with NOSCRIPT is sent again after
  // loading the script; calls that ran are never sent twice.
  absl::StatusOr<std::vector<RedisReply>> Run(RedisClient* redis, std::vector<RedisCommand> calls) const;

 private:
  absl::StatusOr<std::string> Load(RedisClient* redis) const;

  const std::string body_;
  mutable std::mutex mu_;
  mutable std::string sha_;  // guarded by mu_; empty until loaded
};

}  // namespace journey::storage
