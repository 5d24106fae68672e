// Segment definitions as files: `<config_dir>/segments/*.yaml|*.yml|*.json`, each holding one
// definition or a list under `segments:`. JSON is read as YAML. A condition is written as
//   all: [...] | any: [...] | not: {...}
//   compare: {attribute: trait.plan, op: "==", value: gold}      (value: scalar or list)
//   event_count: {event: Order Completed, op: ">=", count: 2, window: 90d}   (or window_s)
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;

// Parses YAML or JSON text; errors name the file position or field.
absl::StatusOr<std::vector<pb::SegmentDefinition>> ParseSegmentDefinitions(const std::string& text);

// Every definition under `<config_dir>/segments/`, files in name order. A missing directory
// is no definitions; an unreadable or invalid file is an error naming it.
absl::StatusOr<std::vector<pb::SegmentDefinition>> LoadSegmentDirectory(const std::string& config_dir);

}  // namespace journey::persona
