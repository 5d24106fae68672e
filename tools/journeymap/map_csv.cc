#include "tools/journeymap/map_csv.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/journeymap/figure_format.h"

namespace journey::map {
namespace {

namespace sv1 = journey::state::v1;

struct Row {
  std::string section, stage, to_stage, channel, event_name, metric;
  double value = 0;
  std::optional<double> previous;
  std::string quality;
};

std::string Line(const Row& r) {
  return absl::StrJoin({CsvField(r.section), CsvField(r.stage), CsvField(r.to_stage), CsvField(r.channel),
                        CsvField(r.event_name), CsvField(r.metric), Number(r.value),
                        r.previous ? Number(*r.previous) : std::string(), r.quality},
                       ",");
}

}  // namespace

std::string JourneyMapCsv(const sv1::JourneyMap& map, const sv1::JourneyMap* comparison, const QualityRules& rules) {
  std::vector<Row> rows;
  rows.push_back({"range", "", "", "", "", "from_unix_s", static_cast<double>(map.range().from().seconds()),
                  comparison ? std::optional<double>(comparison->range().from().seconds()) : std::nullopt, ""});
  rows.push_back({"range", "", "", "", "", "to_unix_s", static_cast<double>(map.range().to().seconds()),
                  comparison ? std::optional<double>(comparison->range().to().seconds()) : std::nullopt, ""});

  for (const auto& step : map.funnel().steps()) {
    const sv1::FunnelStep* prev = comparison ? FindFunnelStep(comparison->funnel(), step.stage()) : nullptr;
    auto add = [&](const char* metric, double v, std::optional<double> p) {
      rows.push_back({"funnel", step.stage(), "", "", "", metric, v, prev ? p : std::nullopt,
                      QualityName(CountQuality(step.customers(), rules))});
    };
    add("customers", step.customers(), prev ? std::optional<double>(prev->customers()) : std::nullopt);
    add("step_conversion", step.step_conversion(), prev ? std::optional<double>(prev->step_conversion()) : std::nullopt);
    add("overall_conversion", step.overall_conversion(),
        prev ? std::optional<double>(prev->overall_conversion()) : std::nullopt);
    add("dropped", step.dropped(), prev ? std::optional<double>(prev->dropped()) : std::nullopt);
    add("abandoned", step.abandoned(), prev ? std::optional<double>(prev->abandoned()) : std::nullopt);
  }

  for (const auto& s : map.stage_stats()) {
    const sv1::StageStat* prev = comparison ? FindStageStat(*comparison, s.stage()) : nullptr;
    auto p = [&](double v) { return prev ? std::optional<double>(v) : std::nullopt; };
    const std::string q = QualityName(CountQuality(s.entered(), rules));
    rows.push_back({"stage", s.stage(), "", "", "", "entered", static_cast<double>(s.entered()),
                    p(prev ? prev->entered() : 0), q});
    rows.push_back({"stage", s.stage(), "", "", "", "dropped", static_cast<double>(s.dropped()),
                    p(prev ? prev->dropped() : 0), q});
    rows.push_back({"stage", s.stage(), "", "", "", "abandoned", static_cast<double>(s.abandoned()),
                    p(prev ? prev->abandoned() : 0), q});
    rows.push_back({"stage", s.stage(), "", "", "", "sentiment_samples", static_cast<double>(s.sentiment_samples()),
                    p(prev ? prev->sentiment_samples() : 0), QualityName(SentimentQuality(s.sentiment_samples(), rules))});
    rows.push_back({"stage", s.stage(), "", "", "", "sentiment_mean", s.sentiment_mean(),
                    p(prev ? prev->sentiment_mean() : 0), QualityName(SentimentQuality(s.sentiment_samples(), rules))});
    rows.push_back({"stage", s.stage(), "", "", "", "median_time_to_next_s", s.median_time_to_next_s(),
                    p(prev ? prev->median_time_to_next_s() : 0), q});
    rows.push_back({"stage", s.stage(), "", "", "", "p90_time_to_next_s", s.p90_time_to_next_s(),
                    p(prev ? prev->p90_time_to_next_s() : 0), q});
    for (int b = 0; b < s.time_bucket_counts_size() && b < s.time_bucket_upper_s_size(); ++b) {
      rows.push_back({"time_histogram", s.stage(), "", "", "", absl::StrCat("le_", Number(s.time_bucket_upper_s(b)), "_s"),
                      static_cast<double>(s.time_bucket_counts(b)), std::nullopt, q});
    }
  }

  for (const auto& f : map.flows()) {
    std::optional<double> prev;
    if (comparison) {
      for (const auto& pf : comparison->flows()) {
        if (pf.from_stage() == f.from_stage() && pf.to_stage() == f.to_stage() && pf.kind() == f.kind()) {
          prev = pf.customers();
        }
      }
    }
    std::string kind = journey::common::v1::TransitionKind_Name(f.kind());
    if (kind.rfind("TRANSITION_KIND_", 0) == 0) kind = kind.substr(16);
    rows.push_back({"flow", f.from_stage(), f.to_stage(), "", kind, "customers", static_cast<double>(f.customers()),
                    prev, QualityName(CountQuality(f.customers(), rules))});
  }

  for (const auto& t : map.touchpoints()) {
    const std::string ch = ChannelLabel(t.channel());
    rows.push_back({"touchpoint", t.stage(), "", ch, t.event_name(), "count", static_cast<double>(t.count()),
                    std::nullopt, QualityName(CountQuality(t.count(), rules))});
    if (t.sentiment_samples() > 0) {
      rows.push_back({"touchpoint", t.stage(), "", ch, t.event_name(), "sentiment_mean", t.sentiment_mean(),
                      std::nullopt, QualityName(SentimentQuality(t.sentiment_samples(), rules))});
      rows.push_back({"touchpoint", t.stage(), "", ch, t.event_name(), "sentiment_samples",
                      static_cast<double>(t.sentiment_samples()), std::nullopt,
                      QualityName(SentimentQuality(t.sentiment_samples(), rules))});
    }
  }

  for (int i = 0; i < map.pain_points_size(); ++i) {
    const sv1::PainPoint& p = map.pain_points(i);
    const sv1::PainPoint* prev = comparison ? FindPainPoint(*comparison, p) : nullptr;
    const std::string ch = p.event_name().empty() ? "" : ChannelLabel(p.channel());
    const std::string q = QualityName(PainPointQuality(p, rules));
    auto add = [&](const char* metric, double v, double pv) {
      rows.push_back({"pain_point", p.stage(), "", ch, p.event_name(), metric, v,
                      prev ? std::optional<double>(pv) : std::nullopt, q});
    };
    add("rank", i + 1, 0);
    rows.back().previous.reset();
    add("score", p.score(), prev ? prev->score() : 0);
    add("score_low", p.score_low(), prev ? prev->score_low() : 0);
    add("score_high", p.score_high(), prev ? prev->score_high() : 0);
    add("customers_lost", p.customers_lost(), prev ? prev->customers_lost() : 0);
    add("samples", p.samples(), prev ? prev->samples() : 0);
    add("sentiment_mean", p.sentiment_mean(), prev ? prev->sentiment_mean() : 0);
  }

  std::string out = "section,stage,to_stage,channel,event_name,metric,value,previous_value,quality\n";
  for (const Row& r : rows) absl::StrAppend(&out, Line(r), "\n");
  return out;
}

}  // namespace journey::map
