// Reads event files into journey.common.v1.Event for `journeyctl replay`: the REES46
// e-commerce CSV, the Retailrocket events.csv, and JSON lines (one Event a line in the
// protobuf JSON mapping). The format is recognised from the first line.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "journey/common/v1/common.pb.h"

namespace journey::eventfile {

enum class Format { kRees46Csv, kRetailrocketCsv, kJsonLines };
const char* FormatName(Format f);

// Recognises the format from a file's first line; InvalidArgument naming what was seen.
absl::StatusOr<Format> DetectFormat(const std::string& first_line);

// Turns one data line into an event. line_number makes the message id unique and stable,
// so replaying the same file twice is deduplicated by ingest.
absl::StatusOr<journey::common::v1::Event> ParseLine(Format format, const std::string& line, long long line_number,
                                                     const std::string& id_prefix);

class EventFileReader {
 public:
  static absl::StatusOr<std::unique_ptr<EventFileReader>> Open(const std::string& path);

  // The next event: true and fills *event; false at the end of the file. A malformed line
  // is an InvalidArgument naming the line; the caller may skip it and call Next again.
  absl::StatusOr<bool> Next(journey::common::v1::Event* event);

  Format format() const { return format_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t size_bytes() const { return size_bytes_; }
  long long line_number() const { return line_number_; }

 private:
  EventFileReader(std::ifstream in, Format format, uint64_t size, std::string first_line, bool first_is_data,
                  std::string id_prefix);

  std::ifstream in_;
  Format format_;
  uint64_t size_bytes_ = 0;
  uint64_t bytes_read_ = 0;
  long long line_number_ = 0;
  std::string pending_;  // the first line, when it is data (JSON lines)
  bool has_pending_ = false;
  std::string id_prefix_;
};

}  // namespace journey::eventfile
