#include "tools/journeymap/map_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/journeymap/figure_format.h"
#include "tools/journeymap/flow_diagram.h"
#include "tools/journeymap/map_csv.h"

namespace journey::map {
namespace {

namespace sv1 = journey::state::v1;
using E = std::string;

// Inline only: the policy forbids every fetch, so "opens offline" is checkable, not a promise.
constexpr char kCsp[] =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'";

constexpr char kStyle[] = R"css(
:root{--ink:#1d2330;--muted:#5b6475;--line:#d8dce4;--accent:#2f6fdd;--drop:#c93c3c;--back:#d98214;--ok:#2e8b57}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);
 margin:0 auto;max-width:1180px;padding:18px 22px 40px;background:#fff}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:0 0 6px} h3{font-size:15px;margin:10px 0 4px}
header{border-bottom:2px solid var(--ink);padding-bottom:10px;margin-bottom:14px}
.meta{color:var(--muted);margin:2px 0} .summary{font-size:15px;margin:8px 0 0}
section{margin:0 0 26px;break-inside:avoid;page-break-inside:avoid}
.note{color:var(--muted);font-size:12.5px;margin:2px 0 8px}
svg.chart{width:100%;height:auto;display:block}
svg text{font-family:inherit;font-size:12px;fill:var(--ink)}
svg .small{font-size:11px} svg .muted{fill:var(--muted)} svg .stage-name{font-weight:600;font-size:12.5px}
.stage-node rect{fill:var(--ink);cursor:pointer}
.band{fill:none;stroke-opacity:.38;transition:stroke-opacity .15s}
.band.forward{stroke:var(--accent)} .band.entry{stroke:#7a8699} .band.drop{stroke:var(--drop)}
.band.back{stroke:var(--back);stroke-opacity:.75} .back-head{fill:var(--back)}
.band.dim{stroke-opacity:.06} .band.hot{stroke-opacity:.8}
.drop-node{fill:var(--drop)} .drop-label{fill:var(--drop)} .back-label{fill:#a15c00}
.bar{fill:var(--accent)} .bar.prev{fill:#b9c2d0} .bar.drop{fill:#f0c9c9}
table{border-collapse:collapse;width:100%} th,td{border:1px solid var(--line);padding:5px 7px;vertical-align:top;text-align:left}
th{background:#f3f5f8;font-weight:600} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.grid td{width:15%;font-size:12.5px} .grid td.ch{width:10%;font-weight:600}
.cell-count{font-weight:700;font-size:14px} .cell-events{color:#2b3240;font-size:11.5px}
.q{display:inline-block;font-size:10.5px;padding:0 5px;border-radius:8px;border:1px solid;margin-left:4px;vertical-align:1px}
.q-measured{color:var(--ok);border-color:var(--ok)} .q-thin{color:#a15c00;border-color:#d98214;background:#fff6e8}
.q-missing{color:#777;border-color:#aaa;background:#f4f4f4}
td[data-quality=missing]{background:repeating-linear-gradient(45deg,#fafafa,#fafafa 6px,#f0f0f0 6px,#f0f0f0 12px)!important;color:#888}
.delta-up{color:var(--ok)} .delta-down{color:var(--drop)} .delta{font-size:11.5px;white-space:nowrap}
.pain-1 td{background:#fff1f0} .scorebar{height:6px;background:var(--drop);border-radius:3px;margin-top:3px}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:4px 0}
.swatch{display:inline-block;width:22px;height:10px;margin-right:5px;vertical-align:middle;border-radius:2px}
dl.defs{display:grid;grid-template-columns:220px 1fr;gap:4px 14px;font-size:12.5px} dl.defs dt{font-weight:600;font-family:ui-monospace,monospace}
dl.defs dd{margin:0}
pre.csv{max-height:260px;overflow:auto;background:#f6f7f9;border:1px solid var(--line);padding:8px;font-size:11.5px}
.hist{display:block}
.hist rect{fill:#8aa7d8}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{body{max-width:none;padding:0;font-size:11px}.noprint{display:none}
 section{margin-bottom:14px}.band{transition:none}a{color:inherit;text-decoration:none}}
@page{size:A4 landscape;margin:12mm}
)css";

// Counts script errors and CSP violations into attributes a headless browser test reads.
constexpr char kGuardScript[] = R"js(
(function(){var d=document.documentElement;d.dataset.scriptErrors='0';d.dataset.cspViolations='0';
window.addEventListener('error',function(){d.dataset.scriptErrors=String(+d.dataset.scriptErrors+1);});
document.addEventListener('securitypolicyviolation',function(){d.dataset.cspViolations=String(+d.dataset.cspViolations+1);});})();
)js";

// Clicking (or focusing) a stage highlights its flows and dims the rest: one flow at a time
// is what cluttered path views lack.
constexpr char kPageScript[] = R"js(
(function(){
var svg=document.getElementById('flow-svg');
if(svg){var bands=svg.querySelectorAll('.band');var focus=null;
 function apply(){bands.forEach(function(b){var on=focus&&(b.dataset.from===focus||b.dataset.to===focus);
  b.classList.toggle('dim',!!focus&&!on);b.classList.toggle('hot',!!on);});
  var s=document.getElementById('flow-focus');if(s)s.textContent=focus?('Showing flows of '+focus+' (click again to clear)'):'';}
 svg.querySelectorAll('.stage-node').forEach(function(n){
  function pick(){focus=(focus===n.dataset.stage)?null:n.dataset.stage;apply();}
  n.addEventListener('click',pick);n.addEventListener('keydown',function(e){if(e.key==='Enter')pick();});});}
var pre=document.getElementById('figures-csv');var a=document.getElementById('csv-download');
if(pre&&a){a.href='data:text/csv;charset=utf-8,'+encodeURIComponent(pre.textContent);}
document.documentElement.dataset.rendered='1';
})();
)js";

std::string Delta(double now, double before, bool percent_points, bool higher_is_better = true) {
  const double d = now - before;
  if (std::fabs(d) < 1e-9) return "<span class=\"delta\">=</span>";
  const bool good = (d > 0) == higher_is_better;
  const std::string text = percent_points ? absl::StrFormat("%+.1f pp", d * 100)
                                          : absl::StrCat(d > 0 ? "+" : "-", Count(static_cast<long long>(std::llround(std::fabs(d)))));
  return absl::StrCat("<span class=\"delta ", good ? "delta-up" : "delta-down", "\">", d > 0 ? "&#9650; " : "&#9660; ",
                      text, "</span>");
}

std::string Badge(Quality q) {
  return absl::StrCat("<span class=\"q q-", QualityName(q), "\">", QualityName(q), "</span>");
}

// Sentiment [0,1] -> red..amber..green; no samples -> a neutral blue-grey.
std::string CellColour(const GridCell& c, long long max_count) {
  const double volume = max_count > 0 ? std::sqrt(static_cast<double>(c.count) / max_count) : 0;
  const double lightness = 97 - 37 * volume;
  if (c.sentiment_samples <= 0) return absl::StrFormat("hsl(215,30%%,%.0f%%)", lightness);
  const double hue = std::clamp(c.sentiment_mean, 0.0, 1.0) * 120;
  return absl::StrFormat("hsl(%.0f,70%%,%.0f%%)", hue, lightness);
}

void AppendHeader(const sv1::JourneyMap& map, const sv1::JourneyMap* cmp, const RenderOptions& o, std::string* out) {
  absl::StrAppend(out, "<header><h1>", HtmlEscape(o.title), "</h1>\n<p class=\"meta\" id=\"range\">Range: <b>",
                  HtmlEscape(RangeLabel(map.range())), "</b> &middot; journey <b>",
                  HtmlEscape(map.journey_id().empty() ? "default" : map.journey_id()), "</b> definition v",
                  map.definition_version(), "</p>\n");
  if (cmp != nullptr) {
    absl::StrAppend(out, "<p class=\"meta\" id=\"comparison\">Compared with the ", HtmlEscape(o.comparison_label), ": ",
                    HtmlEscape(RangeLabel(cmp->range())), " (deltas: &#9650; up, &#9660; down; green is better, red is worse)</p>\n");
  } else if (map.has_previous()) {
    absl::StrAppend(out, "<p class=\"meta\" id=\"comparison\">No comparison: the ", HtmlEscape(o.comparison_label), " (",
                    HtmlEscape(RangeLabel(map.previous().range())), ") has no customers (missing).</p>\n");
  }
  const auto& steps = map.funnel().steps();
  std::string summary;
  if (!steps.empty()) {
    const auto& first = steps[0];
    summary = absl::StrCat(Count(first.customers()), " customers entered ", HtmlEscape(first.stage()));
    for (const auto& s : steps) {
      if (s.stage() == "PURCHASE") {
        absl::StrAppend(&summary, "; ", Percent(s.overall_conversion()), " reached PURCHASE");
      }
    }
  }
  if (map.pain_points_size() > 0) {
    const auto& p = map.pain_points(0);
    absl::StrAppend(&summary, summary.empty() ? "" : ". ", "Top pain point: <b>", HtmlEscape(PainPointWhere(p)),
                    "</b>, ", Count(p.customers_lost()), " customers lost");
    if (p.event_name().empty()) {
      if (const sv1::PainPoint* t = TopTouchpointPainPoint(map, p.stage())) {
        absl::StrAppend(&summary, "; within it, most at <b>", HtmlEscape(PainPointWhere(*t)), "</b> (",
                        Count(t->customers_lost()), " lost",
                        t->samples() > 0 ? absl::StrCat(", sentiment ", Sentiment(t->sentiment_mean(), t->samples()),
                                                        " n=", Count(t->samples()))
                                         : "",
                        ")");
      }
    }
  }
  if (!summary.empty()) absl::StrAppend(out, "<p class=\"summary\" id=\"summary\">", summary, ".</p>\n");
  absl::StrAppend(out, "</header>\n");
}

void AppendFunnel(const sv1::JourneyMap& map, const sv1::JourneyMap* cmp, const RenderOptions& o, std::string* out) {
  const auto& steps = map.funnel().steps();
  absl::StrAppend(out, "<section id=\"funnel\"><h2>Funnel</h2>\n<p class=\"note\">Customers per stage, the "
                       "conversion from the step before (step) and from the first step (overall).",
                  cmp ? " Grey bars: the comparison." : "", "</p>\n");
  if (steps.empty()) {
    absl::StrAppend(out, "<p>No funnel in this map (missing).</p></section>\n");
    return;
  }
  long long max_customers = 1;
  for (const auto& s : steps) max_customers = std::max<long long>(max_customers, s.customers());
  if (cmp) {
    for (const auto& s : cmp->funnel().steps()) max_customers = std::max<long long>(max_customers, s.customers());
  }
  const int row_h = cmp ? 44 : 34, label_w = 150, bar_w = 560, width = 1100;
  absl::StrAppend(out, absl::StrFormat("<svg id=\"funnel-svg\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
                                       "aria-label=\"Funnel\" xmlns=\"http://www.w3.org/2000/svg\">\n",
                                       width, row_h * steps.size() + 10));
  for (int i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    const double y = 5 + i * row_h;
    const double w = std::max(1.0, static_cast<double>(s.customers()) / max_customers * bar_w);
    absl::StrAppend(out, absl::StrFormat("<g class=\"funnel-step\" data-stage=\"%s\"><text class=\"stage-name\" "
                                         "x=\"0\" y=\"%.1f\">%s</text>",
                                         HtmlEscape(s.stage()), y + 17, HtmlEscape(s.stage())));
    absl::StrAppend(out, absl::StrFormat("<rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"22\"/>",
                                         label_w, y + 2, w));
    std::string figures = absl::StrCat(Count(s.customers()), " customers &#183; step ",
                                       i == 0 ? std::string("-") : Percent(s.step_conversion()), " &#183; overall ",
                                       Percent(s.overall_conversion()));
    if (s.abandoned() > 0) absl::StrAppend(&figures, " &#183; abandoned ", Count(s.abandoned()));
    absl::StrAppend(out, absl::StrFormat("<text class=\"funnel-figures\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                                         label_w + w + 8, y + 17, figures));
    if (cmp) {
      if (const sv1::FunnelStep* p = FindFunnelStep(cmp->funnel(), s.stage())) {
        const double pw = std::max(1.0, static_cast<double>(p->customers()) / max_customers * bar_w);
        absl::StrAppend(out, absl::StrFormat("<rect class=\"bar prev\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" "
                                             "height=\"8\"/><text class=\"small muted\" x=\"%.1f\" y=\"%.1f\">was %s, "
                                             "overall %s</text>",
                                             label_w, y + 27, pw, label_w + pw + 8, y + 35, Count(p->customers()),
                                             Percent(p->overall_conversion())));
      }
    }
    absl::StrAppend(out, "</g>\n");
  }
  absl::StrAppend(out, "</svg>\n");

  // The same figures as a table: what people copy, and what screen readers read.
  absl::StrAppend(out, "<table class=\"funnel-table\"><tr><th>stage</th><th class=\"num\">customers</th><th "
                       "class=\"num\">step conversion</th><th class=\"num\">overall conversion</th><th class=\"num\">"
                       "dropped</th><th class=\"num\">abandoned</th><th class=\"num\">median to next</th><th "
                       "class=\"num\">p90 to next</th><th>quality</th></tr>\n");
  for (int i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    const sv1::FunnelStep* p = cmp ? FindFunnelStep(cmp->funnel(), s.stage()) : nullptr;
    absl::StrAppend(out, "<tr><td>", HtmlEscape(s.stage()), "</td><td class=\"num\">", Count(s.customers()),
                    p ? absl::StrCat(" ", Delta(s.customers(), p->customers(), false)) : "", "</td><td class=\"num\">",
                    i == 0 ? "-" : Percent(s.step_conversion()),
                    p && i > 0 ? absl::StrCat(" ", Delta(s.step_conversion(), p->step_conversion(), true)) : "",
                    "</td><td class=\"num\">", Percent(s.overall_conversion()),
                    p ? absl::StrCat(" ", Delta(s.overall_conversion(), p->overall_conversion(), true)) : "",
                    "</td><td class=\"num\">", Count(s.dropped()), "</td><td class=\"num\">", Count(s.abandoned()),
                    "</td><td class=\"num\">", Duration(s.median_time_to_next_s()), "</td><td class=\"num\">",
                    Duration(s.p90_time_to_next_s()), "</td><td>", Badge(CountQuality(s.customers(), o.quality)),
                    "</td></tr>\n");
  }
  absl::StrAppend(out, "</table></section>\n");
}

void AppendFlow(const sv1::JourneyMap& map, std::string* out) {
  absl::StrAppend(out, "<section id=\"flow\"><h2>Flow between stages</h2>\n<p class=\"note\">Columns are the "
                       "journey's stages. Blue bands: customers moving forward (band width = customers). Red: "
                       "drop-off per stage (reached it, not the next one; abandoned = an inactivity timer fired). "
                       "Orange arcs: back-steps. Click a stage to show only its flows. <span id=\"flow-focus\">"
                       "</span></p>\n");
  absl::StrAppend(out, FlowDiagramSvg(map, FlowDiagramLayout{}));
  absl::StrAppend(out, "<div class=\"legend\"><span><span class=\"swatch\" style=\"background:#2f6fdd\"></span>forward"
                       "</span><span><span class=\"swatch\" style=\"background:#c93c3c\"></span>drop-off / abandoned"
                       "</span><span><span class=\"swatch\" style=\"background:#d98214\"></span>back-step</span><span>"
                       "<span class=\"swatch\" style=\"background:#7a8699\"></span>first entry</span></div>\n</section>\n");
}

std::string HistogramSvg(const sv1::StageStat& s) {
  const int n = std::min(s.time_bucket_counts_size(), s.time_bucket_upper_s_size());
  if (n == 0) return "-";
  long long max = 1;
  for (int b = 0; b < n; ++b) max = std::max<long long>(max, s.time_bucket_counts(b));
  const int bw = 11, h = 28;
  std::string svg = absl::StrFormat("<svg class=\"hist\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                                    "xmlns=\"http://www.w3.org/2000/svg\">",
                                    n * bw, h, n * bw, h);
  for (int b = 0; b < n; ++b) {
    const double bh = static_cast<double>(s.time_bucket_counts(b)) / max * (h - 2);
    absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"><title>&#8804; %s: "
                                          "%s</title></rect>",
                                          b * bw, h - bh, bw - 2, bh, Duration(s.time_bucket_upper_s(b)),
                                          Count(s.time_bucket_counts(b))));
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

void AppendTimes(const sv1::JourneyMap& map, const sv1::JourneyMap* cmp, const RenderOptions& o, std::string* out) {
  absl::StrAppend(out, "<section id=\"times\"><h2>Time between stages</h2>\n<p class=\"note\">From entering a stage "
                       "to the next forward move: median and 90th percentile (not the mean, which a few slow "
                       "customers skew), and the distribution.</p>\n<table><tr><th>stage</th><th class=\"num\">"
                       "median</th><th class=\"num\">p90</th><th>distribution (fast to slow)</th><th class=\"num\">"
                       "moves measured</th><th>quality</th></tr>\n");
  for (const std::string& stage : StagesOf(map)) {
    const sv1::StageStat* s = FindStageStat(map, stage);
    long long moves = 0;
    if (s) {
      for (long long c : s->time_bucket_counts()) moves += c;
    }
    const sv1::StageStat* p = cmp ? FindStageStat(*cmp, stage) : nullptr;
    absl::StrAppend(out, "<tr data-stage=\"", HtmlEscape(stage), "\"><td>", HtmlEscape(stage), "</td><td class=\"num\">",
                    s ? Duration(s->median_time_to_next_s()) : "-",
                    p && s && p->median_time_to_next_s() > 0 ? absl::StrCat("<br><span class=\"delta\">was ",
                                                                              Duration(p->median_time_to_next_s()),
                                                                              "</span>")
                                                             : "",
                    "</td><td class=\"num\">", s ? Duration(s->p90_time_to_next_s()) : "-", "</td><td>",
                    s ? HistogramSvg(*s) : "-", "</td><td class=\"num\">", Count(moves), "</td><td>",
                    Badge(CountQuality(moves, o.quality)), "</td></tr>\n");
  }
  absl::StrAppend(out, "</table></section>\n");
}

void AppendSentiment(const sv1::JourneyMap& map, const RenderOptions& o, std::string* out) {
  const std::vector<std::string> stages = StagesOf(map);
  const int width = 1100, height = 185, left = 70, right = 120, top = 20, plot_h = 110;
  const double step = stages.size() > 1 ? static_cast<double>(width - left - right) / (stages.size() - 1) : 0;
  absl::StrAppend(out, "<section id=\"sentiment\"><h2>Sentiment across stages</h2>\n<p class=\"note\">Measured "
                       "CSAT / NPS / ratings normalised to 0 (unhappy) .. 1 (happy), with the number of responses. "
                       "Hollow points are thin; a gap means no responses (missing).</p>\n");
  absl::StrAppend(out, absl::StrFormat("<svg id=\"sentiment-svg\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
                                       "aria-label=\"Sentiment\" xmlns=\"http://www.w3.org/2000/svg\">\n",
                                       width, height));
  for (double v : {0.0, 0.5, 1.0}) {
    const double y = top + (1 - v) * plot_h;
    absl::StrAppend(out, absl::StrFormat("<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6ec\"/>"
                                         "<text class=\"small muted\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f"
                                         "</text>\n",
                                         left - 20, width - right + 20, y, y, left - 26, y + 4, v));
  }
  std::string path;
  bool pen_down = false;  // a stage without responses lifts the pen: the line shows the gap
  for (size_t i = 0; i < stages.size(); ++i) {
    const double x = left + i * step;
    const sv1::StageStat* s = FindStageStat(map, stages[i]);
    const Quality q = SentimentQuality(s ? s->sentiment_samples() : 0, o.quality);
    absl::StrAppend(out, absl::StrFormat("<text class=\"small stage-name\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
                                         "%s</text>",
                                         x, height - 8, HtmlEscape(stages[i])));
    if (q == Quality::kMissing) {
      absl::StrAppend(out, absl::StrFormat("<text class=\"small muted\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                                           "no responses</text>\n",
                                           x, top + plot_h + 14.0));
      pen_down = false;
      continue;
    }
    const double y = top + (1 - std::clamp(s->sentiment_mean(), 0.0, 1.0)) * plot_h;
    absl::StrAppend(&path, pen_down ? "L" : "M", absl::StrFormat("%.1f,%.1f ", x, y));
    pen_down = true;
    const double r = 3 + std::min(6.0, std::sqrt(static_cast<double>(s->sentiment_samples())) / 3);
    absl::StrAppend(out, absl::StrFormat("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" stroke=\"#a15c00\" "
                                         "stroke-width=\"2\"/><text class=\"small\" x=\"%.1f\" y=\"%.1f\" "
                                         "text-anchor=\"middle\">%s (n=%s)</text>\n",
                                         x, y, r, q == Quality::kThin ? "#fff" : "#d98214", x, y - r - 4,
                                         Sentiment(s->sentiment_mean(), s->sentiment_samples()),
                                         Count(s->sentiment_samples())));
  }
  absl::StrAppend(out, "<path d=\"", path, "\" fill=\"none\" stroke=\"#d98214\" stroke-width=\"2\"/>\n</svg>\n</section>\n");
}

void AppendTouchpoints(const sv1::JourneyMap& map, const RenderOptions& o, std::string* out) {
  const TouchpointGrid grid = BuildTouchpointGrid(map, o.quality);
  absl::StrAppend(out, "<section id=\"touchpoints\"><h2>Touchpoints by stage and channel</h2>\n<p class=\"note\">"
                       "Events per stage (the stage after the event) and channel, channels ranked by volume. Darker = "
                       "more events; hue = sentiment (red unhappy, green happy, blue-grey no survey). Top events per "
                       "cell listed.</p>\n<table class=\"grid\"><tr><th>channel</th>");
  for (const auto& stage : grid.stages) absl::StrAppend(out, "<th>", HtmlEscape(stage), "</th>");
  absl::StrAppend(out, "</tr>\n");
  for (size_t r = 0; r < grid.channels.size(); ++r) {
    absl::StrAppend(out, "<tr><td class=\"ch\">", ChannelLabel(grid.channels[r]), "</td>");
    for (const GridCell& c : grid.cells[r]) {
      absl::StrAppend(out, "<td data-stage=\"", HtmlEscape(c.stage), "\" data-channel=\"", ChannelLabel(c.channel),
                      "\" data-quality=\"", QualityName(c.quality), "\" style=\"background:", CellColour(c, grid.max_count),
                      "\">");
      if (c.count == 0) {
        absl::StrAppend(out, "no events", Badge(Quality::kMissing), "</td>");
        continue;
      }
      absl::StrAppend(out, "<span class=\"cell-count\">", Count(c.count), "</span>");
      if (c.quality != Quality::kMeasured) absl::StrAppend(out, Badge(c.quality));
      if (c.sentiment_samples > 0) {
        absl::StrAppend(out, "<br>sentiment ", Sentiment(c.sentiment_mean, c.sentiment_samples), " (n=",
                        Count(c.sentiment_samples), ")");
      }
      absl::StrAppend(out, "<div class=\"cell-events\">");
      const int shown = std::min<int>(o.events_per_cell, c.events.size());
      for (int i = 0; i < shown; ++i) {
        absl::StrAppend(out, HtmlEscape(c.events[i].first), " ", Count(c.events[i].second), "<br>");
      }
      if (static_cast<int>(c.events.size()) > shown) {
        long long other = 0;
        for (size_t i = shown; i < c.events.size(); ++i) other += c.events[i].second;
        absl::StrAppend(out, "Other (", c.events.size() - shown, " events) ", Count(other));
      }
      absl::StrAppend(out, "</div></td>");
    }
    absl::StrAppend(out, "</tr>\n");
  }
  absl::StrAppend(out, "</table></section>\n");
}

void AppendPainPoints(const sv1::JourneyMap& map, const sv1::JourneyMap* cmp, const RenderOptions& o, std::string* out) {
  absl::StrAppend(out, "<section id=\"pain-points\"><h2>Pain points, ranked</h2>\n<p class=\"note\">Scored from the "
                       "data: customers lost at a stage or touchpoint, weighted by how far its sentiment falls below "
                       "the journey's average (see the definitions), with the 95% interval and the sample size.</p>\n");
  if (map.pain_points_size() == 0) {
    absl::StrAppend(out, "<p>No pain points in this range (missing).</p></section>\n");
    return;
  }
  double max_score = 0;
  for (const auto& p : map.pain_points()) max_score = std::max(max_score, p.score_high() > 0 ? p.score_high() : p.score());
  absl::StrAppend(out, "<table class=\"pain\"><tr><th class=\"num\">#</th><th>where</th><th class=\"num\">score</th>"
                       "<th class=\"num\">95% interval</th><th class=\"num\">customers lost</th><th class=\"num\">"
                       "sentiment (n)</th><th>quality</th><th>why</th></tr>\n");
  for (int i = 0; i < map.pain_points_size(); ++i) {
    const auto& p = map.pain_points(i);
    const sv1::PainPoint* prev = cmp ? FindPainPoint(*cmp, p) : nullptr;
    const Quality q = PainPointQuality(p, o.quality);
    absl::StrAppend(out, "<tr class=\"pain-", i + 1, "\" data-stage=\"", HtmlEscape(p.stage()), "\" data-event=\"",
                    HtmlEscape(p.event_name()), "\"><td class=\"num\">", i + 1, "</td><td>", HtmlEscape(PainPointWhere(p)),
                    "</td><td class=\"num\">", absl::StrFormat("%.1f", p.score()),
                    prev ? absl::StrCat("<br>", Delta(p.score(), prev->score(), false, false)) : "",
                    absl::StrFormat("<div class=\"scorebar\" style=\"width:%.0f%%\"></div>",
                                    max_score > 0 ? p.score() / max_score * 100 : 0),
                    "</td><td class=\"num\">", absl::StrFormat("%.1f &#8211; %.1f", p.score_low(), p.score_high()),
                    "</td><td class=\"num\">", Count(p.customers_lost()), "</td><td class=\"num\">",
                    p.samples() > 0 ? absl::StrCat(Sentiment(p.sentiment_mean(), p.samples()), " (n=", Count(p.samples()), ")")
                                    : std::string("no responses"),
                    "</td><td>", Badge(q),
                    "</td><td>", HtmlEscape(p.reason()), "</td></tr>\n");
  }
  absl::StrAppend(out, "</table></section>\n");
}

void AppendDefinitions(const sv1::JourneyMap& map, const RenderOptions& o, std::string* out) {
  std::map<std::string, std::string> defs(map.definitions().begin(), map.definitions().end());
  defs.emplace("quality.measured", absl::StrCat("at least ", o.quality.min_count, " customers or events behind the "
                                                "figure, and at least ", o.quality.min_sentiment_samples,
                                                " responses behind a sentiment"));
  defs.emplace("quality.thin", absl::StrCat("fewer than ", o.quality.min_count, " customers or events, or fewer than ",
                                            o.quality.min_sentiment_samples, " responses: shown, but do not trust it"));
  defs.emplace("quality.missing", "no data at all for the cell in the range (hatched)");
  defs.emplace("map.range", "every figure counts what happened between the range's from (inclusive) and to (exclusive)");
  absl::StrAppend(out, "<section id=\"definitions\"><h2>Definitions</h2>\n<p class=\"note\">Every number on this page "
                       "comes from one of these definitions (as the journey service computes it).</p>\n<dl class=\"defs\">\n");
  for (const auto& [name, text] : defs) {
    absl::StrAppend(out, "<dt>", HtmlEscape(name), "</dt><dd>", HtmlEscape(text), "</dd>\n");
  }
  absl::StrAppend(out, "</dl></section>\n");
}

void AppendData(const sv1::JourneyMap& map, const sv1::JourneyMap* cmp, const RenderOptions& o, std::string* out) {
  absl::StrAppend(out, "<section id=\"data\"><h2>The figures</h2>\n<p class=\"note\">Every figure on this page in "
                       "one CSV (one figure a row; previous_value from the comparison).</p>\n<p class=\"noprint\"><a "
                       "id=\"csv-download\" download=\"journey-map.csv\" href=\"#figures-csv\">Download the CSV</a></p>\n"
                       "<details class=\"noprint\"><summary>Show the CSV</summary><pre class=\"csv\" id=\"figures-csv\">",
                  HtmlEscape(JourneyMapCsv(map, cmp, o.quality)), "</pre></details></section>\n");
}

}  // namespace

std::string RenderJourneyMapHtml(const sv1::JourneyMap& map, const sv1::JourneyMap* comparison,
                                 const RenderOptions& options) {
  const sv1::JourneyMap* cmp = ComparisonOf(map, comparison);
  std::string out;
  out.reserve(64 * 1024);
  absl::StrAppend(&out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<meta http-equiv=\"Content-Security-Policy\" content=\"", kCsp, "\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
                  HtmlEscape(options.title), " &#183; ", HtmlEscape(RangeLabel(map.range())), "</title>\n<style>", kStyle,
                  "</style>\n<script>", kGuardScript, "</script>\n</head>\n<body>\n");
  AppendHeader(map, cmp, options, &out);
  AppendFunnel(map, cmp, options, &out);
  AppendFlow(map, &out);
  AppendPainPoints(map, cmp, options, &out);
  AppendTouchpoints(map, options, &out);
  AppendSentiment(map, options, &out);
  AppendTimes(map, cmp, options, &out);
  AppendDefinitions(map, options, &out);
  AppendData(map, cmp, options, &out);
  absl::StrAppend(&out, "<footer>Drawn as SVG by the journey suite's map renderer, no external library and no network "
                        "access (Content-Security-Policy: default-src 'none').",
                  options.generated_by.empty() ? "" : absl::StrCat(" ", HtmlEscape(options.generated_by), "."),
                  "</footer>\n<script>", kPageScript, "</script>\n</body>\n</html>\n");
  return out;
}

}  // namespace journey::map
