// The append: each envelope goes into its stream partition unless its message id is among
// the partition's dedup markers, atomically, by one Lua script: per partition run the ids
// are checked against the markers of the current dedup window and of its neighbours (three
// SMISMEMBER for the whole run), the new envelopes are appended (XADD), the stream trimmed
// once (XTRIM MAXLEN ~ or MINID ~), then their ids are added to the current window's set
// (one SADD). A marker is remembered for at least the dedup window and at most about twice
// it. The marker sets live in the partition's slot (keys::DedupBucket), so a run's keys are
// single-slot and work on Redis Cluster. A whole batch is one pipelined round trip: on a
// single Redis one EVALSHA carries the runs of every partition (up to kMaxPerScript
// envelopes), on Cluster one EVALSHA per run; each partition keeps its order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "services/ingest/ingest_options.h"

namespace journey::ingest {

struct AppendItem {
  uint32_t partition = 0;
  std::string dedup_id;  // message id (plus a suffix for derived envelopes such as MERGE)
  std::string payload;   // serialized EventEnvelope
};

struct AppendResult {
  bool duplicate = false;
  std::string stream_id;  // empty for duplicates
};

class EventAppender {
 public:
  EventAppender(storage::RedisClient* redis, AppendOptions options);

  // Appends in order (per partition, the stream order is the order of `items`).
  // Unavailable when Redis cannot be reached: nothing is acknowledged then, and a retry
  // is safe because of the dedup markers.
  absl::StatusOr<std::vector<AppendResult>> Append(std::vector<AppendItem> items);

  // Whether each (partition, dedup id) marker exists: one pipelined round trip. Used when
  // an event now resolves to another partition than on an earlier attempt (its anonymous
  // id was linked in between), so the marker of that attempt is found where it was set.
  absl::StatusOr<std::vector<bool>> AppendedBefore(const std::vector<std::pair<uint32_t, std::string>>& markers);

  // Max envelopes per script call (and per run), so one call never blocks Redis for long.
  static constexpr size_t kMaxPerScript = 128;

 private:
  int64_t WindowSeconds() const;

  storage::RedisClient* redis_;
  AppendOptions options_;
  const storage::RedisScript append_script_;
};

}  // namespace journey::ingest
