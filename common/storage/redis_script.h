// A Lua script run with EVALSHA: the body is sent once (SCRIPT LOAD), not with every call,
// and loaded again when Redis answers NOSCRIPT (a restart or SCRIPT FLUSH emptied its cache).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"

namespace journey::storage {

class RedisScript {
 public:
  explicit RedisScript(std::string source) : source_(std::move(source)) {}

  // The start of one call: {"EVALSHA", <sha, filled in by Pipeline>, numkeys}; append the
  // keys, then the arguments.
  static RedisCommand Call(int numkeys);

  // Sends `commands` (calls of this script mixed with any other commands) in one round trip.
  // Calls answered NOSCRIPT are sent again, in their order, after the script is loaded; the
  // other commands are not repeated. Replies come back in the order of `commands`.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(RedisClient* redis, std::vector<RedisCommand> commands) const;

  // One round trip of calls of this script only; each call is what follows "EVALSHA <sha>"
  // (numkeys, keys, arguments). Replies in call order.
  absl::StatusOr<std::vector<RedisReply>> Run(RedisClient* redis, std::vector<RedisCommand> calls) const;

 private:
  absl::StatusOr<std::string> Load(RedisClient* redis) const;

  const std::string source_;
  mutable std::mutex mu_;
  mutable std::string sha_;  // guarded by mu_; empty until loaded
};

}  // namespace journey::storage
