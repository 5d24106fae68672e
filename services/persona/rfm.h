// Recency / frequency / monetary scoring: quintile boundaries computed over the population
// (on a schedule), scores 1-5 applied to one profile at a time in between, and the classic
// RFM personas from the recency and frequency scores.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;

struct RfmValues {
  double recency_days = 0;  // days since the last order
  double frequency = 0;     // orders
  double monetary = 0;      // revenue
};

// Only customers (at least one order) are scored.
std::optional<RfmValues> RfmValuesOf(const pb::ProfileRecord& record, absl::Time now);

// Boundaries: for each measure the largest value of each of the first four fifths of the
// sorted population, so a fifth of the customers falls in each score where values differ.
pb::RfmModel BuildRfmModel(std::vector<RfmValues> population, absl::Time now);

// Frequency and monetary: 1 + the number of boundaries below the value. Recency: fewer days
// is better, 5 - the number of boundaries below the value.
pb::RfmScore ScoreRfm(const pb::RfmModel& model, const RfmValues& values);

// Champions, Loyal, Potential Loyalist, New, Promising, Needs Attention, About to Sleep,
// At Risk, Cannot Lose Them, Hibernating, Lost: from the recency and frequency scores.
std::string RfmPersona(int recency, int frequency);

}  // namespace journey::persona
