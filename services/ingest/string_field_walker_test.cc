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

}  // namespace
}  // namespace journey::ingest
