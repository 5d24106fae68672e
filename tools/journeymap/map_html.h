// Renders a journey.state.v1.JourneyMap as one self-contained HTML file: SVG drawn here (no
// chart library, no network: a Content-Security-Policy forbids every fetch), the figures'
// CSV embedded, readable on a laptop and printable.
#pragma once

#include <string>

#include "journey/state/v1/journey.pb.h"
#include "tools/journeymap/map_figures.h"

namespace journey::map {

struct RenderOptions {
  std::string title = "Customer journey map";
  // What the comparison map is, e.g. "previous period" or "before the checkout change".
  std::string comparison_label = "previous period";
  // Shown in the footer, e.g. "journeyctl map at 2026-11-25 17:00 UTC".
  std::string generated_by;
  QualityRules quality;
  // Touchpoint events listed per grid cell before "+N other".
  int events_per_cell = 3;
};

// `comparison` may be null; then map.previous() is used when present.
std::string RenderJourneyMapHtml(const journey::state::v1::JourneyMap& map,
                                 const journey::state::v1::JourneyMap* comparison, const RenderOptions& options);

}  // namespace journey::map
