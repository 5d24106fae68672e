#include "tools/journeymap/testing/sample_map.h"

#include <string>
#include <vector>

namespace journey::map::testing {
namespace {

namespace cv1 = journey::common::v1;
namespace sv1 = journey::state::v1;

const std::vector<std::string> kStages = {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"};

void AddTouchpoint(sv1::JourneyMap* m, const std::string& stage, cv1::Channel ch, const std::string& event, long long n,
                   long long samples = 0, double mean = 0) {
  auto* t = m->add_touchpoints();
  t->set_stage(stage);
  t->set_channel(ch);
  t->set_event_name(event);
  t->set_count(n);
  t->set_sentiment_samples(samples);
  t->set_sentiment_mean(mean);
}

void AddFlow(sv1::JourneyMap* m, const std::string& from, const std::string& to, cv1::TransitionKind kind, long long n) {
  auto* f = m->add_flows();
  f->set_from_stage(from);
  f->set_to_stage(to);
  f->set_kind(kind);
  f->set_customers(n);
}

sv1::JourneyMap Build(long long base, long long checkout_lost, int64_t from_s) {
  sv1::JourneyMap m;
  m.mutable_range()->mutable_from()->set_seconds(from_s);
  m.mutable_range()->mutable_to()->set_seconds(from_s + 7 * 86400);
  m.set_journey_id("default");
  m.set_definition_version(3);
  for (const auto& s : kStages) m.add_stages(s);
  // Customers per stage: 1000, 640, 410, 198, 150, 42 for base 1000.
  const std::vector<long long> customers = {base, base * 64 / 100, base * 41 / 100, base * 198 / 1000,
                                            base * 15 / 100, base * 42 / 1000};
  const std::vector<double> sentiment = {0.0, 0.66, 0.21, 0.78, 0.81, 0.0};
  const std::vector<long long> samples = {0, 120, 64, 88, 3, 0};
  auto* funnel = m.mutable_funnel();
  *funnel->mutable_range() = m.range();
  funnel->set_definition_version(3);
  for (size_t i = 0; i < kStages.size(); ++i) {
    auto* step = funnel->add_steps();
    step->set_stage(kStages[i]);
    step->set_customers(customers[i]);
    step->set_step_conversion(i == 0 ? 1.0 : static_cast<double>(customers[i]) / customers[i - 1]);
    step->set_overall_conversion(static_cast<double>(customers[i]) / customers[0]);
    step->set_dropped(i + 1 < kStages.size() ? customers[i] - customers[i + 1] : 0);
    step->set_abandoned(kStages[i] == "DECISION" ? checkout_lost : 0);
    step->set_median_time_to_next_s(i + 1 < kStages.size() ? 3600.0 * (i + 1) : 0);
    step->set_p90_time_to_next_s(i + 1 < kStages.size() ? 3600.0 * 6 * (i + 1) : 0);

    auto* s = m.add_stage_stats();
    s->set_stage(kStages[i]);
    s->set_entered(customers[i] + (kStages[i] == "CONSIDERATION" ? 57 : 0));
    s->set_dropped(step->dropped());
    s->set_abandoned(step->abandoned());
    s->set_sentiment_samples(samples[i]);
    s->set_sentiment_mean(sentiment[i]);
    s->set_median_time_to_next_s(step->median_time_to_next_s());
    s->set_p90_time_to_next_s(step->p90_time_to_next_s());
    for (double upper : {60.0, 600.0, 3600.0, 21600.0, 86400.0, 604800.0}) s->add_time_bucket_upper_s(upper);
    for (long long c : {5LL, 40LL, 120LL, 90LL, 30LL, 8LL}) s->add_time_bucket_counts(i + 1 < kStages.size() ? c : 0);
  }
  AddFlow(&m, "", "AWARENESS", cv1::TRANSITION_KIND_ENTRY, base);
  for (size_t i = 0; i + 1 < kStages.size(); ++i) {
    AddFlow(&m, kStages[i], kStages[i + 1], cv1::TRANSITION_KIND_FORWARD, customers[i + 1]);
  }
  AddFlow(&m, "DECISION", "CONSIDERATION", cv1::TRANSITION_KIND_BACKWARD, 57);
  AddFlow(&m, "DECISION", "DECISION", cv1::TRANSITION_KIND_ABANDONED, checkout_lost);
  AddFlow(&m, "PURCHASE", "PURCHASE", cv1::TRANSITION_KIND_REPEAT, 12);

  AddTouchpoint(&m, "AWARENESS", cv1::CHANNEL_ADS, "Ad Clicked", base * 62 / 100);
  AddTouchpoint(&m, "AWARENESS", cv1::CHANNEL_EMAIL, "Email Opened", base * 31 / 100);
  AddTouchpoint(&m, "AWARENESS", cv1::CHANNEL_WEB, "Page Viewed", base * 88 / 100);
  AddTouchpoint(&m, "CONSIDERATION", cv1::CHANNEL_WEB, "Product Viewed", base * 152 / 100, 120, 0.66);
  AddTouchpoint(&m, "CONSIDERATION", cv1::CHANNEL_APP, "Product Viewed", base * 71 / 100);
  AddTouchpoint(&m, "CONSIDERATION", cv1::CHANNEL_WEB, "Products Searched", base * 40 / 100);
  AddTouchpoint(&m, "CONSIDERATION", cv1::CHANNEL_WEB, "Product List Viewed", base * 35 / 100);
  AddTouchpoint(&m, "CONSIDERATION", cv1::CHANNEL_WEB, "Product Clicked", base * 20 / 100);
  AddTouchpoint(&m, "DECISION", cv1::CHANNEL_WEB, "Checkout Step Viewed", base * 39 / 100, 64, 0.21);
  AddTouchpoint(&m, "DECISION", cv1::CHANNEL_WEB, "Product Added", base * 45 / 100);
  AddTouchpoint(&m, "DECISION", cv1::CHANNEL_APP, "Product Added", base * 12 / 100);
  AddTouchpoint(&m, "PURCHASE", cv1::CHANNEL_WEB, "Order Completed", base * 198 / 1000, 88, 0.78);
  AddTouchpoint(&m, "POST_PURCHASE", cv1::CHANNEL_EMAIL, "Order Delivered", base * 15 / 100);
  AddTouchpoint(&m, "POST_PURCHASE", cv1::CHANNEL_SUPPORT, "Support Ticket Closed", 9, 3, 0.81);
  AddTouchpoint(&m, "LOYALTY", cv1::CHANNEL_APP, "Loyalty Program Joined", base * 42 / 1000);

  auto* p = m.add_pain_points();
  p->set_stage("DECISION");
  p->set_event_name("Checkout Step Viewed");
  p->set_channel(cv1::CHANNEL_WEB);
  p->set_customers_lost(checkout_lost);
  p->set_samples(64);
  p->set_sentiment_mean(0.21);
  p->set_score(checkout_lost * 1.42 + 64 * 0.42);
  p->set_score_low(checkout_lost * 1.1);
  p->set_score_high(checkout_lost * 1.8);
  p->set_reason("customers lost; sentiment 0.21 vs journey 0.63");
  p = m.add_pain_points();
  p->set_stage("DECISION");
  p->set_customers_lost(57);
  p->set_samples(64);
  p->set_sentiment_mean(0.21);
  p->set_score(97.5);
  p->set_score_low(70.2);
  p->set_score_high(128.9);
  p->set_reason("57 back-steps to CONSIDERATION");
  p = m.add_pain_points();
  p->set_stage("POST_PURCHASE");
  p->set_event_name("Support Ticket Closed");
  p->set_channel(cv1::CHANNEL_SUPPORT);
  p->set_customers_lost(4);
  p->set_samples(3);
  p->set_sentiment_mean(0.81);
  p->set_score(4);
  p->set_score_low(0.1);
  p->set_score_high(7.9);
  p->set_reason("4 customers lost");
  (*m.mutable_definitions())["funnel.customers"] = "customers whose furthest stage reached this stage in the range";
  (*m.mutable_definitions())["pain_point.score"] = "lost x (1 + gap) + samples x gap";
  return m;
}

}  // namespace

sv1::JourneyMap SampleJourneyMap() { return Build(1000, 212, 1763596800); }  // 2025-11-20 00:00 UTC

sv1::JourneyMap SamplePreviousMap() { return Build(800, 90, 1763596800 - 7 * 86400); }

}  // namespace journey::map::testing
