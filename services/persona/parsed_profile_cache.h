// Profiles kept parsed between stream batches, keyed by user and validated by their stored
// bytes: a load that finds exactly the bytes it parsed last time reuses that parse instead
// of parsing ~1-2 KB of protobuf again (the most expensive step of applying a batch). Any
// other writer (CRM sync, consent, the scheduler, another replica) changes the bytes, so a
// stale entry is never used; it is a memo of ParseFromString, never a source of truth.
#pragma once

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

class ParsedProfileCache {
 public:
  // At most `capacity` profiles (0 = keep none); when full, an arbitrary entry makes room.
  explicit ParsedProfileCache(size_t capacity) : capacity_(capacity) {}

  // Moves out the record parsed from `stored` when the entry for `key` holds exactly those
  // bytes; otherwise drops the entry and returns false. Either way the entry is gone: the
  // caller owns the record until it puts it back.
  bool Take(const std::string& key, const std::string& stored, ::journey::persona::v1::ProfileRecord* record);

  // Remembers `record` as the parse of `stored` (the bytes now in Redis for `key`).
  void Put(const std::string& key, std::string stored, ::journey::persona::v1::ProfileRecord record);

  size_t size() const;
  size_t hits() const;
  size_t misses() const;

 private:
  struct Entry {
    std::string stored;
    ::journey::persona::v1::ProfileRecord record;
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  size_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace journey::persona
