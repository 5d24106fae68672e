// journeyctl triggers stats [--trigger ID]: how the triggered actions ended, per trigger:
// sent, deferred by quiet hours, suppressed and why (holdout, consent, cool-downs, re-entry,
// the global cap), duplicates, and the webhook's deliveries and dead letters.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/output.h"
#include "tools/journeymap/figure_format.h"

namespace journey::cli {

int RunTriggers(const GlobalOptions& g, const TriggersOptions& o) {
  SuiteClients clients(g.addresses);
  state::v1::GetActionStatsRequest req;
  req.set_trigger_id(o.trigger_id);
  state::v1::GetActionStatsResponse r;
  auto ctx = clients.Context();
  grpc::Status s = clients.journey().GetActionStats(ctx.get(), req, &r);
  if (!s.ok()) return Fail(s, "journey", g.addresses.journey);
  if (g.json) {
    std::cout << ToJson(r) << "\n";
    return 0;
  }
  if (r.stats().empty()) {
    std::printf("no triggered action yet%s\n", o.trigger_id.empty() ? "" : absl::StrCat(" for ", o.trigger_id).c_str());
    return 0;
  }
  std::printf("%-24s %-12s %-22s %10s\n", "trigger", "outcome", "reason", "count");
  std::map<std::string, long long> decided;  // per trigger: sent + deferred + suppressed
  for (const auto& stat : r.stats()) {
    std::printf("%-24s %-12s %-22s %10s\n", stat.trigger_id().c_str(), stat.outcome().c_str(),
                stat.reason().empty() ? "-" : stat.reason().c_str(), map::Count(stat.count()).c_str());
    if (stat.outcome() == "sent" || stat.outcome() == "deferred" || stat.outcome() == "suppressed") {
      decided[stat.trigger_id()] += stat.count();
    }
  }
  std::printf("\nfired and decided (sent + deferred + suppressed):");
  for (const auto& [trigger, n] : decided) std::printf(" %s %s", trigger.c_str(), map::Count(n).c_str());
  std::printf("\n");
  return 0;
}

}  // namespace journey::cli
