// A hand-built JourneyMap with known figures (and its previous period), for the renderer's
// unit and browser tests: every figure a test looks for on the page is written here.
#pragma once

#include "journey/state/v1/journey.pb.h"

namespace journey::map::testing {

// 1000 customers enter AWARENESS; DECISION / Checkout Step Viewed (web) is the top pain
// point (212 lost, sentiment 0.21 n=64); one back-step DECISION -> CONSIDERATION (57);
// POST_PURCHASE x support is thin, LOYALTY x ads is missing.
journey::state::v1::JourneyMap SampleJourneyMap();

// The same journey a week earlier (fewer customers, a smaller checkout problem).
journey::state::v1::JourneyMap SamplePreviousMap();

}  // namespace journey::map::testing
