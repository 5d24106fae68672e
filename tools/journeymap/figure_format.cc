#include "tools/journeymap/figure_format.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace journey::map {

std::string Percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  return absl::StrFormat("%.1f%%", fraction * 100.0);
}

std::string Count(long long n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string Duration(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "-";
  if (seconds < 90) return absl::StrFormat("%.0f s", seconds);
  if (seconds < 90 * 60) return absl::StrFormat("%.0f min", seconds / 60);
  if (seconds < 36 * 3600) return absl::StrFormat("%.1f h", seconds / 3600);
  return absl::StrFormat("%.1f d", seconds / 86400);
}

std::string Sentiment(double mean, long long samples) {
  if (samples <= 0) return "-";
  return absl::StrFormat("%.2f", mean);
}

std::string ChannelLabel(journey::common::v1::Channel channel) {
  if (channel == journey::common::v1::CHANNEL_UNSPECIFIED) return "unknown";
  std::string name = journey::common::v1::Channel_Name(channel);
  if (name.rfind("CHANNEL_", 0) == 0) name = name.substr(8);
  return absl::AsciiStrToLower(name);
}

std::string Timestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "(open)";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

std::string RangeLabel(const journey::state::v1::TimeRange& range) {
  return absl::StrCat(Timestamp(range.from()), " to ", Timestamp(range.to()));
}

std::string HtmlEscape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<long long>(v));
  return absl::StrFormat("%.6g", v);
}

}  // namespace journey::map
