#include "services/recommend/experiment_stats.h"

#include <algorithm>
#include <cmath>

namespace journey::recommend {
namespace {

constexpr double kZ95 = 1.959963984540054;

double Rate(int64_t k, int64_t n) { return n > 0 ? static_cast<double>(k) / n : 0.0; }

// Sample variance of per-customer values from their sum and sum of squares.
double SampleVariance(double sum, double sum_sq, int64_t n) {
  if (n < 2) return 0;
  const double mean = sum / n;
  return std::max(0.0, (sum_sq - n * mean * mean) / (n - 1));
}

bool ProportionTooSmall(int64_t k, int64_t n) {
  return n < kMinExposedToCall || k < kMinEventsToCall || n - k < kMinEventsToCall;
}

void Fill(const char* metric, double control, double variant, const Interval& ci, v1::MetricUplift* out) {
  out->set_metric(metric);
  out->set_control(control);
  out->set_variant(variant);
  out->set_difference(ci.difference);
  out->set_ci_low(ci.low);
  out->set_ci_high(ci.high);
  out->set_relative(control != 0 ? ci.difference / control : 0.0);
}

}  // namespace

const char* TooSmallRule() {
  return "too small to call while the variant or the control has fewer than 100 exposed customers, or fewer than 10 "
         "customers with (or without) the primary metric's event (conversion, click; a purchase for revenue)";
}

Interval ProportionDifference(int64_t successes, int64_t n, int64_t control_successes, int64_t control_n) {
  const double p1 = Rate(successes, n), p0 = Rate(control_successes, control_n);
  const double se = std::sqrt((n > 0 ? p1 * (1 - p1) / n : 0.0) + (control_n > 0 ? p0 * (1 - p0) / control_n : 0.0));
  const double d = p1 - p0;
  return {d, d - kZ95 * se, d + kZ95 * se};
}

Interval MeanDifference(double sum, double sum_sq, int64_t n, double control_sum, double control_sum_sq,
                        int64_t control_n) {
  const double m1 = n > 0 ? sum / n : 0.0, m0 = control_n > 0 ? control_sum / control_n : 0.0;
  const double se = std::sqrt((n > 0 ? SampleVariance(sum, sum_sq, n) / n : 0.0) +
                              (control_n > 0 ? SampleVariance(control_sum, control_sum_sq, control_n) / control_n : 0.0));
  const double d = m1 - m0;
  return {d, d - kZ95 * se, d + kZ95 * se};
}

v1::GetExperimentResultsResponse BuildExperimentResults(const std::string& experiment_id, PrimaryMetric metric,
                                                        const std::string& control_variant,
                                                        const std::vector<std::string>& variant_order,
                                                        const std::map<std::string, ArmTotals>& totals) {
  v1::GetExperimentResultsResponse out;
  out.set_experiment_id(experiment_id);
  out.set_primary_metric(PrimaryMetricName(metric));
  out.set_rule(TooSmallRule());
  std::vector<std::string> order = variant_order;
  for (const auto& [id, t] : totals) {
    if (std::find(order.begin(), order.end(), id) == order.end()) order.push_back(id);
  }
  auto get = [&](const std::string& id) {
    auto it = totals.find(id);
    return it == totals.end() ? ArmTotals{} : it->second;
  };
  const ArmTotals c = get(control_variant);
  for (const std::string& id : order) {
    const ArmTotals t = get(id);
    v1::VariantResults* r = out.add_variants();
    r->set_variant(id);
    r->set_control(id == control_variant);
    r->set_customers_exposed(t.exposed);
    r->set_conversions(t.conversions);
    r->set_conversion_rate(Rate(t.conversions, t.exposed));
    r->set_revenue(t.revenue);
    r->set_revenue_per_customer(t.exposed > 0 ? t.revenue / t.exposed : 0.0);
    r->set_clicks(t.clicks);
    r->set_click_through_rate(Rate(t.clicks, t.exposed));
    bool too_small = false;
    switch (metric) {
      case PrimaryMetric::kConversion:
      case PrimaryMetric::kRevenuePerCustomer:  // paying customers = converted customers
        too_small = ProportionTooSmall(t.conversions, t.exposed) || ProportionTooSmall(c.conversions, c.exposed);
        break;
      case PrimaryMetric::kClickThrough:
        too_small = ProportionTooSmall(t.clicks, t.exposed) || ProportionTooSmall(c.clicks, c.exposed);
        break;
    }
    if (id != control_variant) {
      Fill("conversion", Rate(c.conversions, c.exposed), r->conversion_rate(),
           ProportionDifference(t.conversions, t.exposed, c.conversions, c.exposed), r->add_uplift());
      Fill("revenue_per_customer", c.exposed > 0 ? c.revenue / c.exposed : 0.0, r->revenue_per_customer(),
           MeanDifference(t.revenue, t.revenue_sq, t.exposed, c.revenue, c.revenue_sq, c.exposed), r->add_uplift());
      Fill("click_through", Rate(c.clicks, c.exposed), r->click_through_rate(),
           ProportionDifference(t.clicks, t.exposed, c.clicks, c.exposed), r->add_uplift());
    }
    r->set_too_small_to_call(too_small);
    out.set_too_small_to_call(out.too_small_to_call() || too_small);
  }
  return out;
}

}  // namespace journey::recommend
