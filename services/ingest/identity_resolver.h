// Identity stitching in Redis: an anonymous id (or a previous user id) points at the
// canonical user id it was linked to by Identify or Alias. First link wins; links never
// expire. Every call is one pipelined round trip, whatever the number of ids.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"

namespace journey::ingest {

struct IdentityLink {
  std::string from;  // the anonymous / previous id
  std::string to;    // the canonical user id
};

class IdentityResolver {
 public:
  // `multi_key_reads`: one MGET for all ids (a single Redis); off on Redis Cluster, where
  // the ids' keys live in different slots and each is a GET.
  IdentityResolver(storage::RedisClient* redis, std::string workspace, bool multi_key_reads = false)
      : redis_(redis), workspace_(std::move(workspace)), multi_key_reads_(multi_key_reads) {}

  // The canonical id each id is linked to, or "" when it is not linked.
  absl::StatusOr<std::vector<std::string>> Lookup(const std::vector<std::string>& ids) const;

  // Creates each link unless `from` is already linked; returns the id each `from` is linked
  // to afterwards (the new target, or the earlier link that won).
  absl::StatusOr<std::vector<std::string>> Link(const std::vector<IdentityLink>& links) const;

 private:
  absl::StatusOr<std::vector<std::string>> LookupWithMget(const std::vector<std::string>& ids) const;

  storage::RedisClient* redis_;
  std::string workspace_;
  bool multi_key_reads_;
};

}  // namespace journey::ingest
