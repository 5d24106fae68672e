#include "common/storage/redis_client.h"

#include "absl/strings/str_cat.h"

namespace journey::storage {

absl::StatusOr<RedisReply> RedisClient::Command(RedisCommand command, absl::Duration timeout) {
  std::vector<RedisCommand> commands;
  commands.push_back(std::move(command));
  auto replies = Pipeline(commands, timeout);
  if (!replies.ok()) return replies.status();
  RedisReply& reply = replies->front();
  if (reply.is_error()) {
    return absl::FailedPreconditionError(absl::StrCat("redis ", commands.front().front(), ": ", reply.str));
  }
  return std::move(reply);
}

absl::Status RedisClient::Ping() {
  auto reply = Command({"PING"}, absl::Milliseconds(500));
  return reply.ok() ? absl::OkStatus() : reply.status();
}

}  // namespace journey::storage
