// The flow diagram of the journey map: six fixed stage columns (the definition's stages),
// forward flows as bands between them, a drop-off node under every column, back-steps as
// arcs above, first entries as stubs from the left. Plain SVG text.
#pragma once

#include <string>

#include "journey/state/v1/journey.pb.h"

namespace journey::map {

struct FlowDiagramLayout {
  int width = 1100;
  int band_max_px = 180;  // node height of the busiest stage
};

std::string FlowDiagramSvg(const journey::state::v1::JourneyMap& map, const FlowDiagramLayout& layout);

}  // namespace journey::map
