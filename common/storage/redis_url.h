// Parses redis://[user:password@]host:port[/db] into connection options.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include <string_view>

#include "absl/status/statusor.h"

namespace journey::storage {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // ACL user; empty = "default"
  std::string password;
  int db = 0;
};

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

// The URL with its credentials replaced by "***", for logs.
std::string RedactRedisUrl(absl::string_view url);

}  // namespace journey::storage
