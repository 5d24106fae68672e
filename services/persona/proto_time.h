// Timestamp helpers used across persona, on top of common/time/proto_time.h.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"
#include "common/time/proto_time.h"

namespace journey::persona {

inline bool IsSet(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

// The conversions themselves are shared with the other services.
using journey::prototime::FromProto;
using journey::prototime::ToProto;

inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ToProto(t, &ts);
  return ts;
}

// Days since the Unix epoch (UTC) of a time: the bucket of the per-day counters.
inline int64_t DayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return s >= 0 ? s / 86400 : (s - 86399) / 86400;
}

}  // namespace journey::persona
