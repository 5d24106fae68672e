#include "services/journey/journey_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace journey::journey_state {
namespace {

namespace sv1 = journey::state::v1;
namespace pb = journey::common::v1;

pb::Channel ChannelFromName(const std::string& name) {
  pb::Channel c = pb::CHANNEL_UNSPECIFIED;
  pb::Channel_Parse("CHANNEL_" + absl::AsciiStrToUpper(name), &c);
  return c;
}

pb::TransitionKind KindFromName(const std::string& name) {
  pb::TransitionKind k = pb::TRANSITION_KIND_UNSPECIFIED;
  pb::TransitionKind_Parse("TRANSITION_KIND_" + absl::AsciiStrToUpper(name), &k);
  return k;
}

const StageTotals& StageOf(const AggregateTotals& totals, const std::string& stage) {
  static const StageTotals kEmpty;
  auto it = totals.stages.find(stage);
  return it == totals.stages.end() ? kEmpty : it->second;
}

// Below-average sentiment as a fraction of the [0, 1] scale; 0 for thin cells.
double Gap(double journey_mean, double mean, long long n) {
  return n >= kThinSamples ? std::max(0.0, journey_mean - mean) : 0.0;
}

void ScorePainPoint(double journey_mean, long long lost, const SentimentStats& s, sv1::PainPoint* p) {
  const double gap = Gap(journey_mean, s.mean(), s.n);
  const double hw = s.half_width_95();
  const double gap_low = Gap(journey_mean, s.mean() + hw, s.n);
  const double gap_high = Gap(journey_mean, s.mean() - hw, s.n);
  const double lost_sd = std::sqrt(static_cast<double>(lost));
  const double lost_low = std::max(0.0, lost - 1.96 * lost_sd);
  const double lost_high = lost + 1.96 * lost_sd;
  const double n = static_cast<double>(s.n);
  p->set_customers_lost(lost);
  p->set_samples(s.n);
  p->set_sentiment_mean(s.mean());
  p->set_score(lost * (1 + gap) + n * gap);
  p->set_score_low(lost_low * (1 + gap_low) + n * gap_low);
  p->set_score_high(lost_high * (1 + gap_high) + n * gap_high);
  std::string reason = absl::StrCat(lost, " customers lost");
  if (s.n >= kThinSamples) {
    absl::StrAppend(&reason, absl::StrFormat("; sentiment %.2f vs journey %.2f (n=%d)", s.mean(), journey_mean, s.n));
  } else if (s.n > 0) {
    absl::StrAppend(&reason, absl::StrFormat("; sentiment thin (n=%d)", s.n));
  }
  p->set_reason(reason);
}

}  // namespace

double HistogramQuantile(const std::array<long long, kTimeBucketsS.size()>& counts, double q) {
  long long total = 0;
  for (long long c : counts) total += c;
  if (total == 0) return 0;
  const double target = q * total;
  double cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double lower = i == 0 ? 0 : kTimeBucketsS[i - 1];
    // The open last bucket has no upper bound: report its lower bound.
    const double upper = i + 1 == counts.size() ? lower : kTimeBucketsS[i];
    if (cumulative + counts[i] >= target) {
      const double frac = (target - cumulative) / counts[i];
      return lower + frac * (upper - lower);
    }
    cumulative += counts[i];
  }
  return kTimeBucketsS[counts.size() - 2];
}

sv1::Funnel BuildFunnel(const AggregateTotals& totals, const CompiledDefinition& def) {
  sv1::Funnel funnel;
  funnel.set_definition_version(def.version());
  long long first = 0, previous = 0;
  for (int i = 0; i < def.stage_count(); ++i) {
    const std::string& stage = def.stage(i);
    const StageTotals& st = StageOf(totals, stage);
    sv1::FunnelStep* step = funnel.add_steps();
    step->set_stage(stage);
    step->set_customers(st.reached);
    if (i == 0) first = st.reached;
    step->set_step_conversion(i == 0 ? (st.reached > 0 ? 1.0 : 0.0)
                                     : (previous > 0 ? static_cast<double>(st.reached) / previous : 0.0));
    step->set_overall_conversion(first > 0 ? static_cast<double>(st.reached) / first : 0.0);
    const long long next = i + 1 < def.stage_count() ? StageOf(totals, def.stage(i + 1)).reached : 0;
    step->set_dropped(i + 1 < def.stage_count() ? std::max(0LL, st.reached - next) : 0);
    step->set_median_time_to_next_s(HistogramQuantile(st.time_to_next, 0.5));
    step->set_p90_time_to_next_s(HistogramQuantile(st.time_to_next, 0.9));
    step->set_abandoned(st.abandoned);
    previous = st.reached;
  }
  return funnel;
}

