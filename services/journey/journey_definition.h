// Journey definitions: parsing the YAML file, validating a definition (errors name the line
// or field), and the compiled form the state machine runs (rules indexed by event name,
// predicates parsed, stage indexes).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "journey/state/v1/journey.pb.h"
#include "services/journey/rule_predicate.h"

namespace journey::journey_state {

using DefinitionProto = journey::state::v1::JourneyDefinition;

inline constexpr int kDefaultTouchpointCap = 50;

// Parses the YAML text of a definition file. `source` names the file in error messages
// ("default.yaml:12: rules[3].to: unknown stage 'DECISON'"). All errors are returned, one
// per line of the status message, as InvalidArgument.
absl::StatusOr<DefinitionProto> ParseDefinitionYaml(const std::string& text, const std::string& source);
absl::StatusOr<DefinitionProto> LoadDefinitionFile(const std::string& path);

// Checks a definition (however it was built); empty = valid. Messages name the field.
std::vector<std::string> ValidateDefinition(const DefinitionProto& definition);

struct CompiledRule {
  int to_stage = -1;
  bool allow_backward = false;
  std::optional<RulePredicate> when;
};

struct CompiledTimer {
  absl::Duration after;
  std::string reason;
};

class CompiledDefinition {
 public:
  static absl::StatusOr<std::shared_ptr<const CompiledDefinition>> Compile(const DefinitionProto& definition);

  const DefinitionProto& proto() const { return proto_; }
  const std::string& id() const { return proto_.id(); }
  int64_t version() const { return proto_.version(); }
  int stage_count() const { return static_cast<int>(proto_.stages_size()); }
  const std::string& stage(int index) const { return proto_.stages(index); }
  // -1 when the stage is not in the definition.
  int StageIndex(absl::string_view stage) const;
  int entry_stage() const { return entry_stage_; }
  int touchpoint_cap() const { return touchpoint_cap_; }

  // Rules for an event name, in definition order (nullptr when none).
  const std::vector<CompiledRule>* RulesFor(const std::string& event_name) const;

  const std::string& repeat_event() const { return proto_.repeat_purchase_event(); }
  absl::Duration repeat_window() const { return absl::Seconds(proto_.repeat_purchase_window_s()); }
  int repeat_stage() const { return repeat_stage_; }

  // Inactivity timer of a stage, if it has one.
  const CompiledTimer* TimerFor(int stage) const;

 private:
  DefinitionProto proto_;
  std::map<std::string, int, std::less<>> stage_index_;
  std::map<std::string, std::vector<CompiledRule>> rules_;
  std::map<int, CompiledTimer> timers_;
  int entry_stage_ = 0;
  int repeat_stage_ = -1;
  int touchpoint_cap_ = kDefaultTouchpointCap;
};

}  // namespace journey::journey_state
