// The journey map's figures as one CSV (long format: one figure a row), embedded in the HTML
// file and written by `journeyctl map --csv`, so every number on the page can be re-checked.
#pragma once

#include <string>

#include "journey/state/v1/journey.pb.h"
#include "tools/journeymap/map_figures.h"

namespace journey::map {

// Columns: section,stage,to_stage,channel,event_name,metric,value,previous_value,quality.
// previous_value is filled from `comparison` (may be null) where the same figure exists.
std::string JourneyMapCsv(const journey::state::v1::JourneyMap& map,
                          const journey::state::v1::JourneyMap* comparison, const QualityRules& rules);

}  // namespace journey::map
