// journeyctl subcommands: each returns the process exit code (0 ok, 1 the call failed,
// 2 bad usage).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/journeyctl/suite_clients.h"

namespace journey::cli {

struct GlobalOptions {
  SuiteAddresses addresses;
  bool json = false;
};

struct SendOptions {
  std::string user_id, anonymous_id, name, product_id, order_id, json;
  double revenue = 0;
};

struct RecommendOptions {
  std::string user_id, placement, current_product_id;
  int limit = 5;
};

struct DemoOptions {
  std::string user_id;
};

struct AbandonedCartOptions {
  std::string user_id;      // "" = a new customer outside the holdout
  std::string webhook_log;  // tools/webhook_sink's output: wait for and show the call
  int wait_s = 30;
};

struct FunnelOptions {
  std::string from = "-7d", to = "now", segment, journey_id;
};

struct MapOptions {
  std::string from = "-7d", to = "now", segment, journey_id;
  std::string html, csv;          // files to write
  std::string input;              // render a saved map (JSON) instead of calling the service
  std::string compare;            // a second saved map to compare with
  std::string compare_label, title;
  bool compare_previous = true;   // ask the service for the previous period too
  int top = 5;                    // pain points printed
};

struct ReplayOptions {
  std::string file;
  double rate_per_s = 0;
  int batch_size = 500;
  long long limit = 0;  // 0 = the whole file
  bool progress = true;
};

struct SimulateOptions {
  int customers = 3000;
  int days = 14;
  uint64_t seed = 42;
  double friction_share = 0.4;
  double rate_per_s = 0;
  bool progress = true;
  std::string samples_file;  // writes "stage user_id" lines: one customer per furthest stage
  int wait_s = 0;            // then wait up to this long for the journey service to catch up
  int shoppers = 0;          // then this many customers come back now and react to recommendations
};

// segments / offers / journeys: list, get, apply FILE, validate FILE, delete ID.
struct AdminOptions {
  std::string kind;    // "segments", "offers", "journeys"
  std::string action;  // "list", "get", "apply", "validate", "delete"
  std::string target;  // file or id
  int64_t version = 0;  // journeys delete --version (0 = every stored version of a retired journey)
};

int RunSend(const GlobalOptions& g, const SendOptions& o);
int RunJourney(const GlobalOptions& g, const std::string& user_id);
int RunProfile(const GlobalOptions& g, const std::string& user_id);
int RunRecommend(const GlobalOptions& g, const RecommendOptions& o);
int RunDemo(const GlobalOptions& g, const DemoOptions& o);
int RunAbandonedCart(const GlobalOptions& g, const AbandonedCartOptions& o);
int RunFunnel(const GlobalOptions& g, const FunnelOptions& o);
int RunMap(const GlobalOptions& g, const MapOptions& o);
int RunReplay(const GlobalOptions& g, const ReplayOptions& o);
int RunSimulate(const GlobalOptions& g, const SimulateOptions& o);
int RunAdmin(const GlobalOptions& g, const AdminOptions& o);
// experiments list | results ID | validate FILE | apply FILE (recommend).
struct ExperimentsOptions {
  std::string action;  // "list", "results", "validate", "apply"
  std::string target;  // experiment id or file
  int64_t expected_version = 0;  // apply: only onto this stored version (0 = any)
};
int RunExperiments(const GlobalOptions& g, const ExperimentsOptions& o);
// triggers stats (journey's GetActionStats).
struct TriggersOptions {
  std::string trigger_id;  // "" = every trigger
};
int RunTriggers(const GlobalOptions& g, const TriggersOptions& o);
// keys create|list|revoke (journey.auth.v1.ApiKeys on the service named by `via`).
struct KeysOptions {
  std::string action;  // "create", "list", "revoke"
  std::string via = "journey";
  std::string name, key_id;
  std::vector<std::string> scopes;
  double rate_per_s = 0, burst = 0;
  bool include_revoked = false;
};
int RunKeys(const GlobalOptions& g, const KeysOptions& o);
// Waits until all four services report SERVING; 0 when they do within wait_s.
int RunHealth(const GlobalOptions& g, int wait_s);

}  // namespace journey::cli
