// The journey map's figures as plain-text tables for the terminal (journeyctl funnel / map).
#pragma once

#include <string>

#include "journey/state/v1/journey.pb.h"
#include "tools/journeymap/map_figures.h"

namespace journey::map {

std::string FunnelTable(const journey::state::v1::Funnel& funnel, const QualityRules& rules);
// The top `limit` pain points, most painful first.
std::string PainPointTable(const journey::state::v1::JourneyMap& map, int limit, const QualityRules& rules);
// "Top pain point: DECISION (stage), 365 customers lost; within it, most at DECISION /
// Checkout Step Viewed (web), 162 lost, sentiment 0.17 (n=176)." Empty without pain points.
std::string TopPainPointSentence(const journey::state::v1::JourneyMap& map);
// Per stage: entered, dropped, abandoned, sentiment (n), median and p90 to the next stage.
std::string StageTable(const journey::state::v1::JourneyMap& map, const QualityRules& rules);

}  // namespace journey::map
