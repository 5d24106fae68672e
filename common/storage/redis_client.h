// The Redis seam: every service talks to Redis through this interface. Commands are argv
// vectors (binary safe); a pipeline sends many commands in one round trip.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace journey::storage {

struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  bool is_string() const { return type == Type::kString || type == Type::kStatus; }
  bool is_array() const { return type == Type::kArray; }
};

using RedisCommand = std::vector<std::string>;

class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // Sends all commands in one round trip and returns one reply per command, in order.
  // A command that Redis rejects comes back as a kError reply; the Status is an error only
  // when the connection failed or timed out (Unavailable: retry with backoff).
  // `timeout` overrides the default command timeout (e.g. for blocking reads).
  virtual absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands,
                                                           absl::Duration timeout = absl::ZeroDuration()) = 0;

  // One command; an error reply becomes a FailedPrecondition status carrying Redis's message.
  absl::StatusOr<RedisReply> Command(RedisCommand command, absl::Duration timeout = absl::ZeroDuration());

  // PING; OK when Redis answers.
  absl::Status Ping();
};

}  // namespace journey::storage
