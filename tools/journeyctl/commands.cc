#include "tools/journeyctl/commands.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tools/journeyctl/event_builder.h"
#include "common/server/health_check_client.h"
#include "tools/journeyctl/output.h"

namespace journey::cli {
namespace {

using journey::common::v1::Event;

std::string StageTrail(const journey::common::v1::JourneySnapshot& j) {
  std::vector<std::string> stages;
  for (const auto& visit : j.history()) stages.push_back(visit.stage());
  return absl::StrJoin(stages, " > ");
}

std::string OfferList(const recommend::v1::GetRecommendationsResponse& r) {
  std::vector<std::string> offers;
  for (const auto& o : r.offers()) offers.push_back(o.offer_id());
  return offers.empty() ? "(none)" : absl::StrJoin(offers, ", ");
}

std::string ProductList(const recommend::v1::GetRecommendationsResponse& r) {
  std::vector<std::string> products;
  for (const auto& p : r.products()) products.push_back(p.product_id());
  return products.empty() ? "(none)" : absl::StrJoin(products, ", ");
}

bool ParsePlacement(const std::string& text, recommend::v1::Placement* out) {
  if (text.empty()) {
    *out = recommend::v1::PLACEMENT_UNSPECIFIED;
    return true;
  }
  return recommend::v1::Placement_Parse("PLACEMENT_" + absl::AsciiStrToUpper(text), out);
}

}  // namespace

int RunSend(const GlobalOptions& g, const SendOptions& o) {
  Event event;
  if (!o.json.empty()) {
    auto parsed = EventFromJson(o.json);
    if (!parsed.ok()) {
      std::fprintf(stderr, "journeyctl send: %s\n", std::string(parsed.status().message()).c_str());
      return 2;
    }
    event = *parsed;
  } else {
    if (o.name.empty()) {
      std::fprintf(stderr, "journeyctl send: --name is required (or --event_json)\n");
      return 2;
    }
    event = TrackEvent(o.user_id, o.anonymous_id, o.name, absl::Now());
    event.set_product_id(o.product_id);
    event.set_order_id(o.order_id);
    event.set_revenue(o.revenue);
  }
  SuiteClients clients(g.addresses);
  ingest::v1::TrackRequest request;
  *request.mutable_event() = event;
  ingest::v1::TrackResponse response;
  auto ctx = clients.Context();
  grpc::Status status = clients.ingest().Track(ctx.get(), request, &response);
  if (!status.ok()) return Fail(status, "ingest", g.addresses.ingest);
  if (g.json) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "accepted " << response.ack().message_id() << (response.ack().duplicate() ? " (duplicate)" : "")
              << " for " << response.ack().canonical_user_id() << "\n";
  }
  return 0;
}

int RunJourney(const GlobalOptions& g, const std::string& user_id) {
  SuiteClients clients(g.addresses);
  state::v1::GetJourneyRequest request;
  request.set_user_id(user_id);
  state::v1::GetJourneyResponse response;
  auto ctx = clients.Context();
  grpc::Status status = clients.journey().GetJourney(ctx.get(), request, &response);
  if (!status.ok()) return Fail(status, "journey", g.addresses.journey);
  if (g.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  const auto& j = response.journey();
  std::cout << "customer  " << user_id << "\nstage     " << (j.stage().empty() ? "(unknown)" : j.stage())
            << (j.abandoned() ? "  [abandoned]" : "") << "\npath      " << StageTrail(j) << "\norders    "
            << j.orders() << "\ncart      " << j.open_cart_value() << "\n\ntouchpoints (newest last):\n";
  for (const auto& t : j.touchpoints()) {
    std::printf("  %-20s %-24s %-14s %s\n", absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(t.time().seconds()), absl::UTCTimeZone()).c_str(),
                t.event_name().c_str(), t.stage().c_str(), t.product_id().c_str());
  }
  return 0;
}

int RunProfile(const GlobalOptions& g, const std::string& user_id) {
  SuiteClients clients(g.addresses);
  persona::v1::GetProfileRequest request;
  request.set_user_id(user_id);
  persona::v1::Profile response;
  auto ctx = clients.Context();
  grpc::Status status = clients.persona().GetProfile(ctx.get(), request, &response);
  if (!status.ok()) return Fail(status, "persona", g.addresses.persona);
  // A profile is a tree of traits and attributes: JSON reads best for people too.
  std::cout << ToJson(response) << "\n";
  return 0;
}

