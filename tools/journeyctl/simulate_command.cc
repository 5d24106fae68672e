// journeyctl simulate: seeded demo journeys (tools/simulator) sent through ingest's Batch.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/ingest_batch_sink.h"
#include "tools/journeyctl/output.h"
#include "tools/journeyctl/progress_bar.h"
#include "tools/journeymap/figure_format.h"
#include "tools/simulator/journey_simulator.h"

namespace journey::cli {
namespace {

// Ingest acknowledged everything; the journey service applies it asynchronously. Waits
// (bounded) until each sample customer's last event shows in its journey, so the figures
// printed next are complete. Samples sit on different partitions: a fair proxy for "done".
void WaitUntilApplied(SuiteClients& clients, const GlobalOptions& g,
                      const std::map<std::string, const sim::SimulatedCustomer*>& samples, int wait_s) {
  const absl::Time deadline = absl::Now() + absl::Seconds(wait_s);
  size_t applied = 0;
  while (absl::Now() < deadline) {
    applied = 0;
    for (const auto& [stage, c] : samples) {
      state::v1::GetJourneyRequest request;
      request.set_user_id(c->user_id);
      state::v1::GetJourneyResponse response;
      auto ctx = clients.Context();
      if (!clients.journey().GetJourney(ctx.get(), request, &response).ok()) continue;
      for (const auto& t : response.journey().touchpoints()) {
        if (t.message_id() == c->last_message_id) {
          ++applied;
          break;
        }
      }
    }
    if (applied == samples.size()) return;
    absl::SleepFor(absl::Milliseconds(250));
  }
  std::fprintf(stderr, "journeyctl simulate: after %d s the journey service had applied the last events of %zu of %zu "
               "sample customers; figures may still grow\n", wait_s, applied, samples.size());
}

}  // namespace

int RunSimulate(const GlobalOptions& g, const SimulateOptions& o) {
  if (o.customers <= 0 || o.days <= 0) {
    return UsageError("simulate", absl::InvalidArgumentError("--customers and --days must be positive"));
  }
  if (o.friction_share < 0 || o.friction_share > 1) {
    return UsageError("simulate", absl::InvalidArgumentError("--friction must be within [0, 1]"));
  }
  sim::SimulatorOptions options;
  options.customers = o.customers;
  options.days = o.days;
  options.seed = o.seed;
  options.friction_share = o.friction_share;
  // Whole minutes: the same seed on the same minute gives the same message ids.
  options.end = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 60 * 60);
  SuiteClients clients(g.addresses);
  IngestBatchSink sink(clients, g.addresses.ingest, BatchSinkOptions{500, o.rate_per_s});
  ProgressBar bar("simulate", o.customers, o.progress);
  sim::SimulationSummary summary;
  const absl::Time started = absl::Now();
  absl::Status status = sim::JourneySimulator(options).Run(sink, &summary, [&](int done) {
    bar.Update(done, absl::StrCat(map::Count(done), " customers, ", map::Count(sink.tally().sent), " events"));
  });
  if (!status.ok()) {
    std::fprintf(stderr, "\njourneyctl simulate: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  bar.Finish(absl::StrCat(map::Count(summary.customers), " customers, ", map::Count(sink.tally().sent), " events"));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);

  // One sample customer per furthest stage (logged in, so known by user id), for "what
  // would they see now?".
  std::map<std::string, const sim::SimulatedCustomer*> samples;
  for (const auto& c : summary.customers_list) {
    if (!samples.count(c.last_stage) && c.identified && c.events > 3) samples[c.last_stage] = &c;
  }
  if (!o.samples_file.empty()) {
    std::ofstream out(o.samples_file);
    for (const auto& [stage, c] : samples) out << stage << " " << c->user_id << "\n";
  }
  if (o.wait_s > 0) WaitUntilApplied(clients, g, samples, o.wait_s);
  const BatchTally& t = sink.tally();
  if (g.json) {
    std::printf("{\"customers\": %lld, \"events\": %lld, \"accepted\": %lld, \"duplicates\": %lld, \"rejected\": %lld, "
                "\"friction_hits\": %lld, \"friction_losses\": %lld, \"seconds\": %.2f}\n",
                summary.customers, t.sent, t.accepted, t.duplicates, t.rejected, summary.friction_hits,
                summary.friction_losses, seconds);
    return t.rejected > 0 ? 1 : 0;
  }
  std::printf("Simulated %s customers over %d days (seed %llu): %s events in %.1f s, %s accepted, %s duplicates, "
              "%s rejected\n",
              map::Count(summary.customers).c_str(), o.days, static_cast<unsigned long long>(o.seed),
              map::Count(t.sent).c_str(), seconds, map::Count(t.accepted).c_str(), map::Count(t.duplicates).c_str(),
              map::Count(t.rejected).c_str());
  std::printf("  personas:");
  for (const auto& [p, n] : summary.customers_by_persona) std::printf(" %s %s", p.c_str(), map::Count(n).c_str());
  std::printf("\n  furthest stage:");
  for (const auto& [s, n] : summary.customers_by_last_stage) std::printf(" %s %s", s.c_str(), map::Count(n).c_str());
  std::printf("\n  planted friction: %s web checkouts met a surprise shipping cost at 'Checkout Step Viewed' (step 2), "
              "%s left there\n",
              map::Count(summary.friction_hits).c_str(), map::Count(summary.friction_losses).c_str());
  for (const auto& r : t.first_rejections) std::printf("  rejected %s\n", r.c_str());
  return t.rejected > 0 ? 1 : 0;
}

}  // namespace journey::cli
