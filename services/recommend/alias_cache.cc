#include "services/recommend/alias_cache.h"

namespace journey::recommend {

std::string AliasCache::Resolve(const std::string& id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = canonical_.find(id);
  return it == canonical_.end() ? std::string() : it->second;
}

void AliasCache::Learn(const std::string& id, const std::string& canonical_id) {
  if (id.empty() || canonical_id.empty() || id == canonical_id) return;
  absl::MutexLock lock(&mu_);
  if (canonical_.size() >= max_entries_ && !canonical_.contains(id)) canonical_.clear();
  canonical_[id] = canonical_id;
}

void AliasCache::Forget(const std::string& id) {
  absl::MutexLock lock(&mu_);
  canonical_.erase(id);
}

size_t AliasCache::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return canonical_.size();
}

}  // namespace journey::recommend
