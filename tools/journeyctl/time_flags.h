// --from / --to for journeyctl: "now", relative ("-7d", "-12h", "-30m", "+1h"), a date
// ("2026-11-18", midnight UTC) or RFC 3339 ("2026-11-18T10:00:00Z").
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "journey/state/v1/journey.pb.h"

namespace journey::cli {

absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& flag, const std::string& text, absl::Time now);

// Both ends parsed and from < to; InvalidArgument naming the flag otherwise.
absl::StatusOr<journey::state::v1::TimeRange> ParseRange(const std::string& from, const std::string& to, absl::Time now);

}  // namespace journey::cli
