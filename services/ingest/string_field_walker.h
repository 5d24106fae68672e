// Length and UTF-8 checks on every string of a message, nested messages and maps included.
// Which fields can hold a string is worked out once per message type by reflection, so a
// field added to the proto later is covered without touching this code. A check reads the
// message's serialized bytes (which the caller needs anyway, for the size limit and the
// stream envelope): reading the wire is several times cheaper than asking Reflection for
// each field, and only the fields present on the wire are visited. A field path is spelled
// out only when something is wrong.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
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
  // `serialized` is a message of the root type in the protobuf wire format.
  std::optional<FieldError> CheckSerialized(absl::string_view serialized) const;

  // The same on a message object (serialized here first; see SerializeQuietly).
  std::optional<FieldError> Check(const google::protobuf::Message& message) const;

  // SerializeToString without protobuf's error log for a string that is not valid UTF-8
  // (such a message is what the check exists to reject; a log line per bad event would let
  // a sender flood the log).
  static void SerializeQuietly(const google::protobuf::Message& message, std::string* out);

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
    std::vector<int> by_number;  // field number -> index into fields, -1 = nothing to check
    bool complete = false;       // false while its fields are being worked out (recursive types)
    const Field* Find(uint64_t number) const;
  };

  const Plan* Build(const google::protobuf::Descriptor* type, bool top_level);
  std::optional<FieldError> Walk(absl::string_view wire, const Plan& plan) const;
  std::optional<FieldError> WalkMapEntry(absl::string_view entry, const Field& field) const;

  Limits limits_;
  std::map<std::pair<const google::protobuf::Descriptor*, bool>, Plan> plans_;  // stable addresses
  const Plan* root_;
};

}  // namespace journey::ingest
