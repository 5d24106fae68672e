#include "common/auth/key_cache.h"

#include <atomic>

#include "absl/time/clock.h"
#include "common/auth/api_key.h"
#include "common/log/log.h"

namespace journey::auth {

absl::Status KeyCache::Refresh(bool force) {
  // One refresh at a time (mu_ held throughout), so an older load never replaces a newer
  // one; Find() reads the snapshot without the lock.
  std::lock_guard<std::mutex> lock(mu_);
  auto version = store_->Version();
  if (!version.ok()) return version.status();
  force = force || *version != version_ || absl::Now() - last_full_ >= options_.full_reload_every;
  if (!force) return absl::OkStatus();
  auto records = store_->LoadAll();
  if (!records.ok()) return records.status();
  if (!options_.bootstrap_admin_key.empty()) {
    const std::string id = KeyIdOf(options_.bootstrap_admin_key);
    bool present = false;
    for (const auto& r : *records) present = present || r.info().key_id() == id;
    if (!present) {
      if (auto st = store_->InsertBootstrapKey(options_.workspace, options_.bootstrap_admin_key); !st.ok()) return st;
      records = store_->LoadAll();
      if (!records.ok()) return records.status();
      version = store_->Version();
      if (!version.ok()) return version.status();
    }
  }
  auto map = std::make_shared<Map>();
  auto workspaces = std::make_shared<std::unordered_set<std::string>>();
  for (auto& r : *records) {
    if (r.info().has_revoked_at()) continue;
    workspaces->insert(r.info().workspace_id());
    (*map)[r.secret_sha256()] = std::make_shared<const v1::ApiKeyInfo>(r.info());
  }
  std::atomic_store(&keys_, std::shared_ptr<const Map>(std::move(map)));
  std::atomic_store(&workspaces_with_keys_, std::shared_ptr<const std::unordered_set<std::string>>(std::move(workspaces)));
  version_ = *version;
  last_full_ = absl::Now();
  return absl::OkStatus();
}

std::shared_ptr<const v1::ApiKeyInfo> KeyCache::Find(const std::string& secret_sha256) const {
  const std::shared_ptr<const Map> keys = std::atomic_load(&keys_);
  auto it = keys->find(secret_sha256);
  return it == keys->end() ? nullptr : it->second;
}

bool KeyCache::HasLiveKeys(const std::string& workspace) const {
  return std::atomic_load(&workspaces_with_keys_)->count(workspace) > 0;
}

void KeyCache::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    bool failing = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      absl::Status st = Refresh();
      if (!st.ok() && !failing) log::Warn("api key cache not refreshed, keeping the last one", {{"error", std::string(st.message())}});
      failing = !st.ok();
      lock.lock();
      wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.refresh_every), [this] { return stopping_; });
    }
  });
}

void KeyCache::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::auth