sv1::JourneyMap BuildJourneyMap(const AggregateTotals& totals, const CompiledDefinition& def, int max_pain_points) {
  sv1::JourneyMap map;
  map.set_definition_version(def.version());
  map.set_journey_id(def.id());
  *map.mutable_funnel() = BuildFunnel(totals, def);
  SentimentStats journey_sentiment;
  for (const auto& [stage, st] : totals.stages) {
    journey_sentiment.n += st.sentiment.n;
    journey_sentiment.sum += st.sentiment.sum;
    journey_sentiment.sum_sq += st.sentiment.sum_sq;
  }
  const double journey_mean = journey_sentiment.mean();
  // A stage's losses and sentiment are the sums of its touchpoints'. Scored on the whole,
  // the stage-level entry would always outrank its worst touchpoint and hide where customers
  // leave; so the stage is scored on what its top touchpoint (by customers lost, listed on
  // its own) does not explain.
  std::map<std::string, const TouchpointTotals*> top_touchpoint;
  for (const auto& [key, t] : totals.touchpoints) {
    const TouchpointTotals*& top = top_touchpoint[std::get<0>(key)];
    if (top == nullptr || t.lost > top->lost) top = &t;
  }
  std::vector<sv1::PainPoint> pains;
  for (int i = 0; i < def.stage_count(); ++i) {
    const std::string& stage = def.stage(i);
    map.add_stages(stage);
    const StageTotals& st = StageOf(totals, stage);
    sv1::StageStat* s = map.add_stage_stats();
    s->set_stage(stage);
    s->set_entered(st.entered);
    s->set_dropped(map.funnel().steps(i).dropped());
    s->set_abandoned(st.abandoned);
    s->set_sentiment_samples(st.sentiment.n);
    s->set_sentiment_mean(st.sentiment.mean());
    s->set_median_time_to_next_s(HistogramQuantile(st.time_to_next, 0.5));
    s->set_p90_time_to_next_s(HistogramQuantile(st.time_to_next, 0.9));
    for (size_t b = 0; b < kTimeBucketsS.size(); ++b) {
      s->add_time_bucket_upper_s(kTimeBucketsS[b]);
      s->add_time_bucket_counts(st.time_to_next[b]);
    }
    sv1::PainPoint p;
    p.set_stage(stage);
    long long unexplained_lost = st.abandoned + st.back;
    SentimentStats unexplained_sentiment = st.sentiment;
    if (const TouchpointTotals* top = top_touchpoint[stage]; top != nullptr) {
      unexplained_lost = std::max(0LL, unexplained_lost - top->lost);
      unexplained_sentiment.n = std::max(0LL, unexplained_sentiment.n - top->sentiment.n);
      unexplained_sentiment.sum -= top->sentiment.sum;
      unexplained_sentiment.sum_sq -= top->sentiment.sum_sq;
      if (unexplained_sentiment.n == 0) unexplained_sentiment = {};
    }
    ScorePainPoint(journey_mean, unexplained_lost, unexplained_sentiment, &p);
    if (p.score() > 0) pains.push_back(std::move(p));
  }
  std::vector<const std::pair<const std::tuple<std::string, std::string, std::string>, TouchpointTotals>*> tps;
  for (const auto& kv : totals.touchpoints) tps.push_back(&kv);
  std::sort(tps.begin(), tps.end(), [](const auto* a, const auto* b) {
    if (a->second.count != b->second.count) return a->second.count > b->second.count;
    return a->first < b->first;
  });
  for (const auto* kv : tps) {
    const auto& [stage, channel, event] = kv->first;
    const TouchpointTotals& t = kv->second;
    if (t.count > 0) {
      sv1::TouchpointStat* out = map.add_touchpoints();
      out->set_stage(stage);
      out->set_channel(ChannelFromName(channel));
      out->set_event_name(event);
      out->set_count(t.count);
      out->set_sentiment_samples(t.sentiment.n);
      out->set_sentiment_mean(t.sentiment.mean());
    }
    sv1::PainPoint p;
    p.set_stage(stage);
    p.set_event_name(event);
    p.set_channel(ChannelFromName(channel));
    ScorePainPoint(journey_mean, t.lost, t.sentiment, &p);
    if (p.score() > 0) pains.push_back(std::move(p));
  }
  for (const auto& [key, customers] : totals.flows) {
    sv1::Flow* f = map.add_flows();
    f->set_from_stage(std::get<0>(key));
    f->set_to_stage(std::get<1>(key));
    f->set_kind(KindFromName(std::get<2>(key)));
    f->set_customers(customers);
  }
  std::sort(pains.begin(), pains.end(), [](const sv1::PainPoint& a, const sv1::PainPoint& b) {
    if (a.score() != b.score()) return a.score() > b.score();
    return std::tie(a.stage(), a.event_name()) < std::tie(b.stage(), b.event_name());
  });
  if (static_cast<int>(pains.size()) > max_pain_points) pains.resize(max_pain_points);
  for (auto& p : pains) *map.add_pain_points() = std::move(p);
  for (const auto& [k, v] : FigureDefinitions()) (*map.mutable_definitions())[k] = v;
  return map;
}

