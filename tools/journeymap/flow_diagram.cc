#include "tools/journeymap/flow_diagram.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/journeymap/figure_format.h"
#include "tools/journeymap/map_figures.h"

namespace journey::map {
namespace {

namespace cv1 = journey::common::v1;
namespace sv1 = journey::state::v1;

constexpr double kNodeWidth = 16;

struct Column {
  std::string stage;
  std::string esc;  // stage, HTML-escaped
  double x = 0;
  long long entered = 0, dropped = 0, abandoned = 0, entries = 0, repeats = 0;
  double height = 0;
  double out_offset = 0;  // next free y on the right edge, from the node top
  double in_offset = 0;   // next free y on the left edge
};

}  // namespace

std::string FlowDiagramSvg(const sv1::JourneyMap& map, const FlowDiagramLayout& layout) {
  const std::vector<std::string> stages = StagesOf(map);
  const int n = static_cast<int>(stages.size());
  std::map<std::string, int> index;
  for (int i = 0; i < n; ++i) index[stages[i]] = i;

  std::vector<Column> cols(n);
  long long busiest = 1;
  for (int i = 0; i < n; ++i) {
    cols[i].stage = stages[i];
    cols[i].esc = HtmlEscape(stages[i]);
    if (const sv1::StageStat* s = FindStageStat(map, stages[i])) {
      cols[i].entered = s->entered();
      cols[i].dropped = s->dropped();
      cols[i].abandoned = s->abandoned();
    }
    busiest = std::max({busiest, cols[i].entered, cols[i].dropped});
  }
  std::vector<const sv1::Flow*> forward, backward;
  for (const auto& f : map.flows()) {
    auto to = index.find(f.to_stage());
    if (to == index.end()) continue;
    auto from = index.find(f.from_stage());
    if (f.kind() == cv1::TRANSITION_KIND_ENTRY || f.from_stage().empty()) {
      cols[to->second].entries += f.customers();
    } else if (from == index.end()) {
      continue;
    } else if (f.kind() == cv1::TRANSITION_KIND_REPEAT || (from->second == to->second &&
                                                           f.kind() != cv1::TRANSITION_KIND_ABANDONED)) {
      cols[to->second].repeats += f.customers();
    } else if (f.kind() == cv1::TRANSITION_KIND_ABANDONED) {
      // Already in StageStat.abandoned; drawn in the drop-off node.
    } else if (from->second < to->second) {
      forward.push_back(&f);
    } else {
      backward.push_back(&f);
    }
  }
  const double scale = static_cast<double>(layout.band_max_px) / busiest;
  auto px = [&](long long customers) { return customers <= 0 ? 0.0 : std::max(1.5, customers * scale); };

  const double left = 70, right = 120;
  const double arc_space = backward.empty() ? 20 : 95;
  const double top = 40 + arc_space;
  const double drop_gap = 46;
  const double drop_top = top + layout.band_max_px + drop_gap;
  const double height = drop_top + layout.band_max_px * 0.6 + 60;
  const double step = n > 1 ? (layout.width - left - right) / (n - 1) : 0;
  for (int i = 0; i < n; ++i) {
    cols[i].x = left + i * step;
    cols[i].height = std::max(2.0, px(cols[i].entered));
  }

  std::string svg = absl::StrFormat(
      "<svg id=\"flow-svg\" class=\"chart\" viewBox=\"0 0 %d %.0f\" role=\"img\" aria-label=\"Flow between "
      "stages\" xmlns=\"http://www.w3.org/2000/svg\">\n"
      "<defs><marker id=\"arrow-back\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"12\" "
      "markerHeight=\"12\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"back-head\"/>"
      "</marker></defs>\n",
      layout.width, height);

  // Entry stubs first (they sit at the top of the left edge).
  for (auto& c : cols) {
    if (c.entries <= 0) continue;
    const double w = px(c.entries);
    const double y = top + w / 2;
    absl::StrAppend(&svg, absl::StrFormat("<path class=\"band entry\" data-from=\"\" data-to=\"%s\" d=\"M%.1f,%.1f "
                                          "L%.1f,%.1f\" stroke-width=\"%.1f\"><title>%s new customers entered %s"
                                          "</title></path>\n",
                                          c.esc, c.x - 34, y, c.x, y, w, Count(c.entries), c.esc));
    absl::StrAppend(&svg, absl::StrFormat("<text class=\"small muted\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
                                          "new %s</text>\n",
                                          c.x - 37, y + 4, Count(c.entries)));
    c.in_offset += w;
  }

  // Forward bands, ordered so bands leave and arrive in stage order (fewer crossings).
  std::stable_sort(forward.begin(), forward.end(), [&](const sv1::Flow* a, const sv1::Flow* b) {
    return std::make_pair(index[a->from_stage()], index[a->to_stage()]) <
           std::make_pair(index[b->from_stage()], index[b->to_stage()]);
  });
  for (const sv1::Flow* f : forward) {
    Column& from = cols[index[f->from_stage()]];
    Column& to = cols[index[f->to_stage()]];
    const double w = px(f->customers());
    const double y0 = top + from.out_offset + w / 2;
    const double y1 = top + to.in_offset + w / 2;
    from.out_offset += w;
    to.in_offset += w;
    const double x0 = from.x + kNodeWidth, x1 = to.x;
    const double mid = (x0 + x1) / 2;
    const double share = from.entered > 0 ? static_cast<double>(f->customers()) / from.entered : 0;
    absl::StrAppend(&svg, absl::StrFormat(
                              "<path class=\"band forward\" data-from=\"%s\" data-to=\"%s\" d=\"M%.1f,%.1f C%.1f,%.1f "
                              "%.1f,%.1f %.1f,%.1f\" stroke-width=\"%.1f\"><title>%s to %s: %s customers (%s of %s)"
                              "</title></path>\n",
                              from.esc, to.esc, x0, y0, mid, y0, mid, y1, x1, y1, w, from.esc, to.esc,
                              Count(f->customers()), Percent(share), from.esc));
    if (index[f->to_stage()] == index[f->from_stage()] + 1) {
      absl::StrAppend(&svg, absl::StrFormat("<text class=\"small band-label\" x=\"%.1f\" y=\"%.1f\" "
                                            "text-anchor=\"middle\">%s</text>\n",
                                            mid, (y0 + y1) / 2 + 4, Count(f->customers())));
    }
  }

  // Drop-off: from the bottom of each node's right edge down to its drop node.
  for (int i = 0; i < n; ++i) {
    Column& c = cols[i];
    const long long lost = std::max(c.dropped, c.abandoned);
    const double x = c.x + kNodeWidth;
    if (lost > 0) {
      const double w = px(lost);
      const double y0 = top + std::min(c.out_offset, std::max(0.0, c.height - w)) + w / 2;
      const double dx = std::min(step * 0.45, 60.0);
      const double y1 = drop_top + w / 2;
      absl::StrAppend(&svg, absl::StrFormat("<path class=\"band drop\" data-from=\"%s\" data-to=\"drop\" d=\"M%.1f,%.1f "
                                            "C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" stroke-width=\"%.1f\"><title>%s: %s "
                                            "dropped, %s abandoned</title></path>\n",
                                            c.esc, x, y0, x + dx, y0, x + dx * 0.2, y1, x + dx, y1, w, c.esc,
                                            Count(c.dropped), Count(c.abandoned)));
      absl::StrAppend(&svg, absl::StrFormat("<rect class=\"drop-node\" x=\"%.1f\" y=\"%.1f\" width=\"10\" "
                                            "height=\"%.1f\"/>\n",
                                            x + dx, drop_top, w));
      absl::StrAppend(&svg, absl::StrFormat(
                                "<text class=\"small drop-label\" x=\"%.1f\" y=\"%.1f\">dropped %s</text>\n"
                                "<text class=\"small drop-label\" x=\"%.1f\" y=\"%.1f\">abandoned %s</text>\n",
                                x + dx + 14, drop_top + 11, Count(c.dropped), x + dx + 14, drop_top + 25,
                                Count(c.abandoned)));
    }
  }

  // Back-steps: arcs above the columns, from the later stage back to the earlier one.
  for (const sv1::Flow* f : backward) {
    const Column& from = cols[index[f->from_stage()]];
    const Column& to = cols[index[f->to_stage()]];
    const double w = std::min(14.0, px(f->customers()));
    const double x0 = from.x + kNodeWidth / 2, x1 = to.x + kNodeWidth / 2;
    const double lift = std::min(arc_space - 12, 30 + 18.0 * std::abs(index[f->from_stage()] -
                                                                       index[f->to_stage()]));
    absl::StrAppend(&svg, absl::StrFormat(
                              "<path class=\"band back\" data-from=\"%s\" data-to=\"%s\" marker-end=\"url(#arrow-back)\" "
                              "d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" stroke-width=\"%.1f\"><title>back-step "
                              "%s to %s: %s customers</title></path>\n",
                              from.esc, to.esc, x0, top - 2, x0, top - lift, x1, top - lift, x1, top - 6, w, from.esc,
                              to.esc, Count(f->customers())));
    absl::StrAppend(&svg, absl::StrFormat("<text class=\"small back-label\" x=\"%.1f\" y=\"%.1f\" "
                                          "text-anchor=\"middle\">back %s</text>\n",
                                          (x0 + x1) / 2, top - lift * 0.75 - 4, Count(f->customers())));
  }

  // Stage nodes and their labels last, so they sit on top of the bands.
  for (const Column& c : cols) {
    absl::StrAppend(&svg, absl::StrFormat("<g class=\"stage-node\" data-stage=\"%s\" tabindex=\"0\">"
                                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\"/>"
                                          "<text class=\"stage-name\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
                                          "</text><text class=\"small\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                                          "%s entered</text>",
                                          c.esc, c.x, top, kNodeWidth, c.height, c.x + kNodeWidth / 2, 16.0, c.esc, c.x + kNodeWidth / 2, 30.0, Count(c.entered)));
    if (c.repeats > 0) {
      absl::StrAppend(&svg, absl::StrFormat("<text class=\"small muted\" x=\"%.1f\" y=\"%.1f\" "
                                            "text-anchor=\"middle\">repeat %s</text>",
                                            c.x + kNodeWidth / 2, top + c.height + 14, Count(c.repeats)));
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace journey::map
