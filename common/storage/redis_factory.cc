#include "common/storage/redis_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/storage/cluster_client.h"
#include "common/storage/hiredis_client.h"

namespace journey::storage {

absl::StatusOr<RedisTarget> ParseRedisTarget(absl::string_view url) {
  RedisTarget target;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis+cluster://")) {
    auto endpoint = ParseRedisUrl(url);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(endpoint.status().message(), " (or redis+cluster://)"));
    }
    target.nodes.push_back(*endpoint);
    return target;
  }
  target.cluster = true;
  std::string auth;
  if (auto at = rest.rfind('@'); at != absl::string_view::npos) {
    auth = absl::StrCat(rest.substr(0, at), "@");
    rest = rest.substr(at + 1);
  }
  if (absl::ConsumeSuffix(&rest, "/0") || absl::ConsumeSuffix(&rest, "/")) {
    // Database 0 is the only one a cluster has; saying so is allowed.
  }
  if (rest.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "': a Redis Cluster has only database 0"));
  }
  for (absl::string_view seed : absl::StrSplit(rest, ',', absl::SkipWhitespace())) {
    seed = absl::StripAsciiWhitespace(seed);
    auto endpoint = ParseRedisUrl(absl::StrCat("redis://", auth, seed));
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("cluster seed '", seed, "': ", endpoint.status().message()));
    }
    target.nodes.push_back(*endpoint);
  }
  if (target.nodes.empty()) return absl::InvalidArgumentError(absl::StrCat("'", url, "' names no cluster node"));
  return target;
}

absl::StatusOr<std::unique_ptr<RedisClient>> CreateRedisClient(const std::string& url, int pool_size) {
  auto target = ParseRedisTarget(url);
  if (!target.ok()) return target.status();
  if (!target->cluster) {
    HiredisOptions options;
    options.endpoint = target->nodes.front();
    options.pool_size = pool_size;
    auto client = HiredisClient::Create(options);
    if (!client.ok()) return client.status();
    return std::unique_ptr<RedisClient>(std::move(*client));
  }
  ClusterOptions options;
  options.seeds = target->nodes;
  options.pool_size_per_node = pool_size;
  auto client = RedisClusterClient::Create(options);
  if (!client.ok()) return client.status();
  return std::unique_ptr<RedisClient>(std::move(*client));
}

}  // namespace journey::storage
