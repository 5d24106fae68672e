// Where a stage transition happens: applies one event (or a fired inactivity timer, or an
// identity merge) to a customer's JourneySnapshot under a compiled journey definition, and
// reports what changed so the caller can update aggregates, timers and the transition stream.
// Plain C++: no Redis, no gRPC; time comes from the event or the injected clock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/time/clock.h"
#include "journey/common/v1/common.pb.h"
#include "services/journey/journey_definition.h"

namespace journey::journey_state {

using journey::common::v1::JourneySnapshot;
using journey::common::v1::StageReach;
using journey::common::v1::TransitionKind;

struct StageChange {
  std::string from_stage;  // empty on entry
  std::string to_stage;
  TransitionKind kind = journey::common::v1::TRANSITION_KIND_UNSPECIFIED;
  absl::Time time;
  // How long the customer had been in from_stage (0 on entry).
  absl::Duration time_in_from = absl::ZeroDuration();
  std::string event_name;  // "timer" for abandonment
  std::string message_id;
  // The touchpoint blamed for a loss (abandonment: the last touchpoint; back-step: the event).
  std::string blamed_event;
  journey::common::v1::Channel blamed_channel = journey::common::v1::CHANNEL_UNSPECIFIED;
};

// Everything one application changed, for aggregates and the transition stream.
struct StepOutcome {
  bool applied = false;  // false: the event does not concern journeys (identify, alias...)
  std::vector<StageChange> changes;
  // Stages newly reached (furthest stage moved from before to after), in order.
  std::vector<std::string> newly_reached;
  absl::Time reached_time;
  // The touchpoint recorded, when there is one: the snapshot's newest, valid until the
  // snapshot changes again (read it before the next Apply on the same snapshot).
  const journey::common::v1::Touchpoint* touchpoint = nullptr;
};

struct StateMachineOptions {
  int history_cap = 100;
  int recent_products_cap = 20;
  int purchased_products_cap = 50;
  int session_products_cap = 20;
  // Without a session id, a gap longer than this starts a new session.
  absl::Duration session_gap = absl::Minutes(30);
};

class JourneyStateMachine {
 public:
  JourneyStateMachine(std::shared_ptr<const CompiledDefinition> definition, const Clock* clock,
                      StateMachineOptions options = {});

  // Applies an event to the snapshot (empty snapshot = a new customer).
  StepOutcome Apply(const journey::common::v1::Event& event, JourneySnapshot* snapshot) const;

  // When the customer's inactivity timer is due, if their stage has one and it is armed.
  std::optional<absl::Time> TimerDue(const JourneySnapshot& snapshot) const;

  // Fires the inactivity timer if it is due at `now`: marks the stage abandoned and returns
  // the ABANDONED change. Does nothing (applied = false) when not due or already fired, so
  // firing twice counts once.
  StepOutcome FireTimer(JourneySnapshot* snapshot, absl::Time now) const;

  // Identity stitching: moves `previous` (an anonymous visitor's journey) into `canonical`.
  // Touchpoints and history are interleaved by time; the more advanced stage wins. Returns
  // the stages both had reached, each with its later reach: the funnel counted the one
  // person twice there and must take that count back (the earlier reach stays).
  std::vector<StageReach> Merge(const JourneySnapshot& previous, JourneySnapshot* canonical) const;

  const CompiledDefinition& definition() const { return *definition_; }

 private:
  void EnterStage(int stage, TransitionKind kind, absl::Time t, const std::string& event_name,
                  const std::string& message_id, JourneySnapshot* s, StepOutcome* out) const;
  void Reach(int stage, absl::Time t, JourneySnapshot* s, StepOutcome* out) const;
  // Unites the first reaches of both into `canonical`, the earlier of two winning.
  std::vector<StageReach> MergeReaches(const JourneySnapshot& previous, JourneySnapshot* canonical) const;

  std::shared_ptr<const CompiledDefinition> definition_;
  const Clock* clock_;
  StateMachineOptions options_;
};

}  // namespace journey::journey_state
