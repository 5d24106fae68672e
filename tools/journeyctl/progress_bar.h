// A progress bar on stderr for long journeyctl commands: redrawn in place on a terminal,
// a plain line every few seconds otherwise (CI logs stay readable).
#pragma once

#include <string>

#include "absl/time/time.h"

namespace journey::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, double total, bool enabled);
  // done in the same unit as total; extra is printed after the bar (e.g. "1,234 events").
  void Update(double done, const std::string& extra);
  void Finish(const std::string& extra);

 private:
  std::string label_;
  double total_;
  bool enabled_, tty_;
  absl::Time started_, last_draw_ = absl::InfinitePast();
};

}  // namespace journey::cli
