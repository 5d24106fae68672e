#include "services/ingest/string_field_walker.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/stubs/logging.h"
#include "services/ingest/utf8.h"

namespace journey::ingest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Wire types of the protobuf encoding.
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5;

// Field numbers up to this are looked up in a table; a type with larger ones is searched.
constexpr uint64_t kMaxTableNumber = 4096;

// A cursor over protobuf wire bytes. Every read checks the bounds; false = malformed.
class WireReader {
 public:
  explicit WireReader(absl::string_view wire) : p_(wire.data()), end_(wire.data() + wire.size()) {}
  bool done() const { return p_ >= end_; }
  const char* position() const { return p_; }

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const auto byte = static_cast<unsigned char>(*p_++);
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (byte < 0x80) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool Bytes(absl::string_view* out) {
    uint64_t len = 0;
    if (!Varint(&len) || len > static_cast<uint64_t>(end_ - p_)) return false;
    *out = absl::string_view(p_, static_cast<size_t>(len));
    p_ += len;
    return true;
  }

  // Skips the value of a field whose tag was just read.
  bool Skip(int wire_type, uint64_t number, int depth = 0) {
    uint64_t ignored = 0;
    absl::string_view bytes;
    switch (wire_type) {
      case kVarint: return Varint(&ignored);
      case kFixed64: return Advance(8);
      case kFixed32: return Advance(4);
      case kLengthDelimited: return Bytes(&bytes);
      case kStartGroup:  // only in unknown fields of old senders; skipped to its end tag
        if (depth > 64) return false;
        while (!done()) {
          uint64_t tag = 0;
          if (!Varint(&tag)) return false;
          if ((tag & 7) == kEndGroup) return (tag >> 3) == number;
          if (!Skip(static_cast<int>(tag & 7), tag >> 3, depth + 1)) return false;
        }
        return false;
      default: return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
};

// Puts `prefix` (".name", ".name[3]" or ".key") in front of the path of an error found
// below it; the walk builds paths only on this, the failure path.
FieldError Under(absl::string_view prefix, FieldError error) {
  error.field = absl::StrCat(prefix, error.field);
  return error;
}

FieldError Malformed() { return FieldError{"", "invalid", "is not a well-formed protobuf message"}; }

std::optional<FieldError> CheckValue(absl::string_view value, size_t max_bytes) {
  if (!IsValidUtf8(value)) return FieldError{"", "invalid_utf8", "is not valid UTF-8"};
  if (value.size() > max_bytes) {
    return FieldError{"", "too_long", absl::StrFormat("is %d bytes, over the limit of %d", value.size(), max_bytes)};
  }
  return std::nullopt;
}

// Index of the repeated element of field `number` that starts at `at` (records of that
// field before it). Only on the failure path, so the walk keeps no counters.
int IndexOf(absl::string_view wire, uint64_t number, const char* at) {
  WireReader r(wire);
  int index = 0;
  while (!r.done() && r.position() < at) {
    uint64_t tag = 0;
    if (!r.Varint(&tag) || !r.Skip(static_cast<int>(tag & 7), tag >> 3)) break;
    if ((tag >> 3) == number) ++index;
  }
  return index;
}

}  // namespace

const StringFieldWalker::Field* StringFieldWalker::Plan::Find(uint64_t number) const {
  if (number < by_number.size()) {
    const int i = by_number[number];
    return i < 0 ? nullptr : &fields[static_cast<size_t>(i)];
  }
  if (!by_number.empty() || fields.empty()) return nullptr;  // beyond the table: none there
  for (const Field& f : fields) {
    if (static_cast<uint64_t>(f.field->number()) == number) return &f;
  }
  return nullptr;
}

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
  uint64_t max_number = 0;
  for (const Field& f : fields) max_number = std::max<uint64_t>(max_number, static_cast<uint64_t>(f.field->number()));
  if (!fields.empty() && max_number <= kMaxTableNumber) {
    plan->by_number.assign(max_number + 1, -1);
    for (size_t i = 0; i < fields.size(); ++i) plan->by_number[static_cast<size_t>(fields[i].field->number())] = static_cast<int>(i);
  }
  plan->fields = std::move(fields);
  plan->complete = true;
  return plan;
}

void StringFieldWalker::SerializeQuietly(const Message& message, std::string* out) {
  // Silences protobuf's (non-fatal) log process-wide while it exists: a few microseconds.
  google::protobuf::LogSilencer quiet;
  out->clear();
  message.AppendPartialToString(out);
}

