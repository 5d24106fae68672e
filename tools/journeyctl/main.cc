// journeyctl: the operator's command-line client. Wiring only: parse the command line and
// hand each subcommand to its function in commands.h.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

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
  // Global options (--json, addresses) also work after the subcommand: `journeyctl map --json`.
  app.fallthrough();
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
  g.addresses.tls = EnvOr("JOURNEY_TLS", "") == "1" || EnvOr("JOURNEY_TLS", "") == "true";
  g.addresses.ca_file = EnvOr("JOURNEY_CA_FILE", "");
  g.addresses.cert_file = EnvOr("JOURNEY_CERT_FILE", "");
  g.addresses.key_file = EnvOr("JOURNEY_KEY_FILE", "");
  app.add_flag("--tls", g.addresses.tls, "TLS to every service (env JOURNEY_TLS=1)");
  app.add_option("--ca_file", g.addresses.ca_file, "PEM roots that verify the services (env JOURNEY_CA_FILE)");
  app.add_option("--cert_file", g.addresses.cert_file, "client certificate PEM for mTLS (env JOURNEY_CERT_FILE)");
  app.add_option("--key_file", g.addresses.key_file, "client key PEM for mTLS (env JOURNEY_KEY_FILE)");
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

  AbandonedCartOptions cart;
  auto* cart_cmd = app.add_subcommand(
      "abandoned-cart", "a customer leaves a full cart: the inactivity timer, the cart-recovery trigger, its webhook call");
  cart_cmd->add_option("--user", cart.user_id, "user id (default: a new one outside the holdout)");
  cart_cmd->add_option("--webhook_log", cart.webhook_log,
                       "output of tools/webhook_sink: wait for the customer's webhook call and show it");
  cart_cmd->add_option("--wait_s", cart.wait_s, "how long to wait for the abandonment and the call")
      ->capture_default_str();

  int wait_s = 0;
  auto* health_cmd = app.add_subcommand("health", "grpc.health.v1 status of the four services");
  health_cmd->add_option("--wait_s", wait_s, "keep checking until all are SERVING or this many seconds passed");

  FunnelOptions funnel;
  auto* funnel_cmd = app.add_subcommand("funnel", "stage-to-stage conversion in a time range");
  funnel_cmd->add_option("--from", funnel.from, "start: now, -7d, 2026-11-18 or RFC 3339")->capture_default_str();
  funnel_cmd->add_option("--to", funnel.to, "end (exclusive)")->capture_default_str();
  funnel_cmd->add_option("--segment", funnel.segment, "only customers in this segment");
  funnel_cmd->add_option("--journey_id", funnel.journey_id, "journey definition (default: the default one)");

  MapOptions map;
  bool no_previous = false, no_progress = false;
  auto* map_cmd = app.add_subcommand("map", "the journey map: funnel, stages, pain points; --html writes the map file");
  map_cmd->add_option("--from", map.from, "start: now, -7d, 2026-11-18 or RFC 3339")->capture_default_str();
  map_cmd->add_option("--to", map.to, "end (exclusive)")->capture_default_str();
  map_cmd->add_option("--html", map.html, "write the journey map as one self-contained HTML file");
  map_cmd->add_option("--csv", map.csv, "write the map's figures as CSV");
  map_cmd->add_option("--segment", map.segment, "only customers in this segment");
  map_cmd->add_option("--journey_id", map.journey_id, "journey definition (default: the default one)");
  map_cmd->add_option("--input", map.input, "render a map saved with `journeyctl --json map` instead of asking journey");
  map_cmd->add_option("--compare", map.compare, "a second saved map (JSON) to compare with, e.g. before a change");
  map_cmd->add_option("--compare_label", map.compare_label, "what the comparison is (default: previous period)");
  map_cmd->add_option("--title", map.title, "title of the HTML map");
  map_cmd->add_option("--top", map.top, "pain points printed")->capture_default_str();
  map_cmd->add_flag("--no_previous", no_previous, "do not ask for the previous period");

  ReplayOptions replay;
  auto* replay_cmd = app.add_subcommand("replay", "send an event file (REES46 / Retailrocket CSV, JSON lines) to ingest");
  replay_cmd->add_option("file", replay.file, "the file; its format is recognised from the first line")->required();
  replay_cmd->add_option("--rate", replay.rate_per_s, "at most this many events per second (0 = no limit)");
  replay_cmd->add_option("--batch", replay.batch_size, "events per Batch call")->capture_default_str();
  replay_cmd->add_option("--limit", replay.limit, "stop after this many events (0 = all)");
  replay_cmd->add_flag("--no_progress", no_progress, "no progress bar");

  SimulateOptions simulate;
  auto* simulate_cmd = app.add_subcommand(
      "simulate", "send seeded, realistic multi-channel journeys (4 personas, a planted checkout friction)");
  simulate_cmd->add_option("--customers", simulate.customers, "customers to simulate")->capture_default_str();
  simulate_cmd->add_option("--days", simulate.days, "journeys spread over the last D days")->capture_default_str();
  simulate_cmd->add_option("--seed", simulate.seed, "same seed, same journeys")->capture_default_str();
  simulate_cmd->add_option("--friction", simulate.friction_share,
                           "share of web checkouts meeting the surprise shipping cost")->capture_default_str();
  simulate_cmd->add_option("--rate", simulate.rate_per_s, "at most this many events per second (0 = no limit)");
  simulate_cmd->add_option("--samples_file", simulate.samples_file,
                           "write one sample customer per furthest stage ('STAGE user_id' lines)");
  simulate_cmd->add_option("--wait_s", simulate.wait_s,
                           "then wait up to this long until journey has applied the sample customers' events");
  simulate_cmd->add_option("--shoppers", simulate.shoppers,
                           "then this many customers come back now, get product-page recommendations and report "
                           "clicks and orders (experiments' exposures and conversions)");
  simulate_cmd->add_flag("--no_progress", no_progress, "no progress bar");

  // segments / offers / journeys share one shape: list, get ID, apply FILE, validate FILE, delete ID.
  AdminOptions admin;
  std::vector<CLI::App*> admin_cmds;
  for (const auto& [kind, help] : std::vector<std::pair<std::string, std::string>>{
           {"segments", "segment definitions (persona)"},
           {"offers", "the offer catalog (recommend)"},
           {"journeys", "journey definitions (journey)"}}) {
    auto* cmd = app.add_subcommand(kind, help);
    cmd->require_subcommand(1);
    admin_cmds.push_back(cmd);
    for (const auto& [action, what, arg] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"list", "list them", ""},
             {"get", "show one as JSON", "id"},
             {"apply", "apply a YAML definition file", "file"},
             {"validate", "check a YAML definition file without applying it", "file"},
             {"delete", "delete one by id", "id"}}) {
      auto* sub = cmd->add_subcommand(action, what);
      if (!arg.empty()) sub->add_option(arg, admin.target, arg)->required(action != "get" || kind != "journeys");
      if (kind == "journeys" && action == "delete") {
        sub->add_option("--version", admin.version,
                        "delete only this stored version (default: every stored version of a journey the service "
                        "does not run)");
      }
      sub->callback([&admin, kind = kind, action = action] {
        admin.kind = kind;
        admin.action = action;
      });
    }
  }

  ExperimentsOptions experiments;
  auto* experiments_cmd = app.add_subcommand("experiments", "experiments and the holdout (recommend): list, results, validate, apply");
  experiments_cmd->require_subcommand(1);
  experiments_cmd->add_subcommand("list", "the loaded experiments and the holdout")->callback([&experiments] {
    experiments.action = "list";
  });
  auto* experiments_results = experiments_cmd->add_subcommand(
      "results", "per variant: exposed, conversions, rates, revenue per customer, uplift with 95% CI");
  experiments_results->add_option("id", experiments.target, "experiment id, or holdout")->required();
  experiments_results->callback([&experiments] { experiments.action = "results"; });
  auto* experiments_validate = experiments_cmd->add_subcommand("validate", "check an experiments YAML file");
  experiments_validate->add_option("file", experiments.target, "file")->required();
  experiments_validate->callback([&experiments] { experiments.action = "validate"; });
  auto* experiments_apply = experiments_cmd->add_subcommand(
      "apply", "replace the holdout and experiments with a YAML file's (every recommend replica, no restart)");
  experiments_apply->add_option("file", experiments.target, "file")->required();
  experiments_apply->add_option("--expected_version", experiments.expected_version,
                                "apply only if this is still the stored version (from experiments list)");
  experiments_apply->callback([&experiments] { experiments.action = "apply"; });

  TriggersOptions triggers;
  auto* triggers_cmd = app.add_subcommand("triggers", "triggered actions (journey): stats");
  triggers_cmd->require_subcommand(1);
  auto* triggers_stats = triggers_cmd->add_subcommand(
      "stats", "how triggered actions ended: sent, deferred, suppressed and why, delivered, dead letters");
  triggers_stats->add_option("--trigger", triggers.trigger_id, "only this trigger");

  KeysOptions keys;
  auto* keys_cmd = app.add_subcommand("keys", "API keys of the services' workspace: create, list, revoke (admin key)");
  keys_cmd->require_subcommand(1);
  keys_cmd->add_option("--via", keys.via, "service that answers: ingest, journey, persona, recommend")
      ->capture_default_str();
  auto* keys_create = keys_cmd->add_subcommand("create", "create a key; prints it once");
  keys_create->add_option("--scope", keys.scopes,
                          "ingest:write, recommend:read, journey:read, persona:read, persona:sync, admin (repeatable)")
      ->delimiter(',')
      ->required();
  keys_create->add_option("--name", keys.name, "what the key is for");
  keys_create->add_option("--rate", keys.rate_per_s, "calls per second per replica (default: the scope's)");
  keys_create->add_option("--burst", keys.burst, "bucket size (default: the rate)");
  keys_create->callback([&keys] { keys.action = "create"; });
  auto* keys_list = keys_cmd->add_subcommand("list", "list the keys (never the keys themselves)");
  keys_list->add_flag("--all", keys.include_revoked, "include revoked keys");
  keys_list->callback([&keys] { keys.action = "list"; });
  auto* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key by id");
  keys_revoke->add_option("key_id", keys.key_id, "the key's id (from keys list)")->required();
  keys_revoke->callback([&keys] { keys.action = "revoke"; });

  CLI11_PARSE(app, argc, argv);
  map.compare_previous = !no_previous;
  replay.progress = simulate.progress = !no_progress && !g.json;
  if (*funnel_cmd) return RunFunnel(g, funnel);
  if (*map_cmd) return RunMap(g, map);
  if (*replay_cmd) return RunReplay(g, replay);
  if (*simulate_cmd) return RunSimulate(g, simulate);
  for (auto* cmd : admin_cmds) {
    if (*cmd) return RunAdmin(g, admin);
  }
  if (*experiments_cmd) return RunExperiments(g, experiments);
  if (*keys_cmd) return RunKeys(g, keys);
  if (*triggers_cmd) return RunTriggers(g, triggers);
  if (*health_cmd) return RunHealth(g, wait_s);
  if (*send_cmd) return RunSend(g, send);
  if (*journey_cmd) return RunJourney(g, user);
  if (*profile_cmd) return RunProfile(g, user);
  if (*recommend_cmd) return RunRecommend(g, rec);
  if (*demo_cmd) return RunDemo(g, demo);
  if (*cart_cmd) return RunAbandonedCart(g, cart);
  return 2;
}
