// Turns summed aggregates into what marketers read: the funnel and the journey map (stage
// stats, touchpoints, flows, ranked pain points, and the definition of every figure).
#pragma once

#include <map>
#include <string>

#include "journey/state/v1/journey.pb.h"
#include "services/journey/journey_aggregates.h"
#include "services/journey/journey_definition.h"

namespace journey::journey_state {

// Fewer sentiment samples than this and a cell is "thin": its sentiment does not weigh.
inline constexpr long long kThinSamples = 5;

journey::state::v1::Funnel BuildFunnel(const AggregateTotals& totals, const CompiledDefinition& definition);
journey::state::v1::JourneyMap BuildJourneyMap(const AggregateTotals& totals, const CompiledDefinition& definition,
                                               int max_pain_points = 10);
// Quantile (0..1) of a time-to-next histogram, interpolated within its bucket; 0 when empty.
double HistogramQuantile(const std::array<long long, kTimeBucketsS.size()>& counts, double q);
// How each figure of the funnel and the map is computed (JourneyMap.definitions).
std::map<std::string, std::string> FigureDefinitions();

}  // namespace journey::journey_state
