// Figures the journey map derives from a journey.state.v1.JourneyMap before drawing: the
// stage x channel grid, lookups by stage, and whether a figure is measured, thin or missing.
// The HTML, the CSV and journeyctl's tables all read these, so they always agree.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "journey/state/v1/journey.pb.h"

namespace journey::map {

enum class Quality { kMeasured, kThin, kMissing };
const char* QualityName(Quality q);  // "measured", "thin", "missing"

// When a figure is too thin to trust. Defaults follow the journey service's definitions
// (5 sentiment samples) and a common rule of thumb for rates (30 customers).
struct QualityRules {
  long long min_count = 30;
  long long min_sentiment_samples = 5;
};

Quality CountQuality(long long count, const QualityRules& rules);
Quality SentimentQuality(long long samples, const QualityRules& rules);

struct GridCell {
  std::string stage;
  journey::common::v1::Channel channel = journey::common::v1::CHANNEL_UNSPECIFIED;
  long long count = 0;
  long long sentiment_samples = 0;
  double sentiment_mean = 0;                              // weighted by samples
  std::vector<std::pair<std::string, long long>> events;  // event name, count; most first
  Quality quality = Quality::kMissing;                    // worst of volume and sentiment
};

struct TouchpointGrid {
  std::vector<std::string> stages;
  std::vector<journey::common::v1::Channel> channels;  // most volume first
  std::vector<std::vector<GridCell>> cells;            // [channel][stage]
  long long max_count = 0;
};

// The stages of the map, or the six default ones when the map names none.
std::vector<std::string> StagesOf(const journey::state::v1::JourneyMap& map);

// Channels with volume plus web, app, email, ads and support always (an empty row says
// "missing" where a marketer expects data).
TouchpointGrid BuildTouchpointGrid(const journey::state::v1::JourneyMap& map, const QualityRules& rules);

const journey::state::v1::StageStat* FindStageStat(const journey::state::v1::JourneyMap& map,
                                                   const std::string& stage);
const journey::state::v1::FunnelStep* FindFunnelStep(const journey::state::v1::Funnel& funnel,
                                                     const std::string& stage);
const journey::state::v1::PainPoint* FindPainPoint(const journey::state::v1::JourneyMap& map,
                                                   const journey::state::v1::PainPoint& like);

// "DECISION / Checkout Step Viewed (web)" or "DECISION (stage)".
std::string PainPointWhere(const journey::state::v1::PainPoint& p);

// True when the map counted no customer at all (e.g. a previous period before any data).
bool IsEmpty(const journey::state::v1::JourneyMap& map);

// The biggest touchpoint pain point within `stage` (null when none): drills a stage-level
// pain point down to where in the stage customers leave.
const journey::state::v1::PainPoint* TopTouchpointPainPoint(const journey::state::v1::JourneyMap& map,
                                                            const std::string& stage);

// How far to trust a pain point: by the customers lost, and thin when a sentiment rests on
// fewer than min_sentiment_samples responses.
Quality PainPointQuality(const journey::state::v1::PainPoint& p, const QualityRules& rules);

// The comparison to draw: the explicit one, else the map's own previous period, else none.
// An empty comparison (no customers) counts as none: deltas against zero say nothing.
const journey::state::v1::JourneyMap* ComparisonOf(const journey::state::v1::JourneyMap& map,
                                                   const journey::state::v1::JourneyMap* explicit_comparison);

}  // namespace journey::map