std::map<std::string, std::string> FigureDefinitions() {
  return {
      {"funnel.customers", "customers whose furthest stage reached this stage (or a later one) for the first time "
                           "in the range; each customer counts once per stage"},
      {"funnel.step_conversion", "customers of this step / customers of the previous step"},
      {"funnel.overall_conversion", "customers of this step / customers of the first step"},
      {"funnel.dropped", "customers of this step - customers of the next step (reached this stage in the range "
                         "but not the next, yet)"},
      {"abandoned", "inactivity timers that fired in this stage in the range (the definition's timers, e.g. "
                    "DECISION with no event for 24 h); counted once per timer"},
      {"stage.entered", "entries into the stage in the range: first entries, forward moves and back-steps, "
                        "re-entries included"},
      {"time_to_next", "time from entering a stage to the next forward move, histogram with fixed buckets "
                       "(time_bucket_upper_s); median and p90 interpolated within the bucket"},
      {"sentiment", "mean of touchpoint sentiment normalised to [0, 1] (CSAT 1-5 and ratings: (s-1)/4, NPS: s/10), "
                    "attributed to the stage the customer was in after the event; samples = responses"},
      {"touchpoint.count", "events in the range by stage after the event x channel x event name"},
      {"flow.customers", "transitions in the range between two stages by kind (entry, forward, backward, "
                         "abandoned: from = to = the abandoned stage)"},
      {"pain_point.customers_lost", "stage: abandonments + back-steps out of the stage not explained by its "
                                    "top touchpoint (listed on its own; its sentiment is likewise taken out of "
                                    "the stage's); touchpoint: "
                                    "abandonments whose last touchpoint it was + back-steps it caused"},
      {"pain_point.score", "lost x (1 + gap) + samples x gap, gap = max(0, journey mean sentiment - this mean) "
                           "when samples >= 5 (else 0): customers lost, weighted by how far sentiment falls below "
                           "the journey average, plus the unhappy responses themselves"},
      {"pain_point.interval", "95%: lost +/- 1.96 sqrt(lost) (Poisson) combined with the sentiment mean +/- 1.96 "
                              "sd/sqrt(n)"},
      {"thin", "fewer than 5 sentiment samples: sentiment is shown but does not weigh in the score"},
  };
}

}  // namespace journey::journey_state
