// Conversions between google.protobuf.Timestamp and absl::Time (UTC, nanosecond precision,
// negative times normalised so nanos stay in [0, 1e9)).
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace journey::prototime {

inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t seconds = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace journey::prototime
