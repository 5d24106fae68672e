// journeyctl subcommands: each returns the process exit code (0 ok, 1 the call failed,
// 2 bad usage).
#pragma once

#include <string>

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

int RunSend(const GlobalOptions& g, const SendOptions& o);
int RunJourney(const GlobalOptions& g, const std::string& user_id);
int RunProfile(const GlobalOptions& g, const std::string& user_id);
int RunRecommend(const GlobalOptions& g, const RecommendOptions& o);
int RunDemo(const GlobalOptions& g, const DemoOptions& o);
// Waits until all four services report SERVING; 0 when they do within wait_s.
int RunHealth(const GlobalOptions& g, int wait_s);

}  // namespace journey::cli
