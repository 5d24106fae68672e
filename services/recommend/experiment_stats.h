// Experiment results from exact totals: rates per variant, uplift against the control with
// a 95% confidence interval, and the rule for "too small to call". Pure arithmetic.
//
// - Conversion rate and click-through (proportions of exposed customers): difference of
//   proportions, unpooled (Wald) standard error sqrt(p1(1-p1)/n1 + p0(1-p0)/n0), +-1.96 SE.
// - Revenue per customer (every exposed customer, 0 for those who bought nothing): Welch's
//   unequal-variance standard error sqrt(s1^2/n1 + s0^2/n0) from each arm's sum and sum of
//   squares of per-customer revenue, +-1.96 SE (normal quantile, not Student's t: the rule
//   below never calls an arm with fewer than 100 customers, where t and z differ by < 2%).
// - Too small to call: an arm (or the control) has fewer than 100 exposed customers, or,
//   for the metric's events (conversions, clicks; paying customers for revenue), fewer than
//   10 customers with the event or fewer than 10 without it: below that the normal
//   approximation behind the interval is not trustworthy.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/experiment_config.h"

namespace journey::recommend {

inline constexpr int64_t kMinExposedToCall = 100;
inline constexpr int64_t kMinEventsToCall = 10;

struct ArmTotals {
  int64_t exposed = 0;
  int64_t conversions = 0;
  int64_t clicks = 0;
  double revenue = 0;
  double revenue_sq = 0;  // sum over customers of (their revenue)^2
};

struct Interval {
  double difference = 0;
  double low = 0;
  double high = 0;
};

Interval ProportionDifference(int64_t successes, int64_t n, int64_t control_successes, int64_t control_n);
Interval MeanDifference(double sum, double sum_sq, int64_t n, double control_sum, double control_sum_sq, int64_t control_n);

// The reply of GetExperimentResults. `totals` by variant id; variants without data appear
// with zeros when they are in `variant_order`.
v1::GetExperimentResultsResponse BuildExperimentResults(const std::string& experiment_id, PrimaryMetric metric,
                                                        const std::string& control_variant,
                                                        const std::vector<std::string>& variant_order,
                                                        const std::map<std::string, ArmTotals>& totals);

const char* TooSmallRule();

}  // namespace journey::recommend
