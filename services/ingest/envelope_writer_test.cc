// The envelope written around an event's bytes is byte for byte what the generated
// serializer gives for the same envelope, so consumers parse it as ever.
#include "services/ingest/envelope_writer.h"

#include <gtest/gtest.h>

namespace journey::ingest {
namespace {

namespace pb = journey::common::v1;

pb::Event SampleEvent() {
  pb::Event e;
  e.set_message_id("m-1");
  e.set_type(pb::EVENT_TYPE_TRACK);
  e.set_user_id("u-1");
  e.set_name("Product Viewed");
  e.set_price(19.5);
  e.mutable_context()->set_page_url("https://shop.example/p/1");
  (*e.mutable_properties())["color"] = "red";
  e.mutable_timestamp()->set_seconds(1700000000);
  return e;
}

TEST(EnvelopeWriter, WritesWhatTheGeneratedSerializerWrites) {
  const pb::Event event = SampleEvent();
  for (pb::EnvelopeKind kind : {pb::ENVELOPE_KIND_EVENT, pb::ENVELOPE_KIND_MERGE}) {
    pb::EventEnvelope rest;
    rest.set_workspace_id("ws");
    rest.set_canonical_user_id("u-1");
    if (kind == pb::ENVELOPE_KIND_MERGE) rest.set_previous_id("anon-1");
    rest.mutable_ingested_at()->set_seconds(1700000001);
    rest.set_partition(300);  // a two-byte varint
    rest.set_schema_version(1);

    std::string written = "prefix";
    AppendEnvelope(kind, event.SerializeAsString(), rest, &written);

    pb::EventEnvelope whole = rest;
    whole.set_kind(kind);
    *whole.mutable_event() = event;
    EXPECT_EQ(written, "prefix" + whole.SerializeAsString()) << pb::EnvelopeKind_Name(kind);

    pb::EventEnvelope parsed;
    ASSERT_TRUE(parsed.ParseFromString(written.substr(6)));
    EXPECT_EQ(parsed.kind(), kind);
    EXPECT_EQ(parsed.event().context().page_url(), "https://shop.example/p/1");
    EXPECT_EQ(parsed.partition(), 300u);
  }
}

}  // namespace
}  // namespace journey::ingest
