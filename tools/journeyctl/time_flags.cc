#include "tools/journeyctl/time_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace journey::cli {

absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& flag, const std::string& text, absl::Time now) {
  if (text.empty() || text == "now") return now;
  if ((text[0] == '-' || text[0] == '+') && text.size() >= 3) {
    int64_t n = 0;
    const char unit = text.back();
    if (absl::SimpleAtoi(text.substr(1, text.size() - 2), &n) && n >= 0) {
      absl::Duration d;
      switch (unit) {
        case 'd': d = absl::Hours(24 * n); break;
        case 'h': d = absl::Hours(n); break;
        case 'm': d = absl::Minutes(n); break;
        case 's': d = absl::Seconds(n); break;
        default: d = absl::InfiniteDuration();
      }
      if (d != absl::InfiniteDuration()) return text[0] == '-' ? now - d : now + d;
    }
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) return t;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " '", text, "' is not a time: use now, -7d / -12h / -30m, 2026-11-18 or 2026-11-18T10:00:00Z"));
}

absl::StatusOr<journey::state::v1::TimeRange> ParseRange(const std::string& from, const std::string& to,
                                                          absl::Time now) {
  auto f = ParseTimeFlag("from", from.empty() ? "-7d" : from, now);
  if (!f.ok()) return f.status();
  auto t = ParseTimeFlag("to", to, now);
  if (!t.ok()) return t.status();
  if (*f >= *t) {
    return absl::InvalidArgumentError(absl::StrCat("--from (", absl::FormatTime(*f), ") must be before --to (",
                                                   absl::FormatTime(*t), ")"));
  }
  journey::state::v1::TimeRange range;
  range.mutable_from()->set_seconds(absl::ToUnixSeconds(*f));
  range.mutable_to()->set_seconds(absl::ToUnixSeconds(*t));
  return range;
}

}  // namespace journey::cli
