#include "tools/journeymap/map_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/journeymap/figure_format.h"

namespace journey::map {

namespace sv1 = journey::state::v1;

std::string FunnelTable(const sv1::Funnel& funnel, const QualityRules& rules) {
  std::string out = absl::StrFormat("%-15s %10s %8s %8s %9s %9s %9s %9s  %s\n", "stage", "customers", "step",
                                    "overall", "dropped", "abandoned", "median", "p90", "quality");
  for (int i = 0; i < funnel.steps_size(); ++i) {
    const auto& s = funnel.steps(i);
    absl::StrAppend(&out, absl::StrFormat("%-15s %10s %8s %8s %9s %9s %9s %9s  %s\n", s.stage(), Count(s.customers()),
                                          i == 0 ? "-" : Percent(s.step_conversion()), Percent(s.overall_conversion()),
                                          Count(s.dropped()), Count(s.abandoned()), Duration(s.median_time_to_next_s()),
                                          Duration(s.p90_time_to_next_s()),
                                          QualityName(CountQuality(s.customers(), rules))));
  }
  if (funnel.steps_size() == 0) absl::StrAppend(&out, "(no customers in this range)\n");
  return out;
}

std::string PainPointTable(const sv1::JourneyMap& map, int limit, const QualityRules& rules) {
  std::string out = absl::StrFormat("%-3s %-52s %8s %15s %6s %12s  %s\n", "#", "where", "score", "95% interval",
                                    "lost", "sentiment", "quality");
  const int n = std::min(limit, map.pain_points_size());
  for (int i = 0; i < n; ++i) {
    const auto& p = map.pain_points(i);
    absl::StrAppend(&out, absl::StrFormat("%-3d %-52s %8.1f %15s %6s %12s  %s\n", i + 1, PainPointWhere(p), p.score(),
                                          absl::StrFormat("%.1f-%.1f", p.score_low(), p.score_high()),
                                          Count(p.customers_lost()),
                                          p.samples() > 0 ? absl::StrCat(Sentiment(p.sentiment_mean(), p.samples()),
                                                                         " (n=", p.samples(), ")")
                                                          : std::string("-"),
                                          QualityName(PainPointQuality(p, rules))));
    if (!p.reason().empty()) absl::StrAppend(&out, "    ", p.reason(), "\n");
  }
  if (n == 0) absl::StrAppend(&out, "(no pain points in this range)\n");
  return out;
}

std::string TopPainPointSentence(const sv1::JourneyMap& map) {
  if (map.pain_points_size() == 0) return "";
  auto describe = [](const sv1::PainPoint& p) {
    std::string s = absl::StrCat(PainPointWhere(p), ", ", Count(p.customers_lost()), " lost");
    if (p.samples() > 0) absl::StrAppend(&s, ", sentiment ", Sentiment(p.sentiment_mean(), p.samples()), " (n=", p.samples(), ")");
    return s;
  };
  const sv1::PainPoint& top = map.pain_points(0);
  std::string out = absl::StrCat("Top pain point: ", describe(top));
  if (top.event_name().empty()) {
    if (const sv1::PainPoint* t = TopTouchpointPainPoint(map, top.stage())) {
      absl::StrAppend(&out, "; within it, most at ", describe(*t));
    }
  }
  return absl::StrCat(out, ".");
}

std::string StageTable(const sv1::JourneyMap& map, const QualityRules& rules) {
  std::string out = absl::StrFormat("%-15s %9s %9s %9s %14s %9s %9s\n", "stage", "entered", "dropped", "abandoned",
                                    "sentiment", "median", "p90");
  for (const auto& stage : StagesOf(map)) {
    const sv1::StageStat* s = FindStageStat(map, stage);
    if (s == nullptr) {
      absl::StrAppend(&out, absl::StrFormat("%-15s %9s\n", stage, "missing"));
      continue;
    }
    absl::StrAppend(&out, absl::StrFormat("%-15s %9s %9s %9s %14s %9s %9s\n", stage, Count(s->entered()),
                                          Count(s->dropped()), Count(s->abandoned()),
                                          absl::StrCat(Sentiment(s->sentiment_mean(), s->sentiment_samples()), " (n=",
                                                       s->sentiment_samples(), ")"),
                                          Duration(s->median_time_to_next_s()), Duration(s->p90_time_to_next_s())));
  }
  return out;
}

}  // namespace journey::map
