// How the journey map and journeyctl print figures: one place, so the terminal table, the
// HTML map and its CSV show the same number the same way.
#pragma once

#include <string>

#include "journey/common/v1/common.pb.h"
#include "journey/state/v1/journey.pb.h"

namespace journey::map {

// 0.4213 -> "42.1%".
std::string Percent(double fraction);
// 12345 -> "12,345".
std::string Count(long long n);
// Seconds -> "45 s", "12 min", "3.4 h", "2.1 d"; "-" for 0 or negative (not measured).
std::string Duration(double seconds);
// Sentiment in [0, 1] with two decimals, "-" without samples.
std::string Sentiment(double mean, long long samples);
// CHANNEL_WEB -> "web".
std::string ChannelLabel(journey::common::v1::Channel channel);
// "2026-11-18 00:00 UTC"; "(open)" when unset.
std::string Timestamp(const google::protobuf::Timestamp& t);
std::string RangeLabel(const journey::state::v1::TimeRange& range);
// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(const std::string& text);
// Quotes a CSV field when it holds a comma, quote or newline.
std::string CsvField(const std::string& text);
// Shortest round-trip text of a double for CSV ("0.25", "1200").
std::string Number(double v);

}  // namespace journey::map
