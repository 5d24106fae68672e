// A seeded simulator of realistic multi-channel customer journeys for demos and tests:
// four personas, ad / email / web / app / support touchpoints, surveys with sentiment,
// anonymous browsing then login (Identify), and a planted friction point: the web
// checkout's shipping step (Checkout Step Viewed, step 2) loses a share of customers and
// is rated badly. The same options and seed always give the same events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/simulator/event_sink.h"

namespace journey::sim {

struct SimulatorOptions {
  int customers = 1000;
  int days = 14;
  uint64_t seed = 42;
  // Journeys are spread over [end - days, end]; events after `end` are not sent.
  absl::Time end = absl::UnixEpoch();
  // Share of web checkouts that meet the surprise shipping cost (the planted friction).
  double friction_share = 0.4;
  // Events per Send call.
  int batch_size = 500;
};

enum class Persona { kBargainHunter, kLoyalRegular, kWindowShopper, kGiftBuyer };
const char* PersonaName(Persona p);

// What the simulator intended for one customer (the services decide what really happened).
struct SimulatedCustomer {
  std::string user_id;
  std::string anonymous_id;
  Persona persona;
  std::string last_stage;  // the furthest stage its events lead to, by the default definition
  bool identified = false;  // logged in (Identify sent): known by user_id, not only anonymous_id
  std::string last_message_id;
  bool hit_friction = false;
  bool left_at_friction = false;
  int events = 0;
  // The product last looked at and its category (the customer's taste, for live visits).
  std::string last_product_id, favourite_category;
};

struct SimulationSummary {
  long long events = 0;
  long long customers = 0;
  long long friction_hits = 0;
  long long friction_losses = 0;
  std::map<std::string, long long> customers_by_last_stage;
  std::map<std::string, long long> customers_by_persona;
  std::vector<SimulatedCustomer> customers_list;
};

// A live visit after the simulated history (what `journeyctl simulate --shoppers` plays to
// give experiments exposures and outcomes): the customer sees `recommended` products next to
// their last product and reacts. A recommended product of their favourite category catches
// the eye (a click with probability 0.5) and a click becomes an order with probability 0.5;
// otherwise the customer buys the first recommended product with probability 0.04.
// So a ranking that fits the customer's taste converts more, and the experiment can tell.
struct VisitReaction {
  std::string product_id;  // clicked or bought ("" = none)
  bool clicked = false;
  bool bought = false;
  double revenue = 0;  // the product's price when bought
};
VisitReaction ReactToRecommendations(const SimulatedCustomer& customer, const std::vector<std::string>& recommended,
                                     std::mt19937_64& rng);

class JourneySimulator {
 public:
  explicit JourneySimulator(SimulatorOptions options) : options_(std::move(options)) {}

  // Generates every customer's journey and sends it, customer by customer (each customer's
  // events in time order), in batches of options.batch_size. `progress` (may be null) is
  // called after each batch with the number of customers done.
  absl::Status Run(EventSink& sink, SimulationSummary* summary,
                   const std::function<void(int customers_done)>& progress = nullptr) const;

 private:
  SimulatorOptions options_;
};

}  // namespace journey::sim
