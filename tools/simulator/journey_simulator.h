// A seeded simulator of realistic multi-channel customer journeys for demos and tests:
// four personas, ad / email / web / app / support touchpoints, surveys with sentiment,
// anonymous browsing then login (Identify), and a planted friction point: the web
// checkout's shipping step (Checkout Step Viewed, step 2) loses a share of customers and
// is rated badly. The same options and seed always give the same events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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
