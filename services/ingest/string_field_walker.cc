#include "services/ingest/string_field_walker.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/ingest/utf8.h"

namespace journey::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Puts `prefix` (".name", ".name[3]" or ".key") in front of the path of an error found
// below it; the walk builds paths only on this, the failure path.
FieldError Under(absl::string_view prefix, FieldError error) {
  error.field = absl::StrCat(prefix, error.field);
  return error;
}

std::optional<FieldError> CheckValue(const std::string& value, size_t max_bytes) {
  if (!IsValidUtf8(value)) return FieldError{"", "invalid_utf8", "is not valid UTF-8"};
  if (value.size() > max_bytes) {
    return FieldError{"", "too_long", absl::StrFormat("is %d bytes, over the limit of %d", value.size(), max_bytes)};
  }
  return std::nullopt;
}

}  // namespace

StringFieldWalker::StringFieldWalker(const Descriptor* root, Limits limits) : limits_(std::move(limits)) {
  root_ = Build(root, /*top_level=*/true);
}

const StringFieldWalker::Plan* StringFieldWalker::Build(const Descriptor* type, bool top_level) {
  auto [it, inserted] = plans_.try_emplace({type, top_level});
  Plan* plan = &it->second;
  if (!inserted) return plan;  // built, or being built further up (a recursive type)
  std::vector<Field> fields;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    if (f->is_map()) {
      const FieldDescriptor* value = f->message_type()->map_value();
      const Plan* nested = value->type() == FieldDescriptor::TYPE_MESSAGE ? Build(value->message_type(), false) : nullptr;
      fields.push_back({f, Kind::kMap, limits_.map_value_bytes, nested});
    } else if (f->type() == FieldDescriptor::TYPE_STRING) {
      fields.push_back({f, f->is_repeated() ? Kind::kRepeatedString : Kind::kString,
                        limits_.field_bytes(*f, top_level), nullptr});
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      const Plan* nested = Build(f->message_type(), false);
      // Types without any string (Timestamp) are never visited; a type still being worked
      // out (it contains itself, directly or not) is kept.
      if (nested->complete && nested->fields.empty()) continue;
      fields.push_back({f, f->is_repeated() ? Kind::kRepeatedMessage : Kind::kMessage, 0, nested});
    }
  }
  plan->fields = std::move(fields);
  plan->complete = true;
  return plan;
}

std::optional<FieldError> StringFieldWalker::Check(const Message& message) const {
  auto err = Walk(message, *root_);
  if (err && !err->field.empty() && err->field.front() == '.') err->field.erase(0, 1);
  return err;
}

std::optional<FieldError> StringFieldWalker::Walk(const Message& message, const Plan& plan) const {
  const Reflection* refl = message.GetReflection();
  std::string scratch;
  for (const Field& fd : plan.fields) {
    const FieldDescriptor* f = fd.field;
    switch (fd.kind) {
      case Kind::kString: {
        const std::string& value = refl->GetStringReference(message, f, &scratch);
        if (value.empty()) break;
        if (auto err = CheckValue(value, fd.max_bytes)) return Under(absl::StrCat(".", f->name()), *std::move(err));
        break;
      }
      case Kind::kRepeatedString:
        for (int i = 0, n = refl->FieldSize(message, f); i < n; ++i) {
          if (auto err = CheckValue(refl->GetRepeatedStringReference(message, f, i, &scratch), fd.max_bytes)) {
            return Under(absl::StrCat(".", f->name(), "[", i, "]"), *std::move(err));
          }
        }
        break;
      case Kind::kMessage:
        if (!refl->HasField(message, f)) break;
        if (auto err = Walk(refl->GetMessage(message, f), *fd.nested)) return Under(absl::StrCat(".", f->name()), *std::move(err));
        break;
      case Kind::kRepeatedMessage:
        for (int i = 0, n = refl->FieldSize(message, f); i < n; ++i) {
          if (auto err = Walk(refl->GetRepeatedMessage(message, f, i), *fd.nested)) {
            return Under(absl::StrCat(".", f->name(), "[", i, "]"), *std::move(err));
          }
        }
        break;
      case Kind::kMap:
        if (refl->FieldSize(message, f) == 0) break;
        if (auto err = WalkMap(message, fd)) return Under(absl::StrCat(".", f->name()), *std::move(err));
        break;
    }
  }
  return std::nullopt;
}

std::optional<FieldError> StringFieldWalker::WalkMap(const Message& message, const Field& fd) const {
  const Reflection* refl = message.GetReflection();
  const FieldDescriptor* key_f = fd.field->message_type()->map_key();
  const FieldDescriptor* value_f = fd.field->message_type()->map_value();
  std::string key_scratch, value_scratch;
  for (int i = 0, n = refl->FieldSize(message, fd.field); i < n; ++i) {
    const Message& entry = refl->GetRepeatedMessage(message, fd.field, i);
    const Reflection* entry_refl = entry.GetReflection();
    const std::string& key = entry_refl->GetStringReference(entry, key_f, &key_scratch);
    if (!IsValidUtf8(key)) return FieldError{"", "invalid_utf8", "has a key that is not valid UTF-8"};
    if (key.size() > limits_.map_key_bytes) {
      return FieldError{"", "too_long", absl::StrFormat("has a key longer than %d bytes", limits_.map_key_bytes)};
    }
    if (value_f->type() == FieldDescriptor::TYPE_STRING) {
      const std::string& value = entry_refl->GetStringReference(entry, value_f, &value_scratch);
      if (!IsValidUtf8(value)) return FieldError{absl::StrCat(".", key), "invalid_utf8", "is not valid UTF-8"};
      if (value.size() > fd.max_bytes) {
        return FieldError{absl::StrCat(".", key), "too_long", absl::StrFormat("is longer than %d bytes", fd.max_bytes)};
      }
    } else if (fd.nested != nullptr) {
      if (auto err = Walk(entry_refl->GetMessage(entry, value_f), *fd.nested)) return Under(absl::StrCat(".", key), *std::move(err));
    }
  }
  return std::nullopt;
}

}  // namespace journey::ingest
