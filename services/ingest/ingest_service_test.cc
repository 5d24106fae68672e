// The journey-ingest binary seen from a gRPC client: acks, INVALID_ARGUMENT naming the
// field, partial batches, client streaming, and UNAVAILABLE while Redis is down.
#include <gtest/gtest.h>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/ingest_process_fixture.h"
#include "tests/testing/poll.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
namespace v1 = journey::ingest::v1;

class IngestServiceTest : public IngestProcessTest {
 protected:
  void SetUp() override {
    IngestProcessTest::SetUp();
    if (ingest_) stub_ = v1::Ingest::NewStub(ingest_->channel());
  }

  static Event Viewed(const std::string& mid, const std::string& uid) {
    Event e;
    e.set_message_id(mid);
    e.set_user_id(uid);
    e.set_name("Product Viewed");
    e.set_product_id("p-1");
    return e;
  }

  int64_t StreamLength(const std::string& uid) {
    auto client = storage::HiredisClient::FromUrl(redis_.url(), 1);
    auto len = (*client)->Command({"XLEN", keys::EventStream(keys::PartitionOf(uid, 4))});
    return len.ok() ? len->integer : -1;
  }

  std::unique_ptr<v1::Ingest::Stub> stub_;
};

TEST_F(IngestServiceTest, TrackIsAcknowledgedAfterTheAppend) {
  grpc::ClientContext ctx;
  v1::TrackRequest req;
  *req.mutable_event() = Viewed("t1", "u1");
  v1::TrackResponse resp;
  ASSERT_TRUE(stub_->Track(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.ack().message_id(), "t1");
  EXPECT_FALSE(resp.ack().stream_id().empty());
  EXPECT_EQ(StreamLength("u1"), 1);
}

TEST_F(IngestServiceTest, InvalidEventIsInvalidArgumentNamingTheField) {
  grpc::ClientContext ctx;
  v1::TrackRequest req;
  *req.mutable_event() = Viewed("t2", "u1");
  req.mutable_event()->set_price(-3);
  v1::TrackResponse resp;
  grpc::Status st = stub_->Track(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("price"), std::string::npos) << st.error_message();
}

TEST_F(IngestServiceTest, BatchIsPartiallyAccepted) {
  grpc::ClientContext ctx;
  v1::BatchRequest req;
  for (int i = 0; i < 5; ++i) {
    Event* e = req.add_events();
    *e = Viewed("b" + std::to_string(i), "u2");
    e->set_type(journey::common::v1::EVENT_TYPE_TRACK);
  }
  req.mutable_events(3)->clear_name();
  v1::BatchResponse resp;
  ASSERT_TRUE(stub_->Batch(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.accepted(), 4);
  ASSERT_EQ(resp.rejected_size(), 1);
  EXPECT_EQ(resp.rejected(0).index(), 3);
  EXPECT_EQ(resp.rejected(0).field(), "name");
  EXPECT_EQ(resp.rejected(0).code(), "required");
}

TEST_F(IngestServiceTest, StreamEventsSummarises) {
  grpc::ClientContext ctx;
  v1::StreamEventsSummary summary;
  auto writer = stub_->StreamEvents(&ctx, &summary);
  for (int chunk = 0; chunk < 3; ++chunk) {
    v1::StreamEventsRequest req;
    for (int i = 0; i < 10; ++i) {
      Event* e = req.add_events();
      *e = Viewed("s" + std::to_string(i), "u3");  // chunks repeat: 20 duplicates
      e->set_type(journey::common::v1::EVENT_TYPE_TRACK);
    }
    ASSERT_TRUE(writer->Write(req));
  }
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(summary.received(), 30);
  EXPECT_EQ(summary.accepted(), 30);
  EXPECT_EQ(summary.duplicates(), 20);
  EXPECT_EQ(StreamLength("u3"), 10);
}

TEST_F(IngestServiceTest, RedisDownIsUnavailable) {
  redis_.Stop();
  grpc::ClientContext ctx;
  v1::TrackRequest req;
  *req.mutable_event() = Viewed("t3", "u1");
  v1::TrackResponse resp;
  EXPECT_EQ(stub_->Track(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(redis_.Start().ok());
  EXPECT_TRUE(journey::testing::PollUntil([&] {
    grpc::ClientContext retry;
    v1::TrackResponse r;
    return stub_->Track(&retry, req, &r).ok();
  }, absl::Seconds(10)));
}

TEST_F(IngestServiceTest, ABatchOverTheLimitsIsInvalidArgumentNamingEvents) {
  v1::BatchRequest too_many;
  for (int i = 0; i < 501; ++i) *too_many.add_events() = Viewed("b" + std::to_string(i), "u1");
  v1::BatchResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Batch(&ctx, too_many, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("events:", 0), 0u) << st.error_message();

  v1::BatchRequest too_big;  // 400 events of 2 KiB: under 500 events, over 500 KiB
  for (int i = 0; i < 400; ++i) {
    Event* e = too_big.add_events();
    *e = Viewed("big" + std::to_string(i), "u1");
    e->mutable_context()->set_page_url(std::string(2000, 'p'));
  }
  grpc::ClientContext ctx2;
  st = stub_->Batch(&ctx2, too_big, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("bytes"), std::string::npos) << st.error_message();
  EXPECT_EQ(StreamLength("u1"), 0);  // nothing of either batch was appended
}

}  // namespace
}  // namespace journey::ingest