int RunRecommend(const GlobalOptions& g, const RecommendOptions& o) {
  recommend::v1::GetRecommendationsRequest request;
  request.set_user_id(o.user_id);
  request.set_limit(o.limit);
  request.set_current_product_id(o.current_product_id);
  recommend::v1::Placement placement;
  if (!ParsePlacement(o.placement, &placement)) {
    std::fprintf(stderr, "journeyctl recommend: --placement '%s' is not one of home, product_page, cart, checkout, "
                 "email, post_purchase\n", o.placement.c_str());
    return 2;
  }
  request.set_placement(placement);
  SuiteClients clients(g.addresses);
  recommend::v1::GetRecommendationsResponse response;
  auto ctx = clients.Context();
  grpc::Status status = clients.recommend().GetRecommendations(ctx.get(), request, &response);
  if (!status.ok()) return Fail(status, "recommend", g.addresses.recommend);
  if (g.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::cout << "stage " << response.stage() << (response.degraded() ? " (degraded)" : "") << "\n";
  if (response.holdout()) std::cout << "holdout: the non-personalized baseline\n";
  for (const auto& e : response.experiments()) {
    std::cout << "experiment " << e.experiment_id() << ": variant " << e.variant() << "\n";
  }
  for (const auto& offer : response.offers()) {
    std::printf("  offer   %-28s %6.3f  %s\n", offer.offer_id().c_str(), offer.score(),
                absl::StrJoin(offer.reasons(), "; ").c_str());
  }
  for (const auto& p : response.products()) {
    std::printf("  product %-28s %6.3f  %s\n", p.product_id().c_str(), p.score(),
                absl::StrJoin(p.reasons(), "; ").c_str());
  }
  return 0;
}

int RunDemo(const GlobalOptions& g, const DemoOptions& o) {
  SuiteClients clients(g.addresses);
  const std::string user = o.user_id.empty() ? NewMessageId("demo-customer") : o.user_id;
  const std::string anon = "anon-" + user;
  struct Step {
    std::string name;
    bool anonymous;
    std::string product_id, order_id;
    double revenue;
  };
  const std::vector<Step> steps = {
      {"Ad Clicked", true, "", "", 0},
      {"Product Viewed", true, "sku-espresso-1", "", 0},
      {"identify", false, "", "", 0},
      {"Product Added", false, "sku-espresso-1", "", 0},
      {"Checkout Started", false, "", "", 0},
      {"Order Completed", false, "sku-espresso-1", "order-1", 249.0},
      {"Order Completed", false, "sku-grinder-2", "order-2", 89.0},
  };
  absl::Time at = absl::Now() - absl::Minutes(30);
  std::printf("Sample customer %s (anonymous %s)\n\n", user.c_str(), anon.c_str());
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    at += absl::Minutes(4);
    Event event = TrackEvent(step.anonymous ? "" : user, anon, step.name, at);
    grpc::Status status;
    auto ctx = clients.Context();
    if (step.name == "identify") {
      event.set_type(journey::common::v1::EVENT_TYPE_IDENTIFY);
      event.set_name("");
      journey::common::v1::TraitValue plan;
      plan.set_string_value("gold");
      (*event.mutable_traits())["plan"] = plan;
      ingest::v1::IdentifyRequest request;
      *request.mutable_event() = event;
      ingest::v1::IdentifyResponse response;
      status = clients.ingest().Identify(ctx.get(), request, &response);
    } else {
      event.set_product_id(step.product_id);
      event.set_order_id(step.order_id);
      event.set_revenue(step.revenue);
      event.set_channel(step.name == "Ad Clicked" ? journey::common::v1::CHANNEL_ADS : journey::common::v1::CHANNEL_WEB);
      ingest::v1::TrackRequest request;
      *request.mutable_event() = event;
      ingest::v1::TrackResponse response;
      status = clients.ingest().Track(ctx.get(), request, &response);
    }
    if (!status.ok()) return Fail(status, "ingest", g.addresses.ingest);

    // Wait (bounded) until the journey service has applied this very event.
    state::v1::GetJourneyResponse journey;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    bool applied = false;
    while (!applied && absl::Now() < deadline) {
      state::v1::GetJourneyRequest request;
      if (step.anonymous) request.set_anonymous_id(anon);
      else request.set_user_id(user);
      auto jctx = clients.Context();
      status = clients.journey().GetJourney(jctx.get(), request, &journey);
      if (!status.ok()) return Fail(status, "journey", g.addresses.journey);
      for (const auto& t : journey.journey().touchpoints()) applied |= t.message_id() == event.message_id();
      if (step.name == "identify") applied |= !journey.journey().stage().empty();
      if (!applied) absl::SleepFor(absl::Milliseconds(20));
    }
    recommend::v1::GetRecommendationsRequest rreq;
    if (step.anonymous) rreq.set_anonymous_id(anon);
    else rreq.set_user_id(user);
    rreq.set_limit(3);
    recommend::v1::GetRecommendationsResponse recs;
    auto rctx = clients.Context();
    status = clients.recommend().GetRecommendations(rctx.get(), rreq, &recs);
    if (!status.ok()) return Fail(status, "recommend", g.addresses.recommend);
    std::printf("%zu. %-17s -> stage %-14s offers: %s\n   %-17s    products: %s\n", i + 1,
                step.name == "identify" ? "Identify (login)" : step.name.c_str(),
                journey.journey().stage().empty() ? "?" : journey.journey().stage().c_str(), OfferList(recs).c_str(),
                "", ProductList(recs).c_str());
    if (!applied) std::printf("   (the journey service had not applied this event within 5 s)\n");
  }
  std::printf("\nDone. Try: journeyctl journey %s   |   journeyctl profile %s\n", user.c_str(), user.c_str());
  return 0;
}

int RunHealth(const GlobalOptions& g, int wait_s) {
  const std::vector<std::pair<std::string, std::string>> services = {
      {"ingest", g.addresses.ingest}, {"journey", g.addresses.journey},
      {"persona", g.addresses.persona}, {"recommend", g.addresses.recommend}};
  const absl::Time deadline = absl::Now() + absl::Seconds(wait_s);
  while (true) {
    int serving = 0;
    std::vector<std::string> lines;
    for (const auto& [name, address] : services) {
      auto channel = DialService(g.addresses, address);
      bool ok = channel.ok() && server::IsServing(*channel, "", 500);
      serving += ok;
      lines.push_back(absl::StrCat(name, " ", address, " ", ok ? "SERVING" : "NOT SERVING",
                                   channel.ok() ? "" : absl::StrCat(" (", channel.status().message(), ")")));
    }
    if (serving == static_cast<int>(services.size()) || absl::Now() >= deadline) {
      for (const auto& line : lines) std::printf("%s\n", line.c_str());
      return serving == static_cast<int>(services.size()) ? 0 : 1;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace journey::cli
