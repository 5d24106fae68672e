// The knobs of ingest, with their defaults documented here and nowhere else. main() fills
// them from flags; tests build them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace journey::ingest {

// Limits on one event and one batch. Every input is bounded so a sender can never make
// the service or Redis hold an unbounded value.
struct IngestLimits {
  size_t max_event_bytes = 32 * 1024;   // one serialized Event
  size_t max_batch_bytes = 500 * 1024;  // one Batch / one HTTP body
  int max_batch_events = 500;
  size_t max_id_bytes = 256;             // message_id, user_id, anonymous_id, previous_id
  size_t max_name_bytes = 256;           // event / page name, property and trait keys
  size_t max_string_bytes = 2048;        // every other string (urls, user agents)
  size_t max_property_value_bytes = 8 * 1024;
  int max_properties = 100;  // per map: properties, traits
  int max_products = 100;
  // A timestamp later than now + this is rejected (after clock-skew correction).
  absl::Duration max_future = absl::Hours(1);
  // Timestamps before this are garbage (epoch zero, seconds read as ms...). Historical
  // imports (replays of 2014 click logs) are legitimate, so there is no age bound by default.
  absl::Time earliest_timestamp = absl::FromUnixSeconds(946684800);  // 2000-01-01
  // When non-zero, also reject timestamps older than now - max_age.
  absl::Duration max_age = absl::ZeroDuration();
};

// Where and how accepted events are appended.
struct AppendOptions {
  std::string workspace = "default";
  int partitions = 16;
  // A message_id seen again within this window is accepted but not appended again.
  absl::Duration dedup_window = absl::Hours(24);
  // Retention: XADD ... MAXLEN ~ <n> per partition; 0 keeps everything.
  int64_t stream_maxlen = 1'000'000;
  // Retention by age instead: when non-zero, XADD ... MINID ~ <now - age> (entries older
  // than this go, whatever their number) replaces the MAXLEN bound.
  absl::Duration stream_max_age = absl::ZeroDuration();
  // A single Redis (not Cluster): commands may touch keys of different slots (one MGET for
  // the alias lookups of a call instead of one GET per id; one append script call for the
  // runs of all partitions instead of one per partition).
  bool single_redis = false;
};

// Backpressure: above this consumer-group lag on a partition, appends to it answer
// RESOURCE_EXHAUSTED. Checked from a cache refreshed in the background, never per call.
struct BackpressureOptions {
  int64_t max_lag = 500'000;  // 0 disables the check
  absl::Duration refresh_every = absl::Milliseconds(500);
};

}  // namespace journey::ingest
