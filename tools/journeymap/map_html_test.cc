// The renderer from a hand-built JourneyMap: the figures a marketer reads must be on the
// page, in the CSV, and marked measured / thin / missing.
#include "tools/journeymap/map_html.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/journeymap/map_csv.h"
#include "tools/journeymap/map_text.h"
#include "tools/journeymap/testing/sample_map.h"

namespace journey::map {
namespace {

using ::journey::map::testing::SampleJourneyMap;
using ::journey::map::testing::SamplePreviousMap;

TEST(MapHtmlTest, ShowsTheSixStagesAndTheFunnelFigures) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  for (const char* stage : {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"}) {
    EXPECT_TRUE(absl::StrContains(html, absl::StrCat("data-stage=\"", stage, "\""))) << stage;
  }
  // DECISION: 410 customers, step 410/640 = 64.1%, overall 41.0%.
  EXPECT_TRUE(absl::StrContains(html, "410 customers &#183; step 64.1% &#183; overall 41.0%")) << html.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(html, "1,000 customers entered AWARENESS"));
  EXPECT_TRUE(absl::StrContains(html, "19.8% reached PURCHASE"));
}

TEST(MapHtmlTest, RanksThePainPointsWithFiguresAndSampleSizes) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "Top pain point: <b>DECISION / Checkout Step Viewed (web)</b>, 212 customers lost"));
  EXPECT_TRUE(absl::StrContains(html, "<tr class=\"pain-1\" data-stage=\"DECISION\" data-event=\"Checkout Step Viewed\">"));
  EXPECT_TRUE(absl::StrContains(html, "0.21 (n=64)"));
  EXPECT_TRUE(absl::StrContains(html, "233.2 &#8211; 381.6"));  // 212 x 1.1 .. 212 x 1.8
}

TEST(MapHtmlTest, DrawsDropOffBackStepsAndEntries) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "class=\"band back\" data-from=\"DECISION\" data-to=\"CONSIDERATION\""));
  EXPECT_TRUE(absl::StrContains(html, "back 57"));
  EXPECT_TRUE(absl::StrContains(html, "abandoned 212"));
  EXPECT_TRUE(absl::StrContains(html, "class=\"band drop\" data-from=\"DECISION\""));
  EXPECT_TRUE(absl::StrContains(html, "new 1,000"));
  EXPECT_TRUE(absl::StrContains(html, "repeat 12"));
}

TEST(MapHtmlTest, MarksCellsMeasuredThinOrMissing) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "data-stage=\"DECISION\" data-channel=\"web\" data-quality=\"measured\""));
  EXPECT_TRUE(absl::StrContains(html, "data-stage=\"POST_PURCHASE\" data-channel=\"support\" data-quality=\"thin\""));
  EXPECT_TRUE(absl::StrContains(html, "data-stage=\"LOYALTY\" data-channel=\"ads\" data-quality=\"missing\""));
  // Sentiment gap: no responses in AWARENESS; the line joins the measured stages.
  EXPECT_TRUE(absl::StrContains(html, "no responses"));
  const size_t line = html.find("fill=\"none\" stroke=\"#d98214\"");
  ASSERT_NE(line, std::string::npos);
  const std::string d = html.substr(html.rfind("<path d=\"", line), line - html.rfind("<path d=\"", line));
  EXPECT_EQ(d.find("M"), 9u) << d;
  EXPECT_NE(d.find(" L"), std::string::npos) << d;
  // Touchpoint cell with more than three events: the rest is "Other".
  EXPECT_TRUE(absl::StrContains(html, "Other (1 events) 200"));
}

TEST(MapHtmlTest, ShowsTimesRangeAndDefinitions) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "2025-11-20 00:00 UTC to 2025-11-27 00:00 UTC"));
  EXPECT_TRUE(absl::StrContains(html, "<dt>pain_point.score</dt><dd>lost x (1 + gap) + samples x gap</dd>"));
  EXPECT_TRUE(absl::StrContains(html, "<dt>quality.thin</dt>"));
  // DECISION: median 3 h, p90 18 h.
  EXPECT_TRUE(absl::StrContains(html, "<td class=\"num\">3.0 h</td><td class=\"num\">18.0 h</td>"));
}

