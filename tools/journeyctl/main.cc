// journeyctl: the operator's command-line client. Wiring only: parse the command line and
// hand each subcommand to its function in commands.h.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "tools/journeyctl/commands.h"

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace journey::cli;
  CLI::App app{"journeyctl: talk to the journey suite (ingest, journey, persona, recommend)"};
  app.require_subcommand(1);
  GlobalOptions g;
  g.addresses.ingest = EnvOr("JOURNEY_INGEST_ADDR", g.addresses.ingest);
  g.addresses.journey = EnvOr("JOURNEY_JOURNEY_ADDR", g.addresses.journey);
  g.addresses.persona = EnvOr("JOURNEY_PERSONA_ADDR", g.addresses.persona);
  g.addresses.recommend = EnvOr("JOURNEY_RECOMMEND_ADDR", g.addresses.recommend);
  g.addresses.api_key = EnvOr("JOURNEY_API_KEY", "");
  app.add_option("--ingest", g.addresses.ingest, "ingest address (env JOURNEY_INGEST_ADDR)");
  app.add_option("--journey", g.addresses.journey, "journey address (env JOURNEY_JOURNEY_ADDR)");
  app.add_option("--persona", g.addresses.persona, "persona address (env JOURNEY_PERSONA_ADDR)");
  app.add_option("--recommend", g.addresses.recommend, "recommend address (env JOURNEY_RECOMMEND_ADDR)");
  app.add_option("--api_key", g.addresses.api_key, "API key (env JOURNEY_API_KEY)");
  app.add_option("--timeout_ms", g.addresses.timeout_ms, "deadline of each call");
  app.add_flag("--json", g.json, "print JSON for scripts instead of tables");

  SendOptions send;
  auto* send_cmd = app.add_subcommand("send", "send one event (from flags or --event_json)");
  send_cmd->add_option("--user", send.user_id, "user id");
  send_cmd->add_option("--anonymous", send.anonymous_id, "anonymous id");
  send_cmd->add_option("--name", send.name, "event name, e.g. 'Product Viewed'");
  send_cmd->add_option("--product", send.product_id, "product id");
  send_cmd->add_option("--order", send.order_id, "order id");
  send_cmd->add_option("--revenue", send.revenue, "order revenue");
  send_cmd->add_option("--event_json", send.json, "the whole event as protobuf JSON");

  std::string user, anonymous;
  auto* journey_cmd = app.add_subcommand("journey", "a customer's journey: stage, history, touchpoints");
  journey_cmd->add_option("user", user, "user id")->required();
  journey_cmd->add_flag("--anonymous", anonymous, "the id is an anonymous id");

  auto* profile_cmd = app.add_subcommand("profile", "a customer's profile: traits, attributes, segments");
  profile_cmd->add_option("user", user, "user id")->required();

  RecommendOptions rec;
  auto* recommend_cmd = app.add_subcommand("recommend", "what this customer should see now");
  recommend_cmd->add_option("user", rec.user_id, "user id")->required();
  recommend_cmd->add_option("--placement", rec.placement, "home, product_page, cart, checkout, email, post_purchase");
  recommend_cmd->add_option("--product", rec.current_product_id, "product on screen");
  recommend_cmd->add_option("--limit", rec.limit, "items per list");

  DemoOptions demo;
  auto* demo_cmd = app.add_subcommand("demo", "walk a sample customer from first visit to repeat purchase");
  demo_cmd->add_option("--user", demo.user_id, "user id of the sample customer");

  int wait_s = 0;
  auto* health_cmd = app.add_subcommand("health", "grpc.health.v1 status of the four services");
  health_cmd->add_option("--wait_s", wait_s, "keep checking until all are SERVING or this many seconds passed");

  CLI11_PARSE(app, argc, argv);
  if (*health_cmd) return RunHealth(g, wait_s);
  if (*send_cmd) return RunSend(g, send);
  if (*journey_cmd) return RunJourney(g, user);
  if (*profile_cmd) return RunProfile(g, user);
  if (*recommend_cmd) return RunRecommend(g, rec);
  if (*demo_cmd) return RunDemo(g, demo);
  return 2;
}
