// The string walk on a recursive message type (google.protobuf.Struct holds Values that hold
// Structs and lists of Values): every level is checked and the path names each step.
#include "services/ingest/string_field_walker.h"

#include <gtest/gtest.h>

#include "google/protobuf/struct.pb.h"

namespace journey::ingest {
namespace {

StringFieldWalker StructWalker() {
  return StringFieldWalker(google::protobuf::Struct::descriptor(),
                           {[](const google::protobuf::FieldDescriptor&, bool) { return size_t{16}; }, 8, 16});
}

TEST(StringFieldWalker, ChecksEveryLevelOfARecursiveType) {
  const StringFieldWalker walker = StructWalker();
  google::protobuf::Struct s;
  (*s.mutable_fields())["ok"].set_string_value("fine");
  EXPECT_FALSE(walker.Check(s).has_value());

  auto& inner = *(*s.mutable_fields())["a"].mutable_struct_value()->mutable_fields();
  inner["b"].set_string_value("\xFF");
  auto err = walker.Check(s);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "fields.a.struct_value.fields.b.string_value");
  EXPECT_EQ(err->reason, "invalid_utf8");

  inner["b"].set_string_value("ok");
  auto* list = (*s.mutable_fields())["l"].mutable_list_value();
  list->add_values()->set_number_value(1);
  list->add_values()->set_string_value(std::string(17, 'x'));
  err = walker.Check(s);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "fields.l.list_value.values[1].string_value");
  EXPECT_EQ(err->reason, "too_long");

  s.Clear();
  (*s.mutable_fields())["a-key-longer-than-8"].set_bool_value(true);
  err = walker.Check(s);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "fields");
  EXPECT_EQ(err->reason, "too_long");
}

// The walk reads the wire: fields it does not know (a newer sender's, a group of an old
// one) are skipped, and bytes that are not a message are refused rather than misread.
TEST(StringFieldWalker, SkipsUnknownFieldsAndRefusesMalformedBytes) {
  const StringFieldWalker walker = StructWalker();
  google::protobuf::Struct s;
  (*s.mutable_fields())["k"].set_string_value("fine");
  std::string wire = s.SerializeAsString();
  // Unknown field 9 as a varint, a fixed64, and a group holding a string; then field 1 again.
  wire += std::string("\x48\x05", 2) + std::string("\x49", 1) + std::string(8, '\0') +
          std::string("\x4B\x0A\x01\xFF\x4C", 5);
  EXPECT_FALSE(walker.CheckSerialized(wire).has_value());

  google::protobuf::Struct bad;
  (*bad.mutable_fields())["k"].set_string_value(std::string(17, 'x'));
  auto err = walker.CheckSerialized(wire + bad.SerializeAsString());
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->field, "fields.k.string_value");

  err = walker.CheckSerialized(std::string("\x0A\x7F", 2));  // a length past the end
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->reason, "invalid");
}

}  // namespace
}  // namespace journey::ingest
