// journeyctl abandoned-cart: the demo of a triggered action. A customer outside the holdout,
// who consented to marketing, views and adds a product to the cart and leaves. The events are
// dated 24 h ago, so the default definition's 24 h inactivity timer is due at once: journey
// marks the cart abandoned, the cart-recovery trigger fires, and (with --webhook_log, the
// output of tools/webhook_sink) the signed webhook call it produced is shown.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/experiment/assignment.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/event_builder.h"
#include "tools/journeyctl/output.h"

namespace journey::cli {
namespace {

constexpr char kWorkspace[] = "default";

// A zone where it is daytime now (09:00-20:00 local), outside the default quiet hours of
// email and push, so the recovery email goes out now instead of being deferred.
std::string DaytimeZone(absl::Time now, int* local_hour) {
  for (const char* name : {"Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"}) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(name, &tz)) continue;
    const int hour = absl::ToCivilHour(now, tz).hour();
    if (hour >= 9 && hour < 20) {
      *local_hour = hour;
      return name;
    }
  }
  *local_hour = absl::ToCivilHour(now, absl::UTCTimeZone()).hour();
  return "UTC";
}

// The first line of the sink's output naming the customer, waited for until the deadline.
std::vector<std::string> WebhookCalls(const std::string& path, const std::string& user_id, absl::Time deadline,
                                      bool wait) {
  const std::string needle = absl::StrCat("\"user_id\":\"", user_id, "\"");
  while (true) {
    std::vector<std::string> calls;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (absl::StrContains(line, needle)) calls.push_back(line);
    }
    if (!calls.empty() || !wait || absl::Now() >= deadline) return calls;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace

int RunAbandonedCart(const GlobalOptions& g, const AbandonedCartOptions& o) {
  SuiteClients clients(g.addresses);
  // The holdout gets no triggered action: pick a customer outside it (recommend knows it).
  recommend::v1::ListExperimentsResponse experiments;
  auto lctx = clients.Context();
  grpc::Status status = clients.recommend().ListExperiments(lctx.get(), {}, &experiments);
  if (!status.ok()) return Fail(status, "recommend", g.addresses.recommend);
  experiment::HoldoutConfig holdout{experiments.holdout_share_bp(), experiments.holdout_salt()};
  std::string user = o.user_id;
  while (user.empty() || experiment::InHoldout(holdout, kWorkspace, user)) user = NewMessageId("cart-customer");

  persona::v1::SetConsentRequest consent;
  consent.set_user_id(user);
  consent.set_purpose("marketing");
  consent.set_granted(true);
  consent.set_source("journeyctl abandoned-cart");
  persona::v1::SetConsentResponse consented;
  auto cctx = clients.Context();
  status = clients.persona().SetConsent(cctx.get(), consent, &consented);
  if (!status.ok()) return Fail(status, "persona", g.addresses.persona);

  const absl::Time now = absl::Now();
  int local_hour = 0;
  const std::string zone = DaytimeZone(now, &local_hour);
  std::printf("Customer %s: outside the holdout, marketing consent granted, time zone %s (local %02d h, outside "
              "email quiet hours)\n", user.c_str(), zone.c_str(), local_hour);
  struct Step {
    const char* name;
    absl::Duration ago;
  };
  const absl::Time yesterday = now - absl::Hours(24);
  for (const Step& step : {Step{"Product Viewed", absl::Minutes(3)}, Step{"Product Added", absl::Minutes(2)}}) {
    journey::common::v1::Event e = TrackEvent(user, "", step.name, yesterday - step.ago);
    e.set_product_id("sku-espresso-100");
    e.set_category("espresso-machines");
    e.set_price(249);
    e.set_currency("EUR");
    if (absl::string_view(step.name) == "Product Added") e.set_quantity(1);
    e.set_channel(journey::common::v1::CHANNEL_WEB);
    e.mutable_context()->set_timezone(zone);
    ingest::v1::TrackRequest req;
    *req.mutable_event() = e;
    ingest::v1::TrackResponse resp;
    auto ctx = clients.Context();
    status = clients.ingest().Track(ctx.get(), req, &resp);
    if (!status.ok()) return Fail(status, "ingest", g.addresses.ingest);
    std::printf("  %s  %-15s sku-espresso-100 (249.00 EUR)\n",
                absl::FormatTime("%Y-%m-%d %H:%M UTC", yesterday - step.ago, absl::UTCTimeZone()).c_str(), step.name);
  }

  // The timer is due now; journey's scheduler fires it within its tick.
  const absl::Time deadline = absl::Now() + absl::Seconds(o.wait_s);
  state::v1::GetJourneyResponse journey;
  while (true) {
    state::v1::GetJourneyRequest req;
    req.set_user_id(user);
    auto ctx = clients.Context();
    status = clients.journey().GetJourney(ctx.get(), req, &journey);
    if (!status.ok()) return Fail(status, "journey", g.addresses.journey);
    if (journey.journey().abandoned() || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  const auto& j = journey.journey();
  if (!j.abandoned()) {
    std::fprintf(stderr, "journeyctl abandoned-cart: after %d s the journey of %s is %s, not abandoned\n", o.wait_s,
                 user.c_str(), j.stage().c_str());
    return 1;
  }
  std::printf("journey: %s abandoned at %s (the 24 h inactivity timer), open cart %.2f EUR\n",
              j.abandoned_stage().c_str(),
              absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(j.abandoned_at().seconds()),
                               absl::UTCTimeZone())
                  .c_str(),
              j.open_cart_value());
  if (o.webhook_log.empty()) {
    std::printf("the cart-recovery trigger's action is in jy:actions:{p<partition>} (journey --action_webhook_url "
                "POSTs it)\n");
    return 0;
  }
  const std::vector<std::string> calls = WebhookCalls(o.webhook_log, user, deadline, /*wait=*/true);
  if (calls.empty()) {
    std::fprintf(stderr, "journeyctl abandoned-cart: no webhook call for %s in %s within %d s\n", user.c_str(),
                 o.webhook_log.c_str(), o.wait_s);
    return 1;
  }
  const bool verified = absl::StrContains(calls[0], "\"verified\":true");
  std::printf("webhook call (%s):\n%s\n", verified ? "signature verified" : "SIGNATURE DOES NOT VERIFY",
              calls[0].c_str());
  return verified ? 0 : 1;
}

}  // namespace journey::cli
