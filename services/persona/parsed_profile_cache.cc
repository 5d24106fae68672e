#include "services/persona/parsed_profile_cache.h"

#include <utility>

namespace journey::persona {

bool ParsedProfileCache::Take(const std::string& key, const std::string& stored,
                              ::journey::persona::v1::ProfileRecord* record) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return false;
  }
  const bool same = it->second.stored == stored;
  if (same) record->Swap(&it->second.record);
  entries_.erase(it);
  ++(same ? hits_ : misses_);
  return same;
}

void ParsedProfileCache::Put(const std::string& key, std::string stored, ::journey::persona::v1::ProfileRecord record) {
  if (capacity_ == 0) return;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
    it = entries_.try_emplace(key).first;
  }
  it->second.stored = std::move(stored);
  it->second.record = std::move(record);
}

size_t ParsedProfileCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

size_t ParsedProfileCache::hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}

size_t ParsedProfileCache::misses() const {
  absl::MutexLock lock(&mu_);
  return misses_;
}

}  // namespace journey::persona