std::optional<FieldError> StringFieldWalker::Check(const Message& message) const {
  std::string wire;
  SerializeQuietly(message, &wire);
  return CheckSerialized(wire);
}

std::optional<FieldError> StringFieldWalker::CheckSerialized(absl::string_view serialized) const {
  auto err = Walk(serialized, *root_);
  if (err && !err->field.empty() && err->field.front() == '.') err->field.erase(0, 1);
  return err;
}

std::optional<FieldError> StringFieldWalker::Walk(absl::string_view wire, const Plan& plan) const {
  WireReader r(wire);
  while (!r.done()) {
    const char* record = r.position();
    uint64_t tag = 0;
    if (!r.Varint(&tag)) return Malformed();
    const uint64_t number = tag >> 3;
    const int wire_type = static_cast<int>(tag & 7);
    // Strings, messages and map entries are all length-delimited; anything else is skipped.
    const Field* fd = wire_type == kLengthDelimited ? plan.Find(number) : nullptr;
    if (fd == nullptr) {
      if (!r.Skip(wire_type, number)) return Malformed();
      continue;
    }
    absl::string_view value;
    if (!r.Bytes(&value)) return Malformed();
    const std::string& name = fd->field->name();
    switch (fd->kind) {
      case Kind::kString:
        if (auto err = CheckValue(value, fd->max_bytes)) return Under(absl::StrCat(".", name), *std::move(err));
        break;
      case Kind::kRepeatedString:
        if (auto err = CheckValue(value, fd->max_bytes)) {
          return Under(absl::StrCat(".", name, "[", IndexOf(wire, number, record), "]"), *std::move(err));
        }
        break;
      case Kind::kMessage:
        if (auto err = Walk(value, *fd->nested)) return Under(absl::StrCat(".", name), *std::move(err));
        break;
      case Kind::kRepeatedMessage:
        if (auto err = Walk(value, *fd->nested)) {
          return Under(absl::StrCat(".", name, "[", IndexOf(wire, number, record), "]"), *std::move(err));
        }
        break;
      case Kind::kMap:
        if (auto err = WalkMapEntry(value, *fd)) return Under(absl::StrCat(".", name), *std::move(err));
        break;
    }
  }
  return std::nullopt;
}

std::optional<FieldError> StringFieldWalker::WalkMapEntry(absl::string_view entry, const Field& fd) const {
  const FieldDescriptor* key_f = fd.field->message_type()->map_key();
  const FieldDescriptor* value_f = fd.field->message_type()->map_value();
  // An entry is a message {1: key, 2: value}; either may be absent (the default) and a
  // repeated one counts last, as in parsing.
  absl::string_view key, value;
  bool has_value = false;
  WireReader r(entry);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.Varint(&tag)) return Malformed();
    const int wire_type = static_cast<int>(tag & 7);
    if (wire_type == kLengthDelimited && ((tag >> 3) == 1 || (tag >> 3) == 2)) {
      absl::string_view* into = (tag >> 3) == 1 ? &key : &value;
      if (!r.Bytes(into)) return Malformed();
      if ((tag >> 3) == 2) has_value = true;
    } else if (!r.Skip(wire_type, tag >> 3)) {
      return Malformed();
    }
  }
  if (key_f->type() == FieldDescriptor::TYPE_STRING) {
    if (!IsValidUtf8(key)) return FieldError{"", "invalid_utf8", "has a key that is not valid UTF-8"};
    if (key.size() > limits_.map_key_bytes) {
      return FieldError{"", "too_long", absl::StrFormat("has a key longer than %d bytes", limits_.map_key_bytes)};
    }
  }
  if (value_f->type() == FieldDescriptor::TYPE_STRING) {
    if (!IsValidUtf8(value)) return FieldError{absl::StrCat(".", key), "invalid_utf8", "is not valid UTF-8"};
    if (value.size() > fd.max_bytes) {
      return FieldError{absl::StrCat(".", key), "too_long", absl::StrFormat("is longer than %d bytes", fd.max_bytes)};
    }
  } else if (fd.nested != nullptr && has_value) {
    if (auto err = Walk(value, *fd.nested)) return Under(absl::StrCat(".", key), *std::move(err));
  }
  return std::nullopt;
}

}  // namespace journey::ingest
