// API keys in Redis: one hash of records (keys::ApiKeys) and a version counter bumped after
// every change. Only the SHA-256 of a key is stored; the clear key leaves Create() once.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/auth/v1/auth.pb.h"

namespace journey::auth {

struct NewKey {
  std::string name;
  std::vector<std::string> scopes;
  double rate_per_s = 0;
  double burst = 0;
};

class KeyStore {
 public:
  KeyStore(storage::RedisClient* redis, const Clock* clock) : redis_(redis), clock_(clock) {}

  // A new random key of `workspace`: its record and the clear key (shown once).
  absl::StatusOr<std::pair<v1::ApiKeyInfo, std::string>> Create(const std::string& workspace, const NewKey& key);
  // An operator-chosen admin key, inserted unless a record with its id exists already, so
  // a bootstrap key that was revoked stays revoked when replicas restart. `inserted` (may
  // be null) tells whether the record was new.
  absl::Status InsertBootstrapKey(const std::string& workspace, const std::string& api_key, bool* inserted = nullptr);
  absl::StatusOr<std::vector<v1::ApiKeyInfo>> List(const std::string& workspace, bool include_revoked);
  // NotFound for a key of another workspace, exactly as for one that does not exist.
  absl::StatusOr<v1::ApiKeyInfo> Revoke(const std::string& workspace, const std::string& key_id);

  absl::StatusOr<long long> Version();
  // Every record of every workspace (the replicas' key cache).
  absl::StatusOr<std::vector<v1::ApiKeyRecord>> LoadAll();

 private:
  absl::Status Write(const v1::ApiKeyRecord& record, bool only_if_new, bool* written);

  storage::RedisClient* redis_;
  const Clock* clock_;
};

}  // namespace journey::auth
