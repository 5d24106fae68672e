#include "tools/journeyctl/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace journey::cli {

ProgressBar::ProgressBar(std::string label, double total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1),
      started_(absl::Now()) {}

void ProgressBar::Update(double done, const std::string& extra) {
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (now - last_draw_ < (tty_ ? absl::Milliseconds(100) : absl::Seconds(5))) return;
  last_draw_ = now;
  const double fraction = total_ > 0 ? std::clamp(done / total_, 0.0, 1.0) : 0;
  const int width = 30, filled = static_cast<int>(fraction * width);
  const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  const double elapsed = absl::ToDoubleSeconds(now - started_);
  std::fprintf(stderr, "%s%s [%s] %5.1f%%  %s  %.0fs%s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
               fraction * 100, extra.c_str(), elapsed, tty_ ? "   " : "\n");
  std::fflush(stderr);
}

void ProgressBar::Finish(const std::string& extra) {
  if (!enabled_) return;
  last_draw_ = absl::InfinitePast();
  Update(total_, extra);
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace journey::cli
