// journeyctl funnel / map: the aggregate views from the journey service, as tables, JSON,
// and the journey map HTML file.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/output.h"
#include "tools/journeyctl/time_flags.h"
#include "tools/journeymap/figure_format.h"
#include "tools/journeymap/map_csv.h"
#include "tools/journeymap/map_html.h"
#include "tools/journeymap/map_text.h"

namespace journey::cli {
namespace {

namespace sv1 = journey::state::v1;

absl::Status ReadMapJson(const std::string& path, sv1::JourneyMap* map) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(ss.str(), map, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a JourneyMap in JSON (journeyctl --json map "
                                                   "writes one): ", status.message().ToString()));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

}  // namespace

int RunFunnel(const GlobalOptions& g, const FunnelOptions& o) {
  auto range = ParseRange(o.from, o.to, absl::Now());
  if (!range.ok()) return UsageError("funnel", range.status());
  sv1::GetFunnelRequest request;
  *request.mutable_range() = *range;
  request.set_segment(o.segment);
  request.set_journey_id(o.journey_id);
  SuiteClients clients(g.addresses);
  sv1::Funnel response;
  auto ctx = clients.Context();
  grpc::Status status = clients.journey().GetFunnel(ctx.get(), request, &response);
  if (!status.ok()) return Fail(status, "journey", g.addresses.journey);
  if (g.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::cout << "Funnel " << map::RangeLabel(*range) << (o.segment.empty() ? "" : " segment " + o.segment) << "\n"
            << map::FunnelTable(response, map::QualityRules{});
  return 0;
}

int RunMap(const GlobalOptions& g, const MapOptions& o) {
  sv1::JourneyMap map;
  if (!o.input.empty()) {
    // Offline: render a map saved earlier with `journeyctl --json map > file.json`.
    if (absl::Status s = ReadMapJson(o.input, &map); !s.ok()) return UsageError("map", s);
  } else {
    auto range = ParseRange(o.from, o.to, absl::Now());
    if (!range.ok()) return UsageError("map", range.status());
    sv1::GetJourneyMapRequest request;
    *request.mutable_range() = *range;
    request.set_journey_id(o.journey_id);
    request.set_segment(o.segment);
    request.set_compare_previous(o.compare_previous && o.compare.empty());
    SuiteClients clients(g.addresses);
    auto ctx = clients.Context();
    grpc::Status status = clients.journey().GetJourneyMap(ctx.get(), request, &map);
    if (!status.ok()) return Fail(status, "journey", g.addresses.journey);
    // The service may leave the range out of the answer; the page must state it.
    if (!map.has_range()) *map.mutable_range() = *range;
  }
  sv1::JourneyMap comparison;
  const sv1::JourneyMap* cmp = nullptr;
  if (!o.compare.empty()) {
    if (absl::Status s = ReadMapJson(o.compare, &comparison); !s.ok()) return UsageError("map", s);
    cmp = &comparison;
  }
  map::RenderOptions render;
  if (!o.title.empty()) render.title = o.title;
  if (!o.compare_label.empty()) render.comparison_label = o.compare_label;
  render.generated_by = absl::StrCat("journeyctl map, ", map::Timestamp([] {
                                       google::protobuf::Timestamp t;
                                       t.set_seconds(absl::ToUnixSeconds(absl::Now()));
                                       return t;
                                     }()));
  if (!o.html.empty()) {
    if (absl::Status s = WriteFile(o.html, map::RenderJourneyMapHtml(map, cmp, render)); !s.ok()) {
      return UsageError("map", s);
    }
  }
  if (!o.csv.empty()) {
    if (absl::Status s = WriteFile(o.csv, map::JourneyMapCsv(map, map::ComparisonOf(map, cmp), render.quality));
        !s.ok()) {
      return UsageError("map", s);
    }
  }
  if (g.json) {
    std::cout << ToJson(map) << "\n";
    return 0;
  }
  std::cout << "Journey map " << map::RangeLabel(map.range()) << " (journey "
            << (map.journey_id().empty() ? "default" : map.journey_id()) << " v" << map.definition_version() << ")\n\n"
            << map::FunnelTable(map.funnel(), render.quality) << "\n"
            << map::StageTable(map, render.quality) << "\nTop pain points:\n"
            << map::PainPointTable(map, o.top, render.quality);
  if (const std::string top = map::TopPainPointSentence(map); !top.empty()) std::cout << "\n" << top << "\n";
  if (!o.html.empty()) std::cout << "\nJourney map written to " << o.html << " (open it in a browser)\n";
  if (!o.csv.empty()) std::cout << "Figures written to " << o.csv << "\n";
  return 0;
}

}  // namespace journey::cli
