// journeyctl replay FILE: an event file (REES46 / Retailrocket CSV, JSON lines) into ingest's
// Batch, with a progress bar and an optional rate limit. Malformed lines are reported and
// skipped; the summary says how many.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/eventfile/event_file_reader.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/ingest_batch_sink.h"
#include "tools/journeyctl/output.h"
#include "tools/journeyctl/progress_bar.h"
#include "tools/journeymap/figure_format.h"

namespace journey::cli {

int RunReplay(const GlobalOptions& g, const ReplayOptions& o) {
  auto reader = eventfile::EventFileReader::Open(o.file);
  if (!reader.ok()) return UsageError("replay", reader.status());
  SuiteClients clients(g.addresses);
  IngestBatchSink sink(clients, g.addresses.ingest, BatchSinkOptions{o.batch_size, o.rate_per_s});
  ProgressBar bar(absl::StrCat("replay ", eventfile::FormatName((*reader)->format())),
                  static_cast<double>((*reader)->size_bytes()), o.progress);
  std::vector<journey::common::v1::Event> batch;
  long long read = 0, bad_lines = 0;
  std::vector<std::string> first_bad;
  const absl::Time started = absl::Now();
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    absl::Status s = sink.Send(batch);
    batch.clear();
    bar.Update(static_cast<double>((*reader)->bytes_read()), absl::StrCat(map::Count(sink.tally().sent), " events"));
    return s;
  };
  while (o.limit == 0 || read < o.limit) {
    journey::common::v1::Event e;
    auto more = (*reader)->Next(&e);
    if (!more.ok()) {
      ++bad_lines;
      if (first_bad.size() < 5) first_bad.emplace_back(more.status().message());
      continue;
    }
    if (!*more) break;
    ++read;
    batch.push_back(std::move(e));
    if (static_cast<int>(batch.size()) >= o.batch_size) {
      if (absl::Status s = flush(); !s.ok()) {
        std::fprintf(stderr, "\njourneyctl replay: %s\n", std::string(s.message()).c_str());
        return 1;
      }
    }
  }
  if (absl::Status s = flush(); !s.ok()) {
    std::fprintf(stderr, "\njourneyctl replay: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  bar.Finish(absl::StrCat(map::Count(sink.tally().sent), " events"));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const BatchTally& t = sink.tally();
  if (g.json) {
    std::printf("{\"file\": \"%s\", \"format\": \"%s\", \"events\": %lld, \"accepted\": %lld, \"duplicates\": %lld, "
                "\"rejected\": %lld, \"bad_lines\": %lld, \"seconds\": %.2f}\n",
                o.file.c_str(), eventfile::FormatName((*reader)->format()), t.sent, t.accepted, t.duplicates,
                t.rejected, bad_lines, seconds);
  } else {
    std::printf("%s (%s): %s events sent in %.1f s (%.0f/s): %s accepted, %s duplicates, %s rejected, %s bad lines\n",
                o.file.c_str(), eventfile::FormatName((*reader)->format()), map::Count(t.sent).c_str(), seconds,
                seconds > 0 ? t.sent / seconds : 0.0, map::Count(t.accepted).c_str(), map::Count(t.duplicates).c_str(),
                map::Count(t.rejected).c_str(), map::Count(bad_lines).c_str());
    for (const auto& r : t.first_rejections) std::printf("  rejected %s\n", r.c_str());
    for (const auto& b : first_bad) std::printf("  skipped %s\n", b.c_str());
  }
  return t.rejected > 0 || bad_lines > 0 ? 1 : 0;
}

}  // namespace journey::cli
