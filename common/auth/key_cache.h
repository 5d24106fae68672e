// Every replica's view of the API keys: reloaded from Redis when the version counter moves
// (checked every `refresh_every`) and in full every `full_reload_every`, so a new or revoked
// key takes effect on every replica within about a second. While Redis is unreachable the
// last view stays in force.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/auth/key_store.h"

namespace journey::auth {

struct KeyCacheOptions {
  absl::Duration refresh_every = absl::Milliseconds(500);
  absl::Duration full_reload_every = absl::Seconds(30);
  // The operator's bootstrap admin key (empty = none) and its workspace: inserted at the
  // first refresh and again whenever its record is gone (Redis lost its data), never over a
  // revoked record.
  std::string bootstrap_admin_key;
  std::string workspace;
};

class KeyCache {
 public:
  explicit KeyCache(KeyStore* store, KeyCacheOptions options = {}) : store_(store), options_(std::move(options)) {}
  ~KeyCache() { Stop(); }

  // Reloads when the version changed (or `force`).
  absl::Status Refresh(bool force = false);
  // The live (not revoked) key with this SHA-256, or nullptr.
  std::shared_ptr<const v1::ApiKeyInfo> Find(const std::string& secret_sha256) const;
  // Whether `workspace` has at least one live key (what --auth=auto decides by).
  bool HasLiveKeys(const std::string& workspace) const;

  void Start();
  void Stop();

 private:
  using Map = std::unordered_map<std::string, std::shared_ptr<const v1::ApiKeyInfo>>;

  KeyStore* store_;
  KeyCacheOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const Map> keys_ = std::make_shared<Map>();
  std::shared_ptr<const std::unordered_set<std::string>> workspaces_with_keys_ =
      std::make_shared<std::unordered_set<std::string>>();
  long long version_ = -1;
  absl::Time last_full_ = absl::InfinitePast();
  std::string bootstrap_key_id_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace journey::auth
