#include "common/orchestration/quiet_hours.h"

#include <map>
#include <mutex>

namespace journey::orchestration {

std::optional<absl::Time> QuietUntil(const QuietHours& hours, absl::Time now, absl::TimeZone tz) {
  const absl::CivilMinute local = absl::ToCivilMinute(now, tz);
  const int minute = local.hour() * 60 + local.minute();
  const absl::CivilDay today = absl::CivilDay(local);
  const bool wraps = hours.from_minute > hours.to_minute;  // e.g. 21:00-08:00
  bool quiet = false;
  absl::CivilDay end_day = today;
  if (!wraps) {
    quiet = minute >= hours.from_minute && minute < hours.to_minute;
  } else if (minute >= hours.from_minute) {
    quiet = true;
    end_day = today + 1;
  } else {
    quiet = minute < hours.to_minute;
  }
  if (!quiet) return std::nullopt;
  const absl::CivilMinute end(end_day.year(), end_day.month(), end_day.day(), hours.to_minute / 60, hours.to_minute % 60);
  // A local time skipped by a DST change maps to the instant after the gap (absl's rule).
  return absl::FromCivil(end, tz);
}

absl::TimeZone CustomerTimeZone(const std::string& customer_zone, const std::string& fallback) {
  // Loading a zone reads tzdata: remember each name once (a small set in practice).
  static std::mutex mu;
  static std::map<std::string, std::optional<absl::TimeZone>> cache;
  auto load = [](const std::string& name) -> std::optional<absl::TimeZone> {
    if (name.empty()) return std::nullopt;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
    absl::TimeZone tz;
    std::optional<absl::TimeZone> loaded;
    if (absl::LoadTimeZone(name, &tz)) loaded = tz;
    if (cache.size() < 4096) cache.emplace(name, loaded);  // names are customer input: bounded
    return loaded;
  };
  if (auto tz = load(customer_zone)) return *tz;
  if (auto tz = load(fallback)) return *tz;
  return absl::UTCTimeZone();
}

absl::Time ReleaseTime(const OrchestrationRules& rules, Channel channel, absl::Time now,
                       const std::string& customer_zone) {
  auto it = rules.quiet_hours.find(channel);
  if (it == rules.quiet_hours.end()) return now;
  const auto until = QuietUntil(it->second, now, CustomerTimeZone(customer_zone, rules.default_time_zone));
  return until.value_or(now);
}

}  // namespace journey::orchestration
