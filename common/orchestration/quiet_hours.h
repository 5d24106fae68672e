// Quiet hours in the customer's own time zone: whether an outbound action may go now, and if
// not, when the quiet period ends (the action is deferred to then, not dropped).
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/orchestration/trigger_config.h"

namespace journey::orchestration {

// The end of the quiet period `now` falls in, in `tz`; nullopt when `now` is not quiet.
std::optional<absl::Time> QuietUntil(const QuietHours& hours, absl::Time now, absl::TimeZone tz);

// The customer's zone: `customer_zone` when it names a known IANA zone, else `fallback`, else UTC.
absl::TimeZone CustomerTimeZone(const std::string& customer_zone, const std::string& fallback);

// When an action on `channel` may go out: `now`, or the end of that channel's quiet hours.
absl::Time ReleaseTime(const OrchestrationRules& rules, Channel channel, absl::Time now,
                       const std::string& customer_zone);

}  // namespace journey::orchestration
