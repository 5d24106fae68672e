// journeyctl simulate: seeded demo journeys (tools/simulator) sent through ingest's Batch.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>

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

struct LiveTally {
  long long visits = 0, failed = 0, holdout = 0, clicks = 0, orders = 0;
  double revenue = 0;
  std::map<std::string, long long> exposures;  // "experiment/variant" -> visits served under it
};

// Sends one outcome. Recommend writes the served recommendation's record a few milliseconds
// after answering, so a report right behind the last visit may meet NOT_FOUND: retried briefly.
bool Report(SuiteClients& clients, const recommend::v1::ReportOutcomeRequest& request) {
  for (int attempt = 0;; ++attempt) {
    recommend::v1::ReportOutcomeResponse ignored;
    auto ctx = clients.Context();
    grpc::Status s = clients.recommend().ReportOutcome(ctx.get(), request, &ignored);
    if (s.ok()) return true;
    if (s.error_code() != grpc::StatusCode::NOT_FOUND || attempt == 20) {
      std::fprintf(stderr, "journeyctl simulate: ReportOutcome: %s\n", s.error_message().c_str());
      return false;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// Live visits after the history: the first `shoppers` customers who looked at a product
// come back now, get product-page recommendations next to it, and react
// (sim::ReactToRecommendations); their clicks and orders are reported afterwards with
// ReportOutcome, so experiments and the holdout get exposures and conversions now.
LiveTally PlayLiveVisits(SuiteClients& clients, const sim::SimulationSummary& summary, int shoppers, uint64_t seed) {
  LiveTally t;
  std::mt19937_64 rng(seed ^ 0x5eed5ee5ULL);
  std::vector<recommend::v1::ReportOutcomeRequest> reports;
  for (const sim::SimulatedCustomer& c : summary.customers_list) {
    if (t.visits + t.failed >= shoppers) break;
    if (c.last_product_id.empty()) continue;
    recommend::v1::GetRecommendationsRequest req;
    if (c.identified) req.set_user_id(c.user_id);
    else req.set_anonymous_id(c.anonymous_id);
    req.set_placement(recommend::v1::PLACEMENT_PRODUCT_PAGE);
    req.set_current_product_id(c.last_product_id);
    req.set_limit(4);
    recommend::v1::GetRecommendationsResponse resp;
    auto ctx = clients.Context();
    if (!clients.recommend().GetRecommendations(ctx.get(), req, &resp).ok()) {
      ++t.failed;
      continue;
    }
    ++t.visits;
    t.holdout += resp.holdout();
    for (const auto& e : resp.experiments()) t.exposures[absl::StrCat(e.experiment_id(), "/", e.variant())]++;
    std::vector<std::string> products;
    for (const auto& p : resp.products()) products.push_back(p.product_id());
    const sim::VisitReaction r = sim::ReactToRecommendations(c, products, rng);
    recommend::v1::ReportOutcomeRequest out;
    out.set_recommendation_id(resp.recommendation_id());
    out.set_item_id(r.product_id);
    if (r.clicked) {
      out.set_outcome(recommend::v1::OUTCOME_CLICK);
      reports.push_back(out);
    }
    if (r.bought) {
      out.set_outcome(recommend::v1::OUTCOME_CONVERSION);
      out.set_value(r.revenue);
      out.set_order_id(absl::StrCat("live-", seed, "-", c.user_id));
      reports.push_back(out);
    }
  }
  for (const auto& report : reports) {
    if (!Report(clients, report)) {
      ++t.failed;
    } else if (report.outcome() == recommend::v1::OUTCOME_CLICK) {
      ++t.clicks;
    } else {
      ++t.orders;
      t.revenue += report.value();
    }
  }
  return t;
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
  const LiveTally live = o.shoppers > 0 ? PlayLiveVisits(clients, summary, o.shoppers, o.seed) : LiveTally{};
  const BatchTally& t = sink.tally();
  if (g.json) {
    std::printf("{\"customers\": %lld, \"events\": %lld, \"accepted\": %lld, \"duplicates\": %lld, \"rejected\": %lld, "
                "\"friction_hits\": %lld, \"friction_losses\": %lld, \"seconds\": %.2f, \"live_visits\": %lld, "
                "\"live_failed\": %lld, \"live_clicks\": %lld, \"live_orders\": %lld}\n",
                summary.customers, t.sent, t.accepted, t.duplicates, t.rejected, summary.friction_hits,
                summary.friction_losses, seconds, live.visits, live.failed, live.clicks, live.orders);
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
  if (o.shoppers > 0) {
    std::printf("Live visits now: %s customers back on a product page (%s of them in the holdout); %s clicks and %s "
                "orders (%.2f EUR) reported with ReportOutcome%s\n",
                map::Count(live.visits).c_str(), map::Count(live.holdout).c_str(), map::Count(live.clicks).c_str(),
                map::Count(live.orders).c_str(), live.revenue,
                live.failed > 0 ? absl::StrCat("; ", live.failed, " calls failed").c_str() : "");
    std::printf("  served under:");
    for (const auto& [variant, n] : live.exposures) std::printf(" %s %s", variant.c_str(), map::Count(n).c_str());
    std::printf("\n");
  }
  return t.rejected > 0 || live.failed > 0 ? 1 : 0;
}

}  // namespace journey::cli
