// Chooses the Redis client from the URL:
//   redis://[user:password@]host:port[/db]                 one Redis (HiredisClient)
//   redis+cluster://[user:password@]host:port[,host:port]  a Redis Cluster (RedisClusterClient):
//       the listed nodes are seeds; the client learns every master from CLUSTER SLOTS.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_url.h"

namespace journey::storage {

struct RedisTarget {
  bool cluster = false;
  std::vector<RedisEndpoint> nodes;  // one for redis://, the seeds for redis+cluster://
};

// InvalidArgument naming the wrong part when the URL is neither form.
absl::StatusOr<RedisTarget> ParseRedisTarget(absl::string_view url);

// `pool_size` connections per Redis node. Does not connect.
absl::StatusOr<std::unique_ptr<RedisClient>> CreateRedisClient(const std::string& url, int pool_size);

}  // namespace journey::storage
