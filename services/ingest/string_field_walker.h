// Length and UTF-8 checks on every string of a message, nested messages and maps included.
// Which fields can hold a string is worked out once per message type by reflection, so a
// field added to the proto later is covered without touching this code; a check then visits
// only those fields and spells out a field path only when something is wrong.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "services/ingest/field_error.h"

namespace journey::ingest {

class StringFieldWalker {
 public:
  struct Limits {
    // Max bytes of a string field; `top_level` is true for fields of the root message.
    std::function<size_t(const google::protobuf::FieldDescriptor& field, bool top_level)> field_bytes;
    size_t map_key_bytes = 0;
    size_t map_value_bytes = 0;
  };

  StringFieldWalker(const google::protobuf::Descriptor* root, Limits limits);
  // Plans point into plans_: neither copied nor moved.
  StringFieldWalker(const StringFieldWalker&) = delete;
  StringFieldWalker& operator=(const StringFieldWalker&) = delete;

  // The first string that is not valid UTF-8 or too long, with its path
  // ("context.page_url", "products[2].name", "properties.color"), or nullopt.
  std::optional<FieldError> Check(const google::protobuf::Message& message) const;

 private:
  enum class Kind { kString, kRepeatedString, kMessage, kRepeatedMessage, kMap };
  struct Plan;
  struct Field {
    const google::protobuf::FieldDescriptor* field;
    Kind kind;
    size_t max_bytes;     // strings
    const Plan* nested;   // messages, map values that are messages
  };
  struct Plan {
    std::vector<Field> fields;
    bool complete = false;  // false while its fields are being worked out (recursive types)
  };

  const Plan* Build(const google::protobuf::Descriptor* type, bool top_level);
  std::optional<FieldError> Walk(const google::protobuf::Message& message, const Plan& plan) const;
  std::optional<FieldError> WalkMap(const google::protobuf::Message& message, const Field& field) const;

  Limits limits_;
  std::map<std::pair<const google::protobuf::Descriptor*, bool>, Plan> plans_;  // stable addresses
  const Plan* root_;
};

}  // namespace journey::ingest