TEST(MapHtmlTest, IsSelfContained) {
  const std::string html = RenderJourneyMapHtml(SampleJourneyMap(), nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
  EXPECT_FALSE(absl::StrContains(html, "src=\""));
  EXPECT_FALSE(absl::StrContains(html, "href=\"http"));
  EXPECT_FALSE(absl::StrContains(html, "@import"));
  EXPECT_FALSE(absl::StrContains(html, "url(http"));
}

TEST(MapHtmlTest, EmbedsTheCsvWithThePreviousPeriod) {
  auto map = SampleJourneyMap();
  *map.mutable_previous() = SamplePreviousMap();
  const std::string html = RenderJourneyMapHtml(map, nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "Compared with the previous period: 2025-11-13 00:00 UTC"));
  EXPECT_TRUE(absl::StrContains(html, "funnel,DECISION,,,,customers,410,328,measured"));
  EXPECT_TRUE(absl::StrContains(html, "&#9650; +200"));  // AWARENESS 1000 vs 800
  EXPECT_TRUE(absl::StrContains(html, "was 800, overall 100.0%"));
}

TEST(MapHtmlTest, IgnoresAnEmptyPreviousPeriod) {
  auto map = SampleJourneyMap();
  map.mutable_previous()->mutable_range()->mutable_from()->set_seconds(1763596800 - 7 * 86400);
  const std::string html = RenderJourneyMapHtml(map, nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "No comparison: the previous period (2025-11-13 00:00 UTC"));
  EXPECT_FALSE(absl::StrContains(html, "&#9650; +1,000"));
  EXPECT_FALSE(absl::StrContains(html, "was 0"));
}

TEST(MapHtmlTest, DrillsAStageLevelPainPointDownToItsTouchpoint) {
  auto map = SampleJourneyMap();
  map.mutable_pain_points()->SwapElements(0, 1);  // the DECISION stage first
  const std::string html = RenderJourneyMapHtml(map, nullptr, RenderOptions{});
  EXPECT_TRUE(absl::StrContains(html, "Top pain point: <b>DECISION (stage)</b>, 57 customers lost; within it, most at "
                                      "<b>DECISION / Checkout Step Viewed (web)</b> (212 lost, sentiment 0.21 n=64)"));
}

TEST(MapTextTest, TablesAndTheTopPainPointSentence) {
  auto map = SampleJourneyMap();
  EXPECT_EQ(TopPainPointSentence(map),
            "Top pain point: DECISION / Checkout Step Viewed (web), 212 lost, sentiment 0.21 (n=64).");
  map.mutable_pain_points()->SwapElements(0, 1);
  EXPECT_EQ(TopPainPointSentence(map),
            "Top pain point: DECISION (stage), 57 lost, sentiment 0.21 (n=64); within it, most at DECISION / Checkout "
            "Step Viewed (web), 212 lost, sentiment 0.21 (n=64).");
  const std::string funnel = FunnelTable(map.funnel(), QualityRules{});
  EXPECT_TRUE(absl::StrContains(funnel, "DECISION               410    64.1%    41.0%")) << funnel;
  const std::string pains = PainPointTable(map, 2, QualityRules{});
  EXPECT_TRUE(absl::StrContains(pains, "DECISION / Checkout Step Viewed (web)")) << pains;
  EXPECT_FALSE(absl::StrContains(pains, "Support Ticket Closed")) << "limited to the top 2";
}

TEST(MapHtmlTest, EscapesNamesFromTheDefinition) {
  auto map = SampleJourneyMap();
  map.set_stages(0, "<script>alert(1)</script>");
  const std::string html = RenderJourneyMapHtml(map, nullptr, RenderOptions{});
  EXPECT_FALSE(absl::StrContains(html, "<script>alert(1)"));
  EXPECT_TRUE(absl::StrContains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST(MapCsvTest, OneFigureARowWithQuality) {
  const std::string csv = JourneyMapCsv(SampleJourneyMap(), nullptr, QualityRules{});
  EXPECT_EQ(csv.rfind("section,stage,to_stage,channel,event_name,metric,value,previous_value,quality\n", 0), 0u);
  EXPECT_TRUE(absl::StrContains(csv, "pain_point,DECISION,,web,Checkout Step Viewed,customers_lost,212,,measured\n"));
  EXPECT_TRUE(absl::StrContains(csv, "flow,DECISION,CONSIDERATION,,BACKWARD,customers,57,,measured\n"));
  EXPECT_TRUE(absl::StrContains(csv, "touchpoint,POST_PURCHASE,,support,Support Ticket Closed,count,9,,thin\n"));
  EXPECT_TRUE(absl::StrContains(csv, "stage,DECISION,,,,p90_time_to_next_s,64800,,measured\n"));
}

}  // namespace
}  // namespace journey::map
