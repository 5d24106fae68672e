#include "tools/eventfile/event_file_reader.h"

#include <google/protobuf/util/json_util.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace journey::eventfile {
namespace {

namespace cv1 = journey::common::v1;

// Splits one CSV line; double quotes may enclose a field ("" is a quote inside).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

// FNV-1a: a stable file id for message ids (std::hash and absl::Hash may differ by run).
uint64_t Fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void SetTime(absl::Time t, cv1::Event* e) {
  e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(t));
  e->mutable_timestamp()->set_nanos(static_cast<int>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
}

absl::Status LineError(long long line_number, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", what));
}

// event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
absl::StatusOr<cv1::Event> ParseRees46(const std::vector<std::string>& f, long long n) {
  if (f.size() < 9) return LineError(n, absl::StrCat("expected 9 REES46 columns, got ", f.size()));
  cv1::Event e;
  e.set_type(cv1::EVENT_TYPE_TRACK);
  e.set_channel(cv1::CHANNEL_WEB);
  absl::Time t;
  std::string err;
  std::string when = f[0];
  if (absl::EndsWith(when, " UTC")) when.resize(when.size() - 4);
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", when, absl::UTCTimeZone(), &t, &err)) {
    return LineError(n, absl::StrCat("event_time '", f[0], "' is not 'YYYY-MM-DD HH:MM:SS UTC'"));
  }
  SetTime(t, &e);
  const std::string& type = f[1];
  if (type == "view") e.set_name("Product Viewed");
  else if (type == "cart") e.set_name("Product Added");
  else if (type == "remove_from_cart") e.set_name("Product Removed");
  else if (type == "purchase") e.set_name("Order Completed");
  else return LineError(n, absl::StrCat("event_type '", type, "' is not view, cart, remove_from_cart or purchase"));
  if (f[7].empty()) return LineError(n, "user_id is empty");
  e.set_user_id(absl::StrCat("rees46-", f[7]));
  e.set_product_id(f[2]);
  e.set_category(!f[4].empty() ? f[4] : f[3]);
  e.set_brand(f[5]);
  double price = 0;
  if (!f[6].empty() && !absl::SimpleAtod(f[6], &price)) return LineError(n, absl::StrCat("price '", f[6], "'"));
  e.set_price(price);
  e.set_currency("USD");
  e.set_session_id(f[8]);
  if (type == "purchase") {
    // The dataset has no order id: one order per session.
    e.set_order_id(absl::StrCat("rees46-", f[8]));
    e.set_revenue(price);
  }
  return e;
}

// timestamp(ms),visitorid,event,itemid,transactionid
absl::StatusOr<cv1::Event> ParseRetailrocket(const std::vector<std::string>& f, long long n) {
  if (f.size() < 4) return LineError(n, absl::StrCat("expected 5 Retailrocket columns, got ", f.size()));
  cv1::Event e;
  e.set_type(cv1::EVENT_TYPE_TRACK);
  e.set_channel(cv1::CHANNEL_WEB);
  int64_t ms = 0;
  if (!absl::SimpleAtoi(f[0], &ms)) return LineError(n, absl::StrCat("timestamp '", f[0], "' is not milliseconds"));
  SetTime(absl::FromUnixMillis(ms), &e);
  if (f[2] == "view") e.set_name("Product Viewed");
  else if (f[2] == "addtocart") e.set_name("Product Added");
  else if (f[2] == "transaction") e.set_name("Order Completed");
  else return LineError(n, absl::StrCat("event '", f[2], "' is not view, addtocart or transaction"));
  if (f[1].empty()) return LineError(n, "visitorid is empty");
  e.set_user_id(absl::StrCat("rr-", f[1]));
  e.set_product_id(f[3]);
  if (f.size() > 4 && !f[4].empty()) e.set_order_id(absl::StrCat("rr-", f[4]));
  return e;
}

}  // namespace

const char* FormatName(Format f) {
  switch (f) {
    case Format::kRees46Csv: return "REES46 CSV";
    case Format::kRetailrocketCsv: return "Retailrocket CSV";
    case Format::kJsonLines: return "JSON lines";
  }
  return "?";
}

absl::StatusOr<Format> DetectFormat(const std::string& first_line) {
  const std::string line = std::string(absl::StripAsciiWhitespace(first_line));
  if (absl::StartsWith(line, "{")) return Format::kJsonLines;
  if (absl::StrContains(line, "event_type") && absl::StrContains(line, "user_session")) return Format::kRees46Csv;
  if (absl::StrContains(line, "visitorid") && absl::StrContains(line, "itemid")) return Format::kRetailrocketCsv;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown file format: the first line '", line.substr(0, 80),
      "' is neither a REES46 header (event_time,event_type,...,user_session), a Retailrocket header "
      "(timestamp,visitorid,event,itemid,transactionid) nor a JSON object"));
}

absl::StatusOr<cv1::Event> ParseLine(Format format, const std::string& line, long long line_number,
                                     const std::string& id_prefix) {
  absl::StatusOr<cv1::Event> e;
  switch (format) {
    case Format::kRees46Csv: e = ParseRees46(SplitCsv(line), line_number); break;
    case Format::kRetailrocketCsv: e = ParseRetailrocket(SplitCsv(line), line_number); break;
    case Format::kJsonLines: {
      cv1::Event parsed;
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = true;
      auto status = google::protobuf::util::JsonStringToMessage(line, &parsed, options);
      if (!status.ok()) return LineError(line_number, absl::StrCat("not an Event in JSON: ", status.message().ToString()));
      if (parsed.type() == cv1::EVENT_TYPE_UNSPECIFIED) parsed.set_type(cv1::EVENT_TYPE_TRACK);
      e = std::move(parsed);
      break;
    }
  }
  if (!e.ok()) return e.status();
  if (e->message_id().empty()) e->set_message_id(absl::StrCat(id_prefix, "-", line_number));
  return e;
}

EventFileReader::EventFileReader(std::ifstream in, Format format, uint64_t size, std::string first_line,
                                 bool first_is_data, std::string id_prefix)
    : in_(std::move(in)), format_(format), size_bytes_(size), id_prefix_(std::move(id_prefix)) {
  bytes_read_ = first_line.size() + 1;
  line_number_ = 1;
  if (first_is_data) {
    pending_ = std::move(first_line);
    has_pending_ = true;
  }
}

absl::StatusOr<std::unique_ptr<EventFileReader>> EventFileReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  std::string first;
  if (!std::getline(in, first)) return absl::InvalidArgumentError(absl::StrCat("'", path, "' is empty"));
  auto format = DetectFormat(first);
  if (!format.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", format.status().message()));
  // Message ids from the file's name and first line: the same file replayed again dedupes.
  const std::string prefix = absl::StrFormat("replay-%016x", Fnv1a(absl::StrCat(path, "\n", first)));
  return std::unique_ptr<EventFileReader>(
      new EventFileReader(std::move(in), *format, size, first, *format == Format::kJsonLines, prefix));
}

absl::StatusOr<bool> EventFileReader::Next(cv1::Event* event) {
  std::string line;
  while (true) {
    if (has_pending_) {
      line = std::move(pending_);
      has_pending_ = false;
    } else {
      if (!std::getline(in_, line)) return false;
      ++line_number_;
      bytes_read_ += line.size() + 1;
    }
    if (!absl::StripAsciiWhitespace(line).empty()) break;
  }
  auto parsed = ParseLine(format_, line, line_number_, id_prefix_);
  if (!parsed.ok()) return parsed.status();
  *event = std::move(*parsed);
  return true;
}

}  // namespace journey::eventfile
