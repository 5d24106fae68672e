// Which canonical customer an id now belongs to (an anonymous visitor who logged in, or a
// previous user id), as far as this replica knows: learned from the stream's MERGE
// envelopes and from the alias reads of requests. Ingest links an id once and never
// re-points it (SET NX), so an entry never goes stale and needs no verification. Bounded:
// when full it starts over (entries come back from the next MERGE or alias read).
#pragma once

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace journey::recommend {

class AliasCache {
 public:
  explicit AliasCache(size_t max_entries = 500000) : max_entries_(max_entries) {}

  // The canonical id of `id`, or "" when this replica knows of none.
  std::string Resolve(const std::string& id) const;
  void Learn(const std::string& id, const std::string& canonical_id);
  // Erasure of `id`: nothing about it stays in memory.
  void Forget(const std::string& id);
  size_t size() const;

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> canonical_ ABSL_GUARDED_BY(mu_);
};

}  // namespace journey::recommend
