#include "tools/journeymap/map_figures.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "tools/journeymap/figure_format.h"

namespace journey::map {

namespace cv1 = journey::common::v1;
namespace sv1 = journey::state::v1;

const char* QualityName(Quality q) {
  switch (q) {
    case Quality::kMeasured: return "measured";
    case Quality::kThin: return "thin";
    case Quality::kMissing: return "missing";
  }
  return "missing";
}

Quality CountQuality(long long count, const QualityRules& rules) {
  if (count <= 0) return Quality::kMissing;
  return count < rules.min_count ? Quality::kThin : Quality::kMeasured;
}

Quality SentimentQuality(long long samples, const QualityRules& rules) {
  if (samples <= 0) return Quality::kMissing;
  return samples < rules.min_sentiment_samples ? Quality::kThin : Quality::kMeasured;
}

std::vector<std::string> StagesOf(const sv1::JourneyMap& map) {
  if (map.stages_size() > 0) return {map.stages().begin(), map.stages().end()};
  return {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"};
}

TouchpointGrid BuildTouchpointGrid(const sv1::JourneyMap& map, const QualityRules& rules) {
  TouchpointGrid grid;
  grid.stages = StagesOf(map);
  std::map<cv1::Channel, long long> volume = {{cv1::CHANNEL_WEB, 0}, {cv1::CHANNEL_APP, 0}, {cv1::CHANNEL_EMAIL, 0},
                                              {cv1::CHANNEL_ADS, 0}, {cv1::CHANNEL_SUPPORT, 0}};
  for (const auto& t : map.touchpoints()) volume[t.channel()] += t.count();
  for (const auto& [channel, count] : volume) grid.channels.push_back(channel);
  std::stable_sort(grid.channels.begin(), grid.channels.end(),
                   [&](cv1::Channel a, cv1::Channel b) { return volume[a] > volume[b]; });

  for (cv1::Channel channel : grid.channels) {
    std::vector<GridCell> row;
    for (const std::string& stage : grid.stages) {
      GridCell cell;
      cell.stage = stage;
      cell.channel = channel;
      double sentiment_sum = 0;
      for (const auto& t : map.touchpoints()) {
        if (t.channel() != channel || t.stage() != stage) continue;
        cell.count += t.count();
        cell.sentiment_samples += t.sentiment_samples();
        sentiment_sum += t.sentiment_mean() * t.sentiment_samples();
        cell.events.emplace_back(t.event_name(), t.count());
      }
      if (cell.sentiment_samples > 0) cell.sentiment_mean = sentiment_sum / cell.sentiment_samples;
      std::stable_sort(cell.events.begin(), cell.events.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      cell.quality = CountQuality(cell.count, rules);
      if (cell.quality == Quality::kMeasured && SentimentQuality(cell.sentiment_samples, rules) == Quality::kThin) {
        cell.quality = Quality::kThin;
      }
      grid.max_count = std::max(grid.max_count, cell.count);
      row.push_back(std::move(cell));
    }
    grid.cells.push_back(std::move(row));
  }
  return grid;
}

const sv1::StageStat* FindStageStat(const sv1::JourneyMap& map, const std::string& stage) {
  for (const auto& s : map.stage_stats()) {
    if (s.stage() == stage) return &s;
  }
  return nullptr;
}

const sv1::FunnelStep* FindFunnelStep(const sv1::Funnel& funnel, const std::string& stage) {
  for (const auto& s : funnel.steps()) {
    if (s.stage() == stage) return &s;
  }
  return nullptr;
}

const sv1::PainPoint* FindPainPoint(const sv1::JourneyMap& map, const sv1::PainPoint& like) {
  for (const auto& p : map.pain_points()) {
    if (p.stage() == like.stage() && p.event_name() == like.event_name() && p.channel() == like.channel()) return &p;
  }
  return nullptr;
}

std::string PainPointWhere(const sv1::PainPoint& p) {
  if (p.event_name().empty()) return absl::StrCat(p.stage(), " (stage)");
  return absl::StrCat(p.stage(), " / ", p.event_name(), " (", ChannelLabel(p.channel()), ")");
}

bool IsEmpty(const sv1::JourneyMap& map) {
  for (const auto& s : map.funnel().steps()) {
    if (s.customers() > 0) return false;
  }
  for (const auto& s : map.stage_stats()) {
    if (s.entered() > 0) return false;
  }
  return map.flows_size() == 0 && map.touchpoints_size() == 0;
}

const sv1::PainPoint* TopTouchpointPainPoint(const sv1::JourneyMap& map, const std::string& stage) {
  for (const auto& p : map.pain_points()) {  // ranked: the first one is the biggest
    if (p.stage() == stage && !p.event_name().empty()) return &p;
  }
  return nullptr;
}

Quality PainPointQuality(const sv1::PainPoint& p, const QualityRules& rules) {
  Quality q = CountQuality(std::max(p.customers_lost(), p.samples()), rules);
  if (q == Quality::kMeasured && p.samples() > 0 && p.samples() < rules.min_sentiment_samples) q = Quality::kThin;
  return q;
}

const sv1::JourneyMap* ComparisonOf(const sv1::JourneyMap& map, const sv1::JourneyMap* explicit_comparison) {
  const sv1::JourneyMap* cmp = explicit_comparison;
  if (cmp == nullptr && map.has_previous()) cmp = &map.previous();
  return cmp != nullptr && !IsEmpty(*cmp) ? cmp : nullptr;
}

}  // namespace journey::map
