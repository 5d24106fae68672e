// IngestBatchSink against an in-process fake Ingest: chunks, the tally of accepted,
// duplicate and rejected events, retries while ingest is unavailable, and the rate limit.
#include "tools/journeyctl/ingest_batch_sink.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "absl/time/clock.h"

namespace journey::cli {
namespace {

namespace cv1 = journey::common::v1;

class FakeIngest final : public ingest::v1::Ingest::Service {
 public:
  grpc::Status Batch(grpc::ServerContext*, const ingest::v1::BatchRequest* request,
                     ingest::v1::BatchResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_left_ > 0) {
      --unavailable_left_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "warming up");
    }
    batch_sizes_.push_back(request->events_size());
    for (int i = 0; i < request->events_size(); ++i) {
      const auto& e = request->events(i);
      if (e.user_id().empty() && e.anonymous_id().empty()) {
        auto* r = response->add_rejected();
        r->set_index(i);
        r->set_field("user_id");
        r->set_reason("user_id or anonymous_id is required");
        r->set_message_id(e.message_id());
      } else if (!seen_.insert(e.message_id()).second) {
        response->set_duplicates(response->duplicates() + 1);
      } else {
        response->set_accepted(response->accepted() + 1);
      }
    }
    return grpc::Status::OK;
  }

  std::mutex mu_;
  int unavailable_left_ = 0;
  std::vector<int> batch_sizes_;
  std::set<std::string> seen_;
};

class IngestBatchSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    addresses_.ingest = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override { server_->Shutdown(); }

  static std::vector<cv1::Event> Events(int n) {
    std::vector<cv1::Event> out(n);
    for (int i = 0; i < n; ++i) {
      out[i].set_message_id("m" + std::to_string(i));
      out[i].set_user_id("u" + std::to_string(i % 7));
      out[i].set_name("Product Viewed");
    }
    return out;
  }

  FakeIngest fake_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  SuiteAddresses addresses_;
};

TEST_F(IngestBatchSinkTest, SendsInChunksAndTalliesTheAnswers) {
  SuiteClients clients(addresses_);
  IngestBatchSink sink(clients, addresses_.ingest, BatchSinkOptions{100});
  auto events = Events(250);
  events[10].clear_user_id();                   // rejected
  events[20].set_message_id("m0");              // duplicate of the first
  ASSERT_TRUE(sink.Send(events).ok());
  EXPECT_EQ(fake_.batch_sizes_, (std::vector<int>{100, 100, 50}));
  EXPECT_EQ(sink.tally().sent, 250);
  EXPECT_EQ(sink.tally().accepted, 248);
  EXPECT_EQ(sink.tally().duplicates, 1);
  EXPECT_EQ(sink.tally().rejected, 1);
  ASSERT_EQ(sink.tally().first_rejections.size(), 1u);
  EXPECT_EQ(sink.tally().first_rejections[0], "m10 user_id: user_id or anonymous_id is required");
}

TEST_F(IngestBatchSinkTest, RetriesWhileIngestIsUnavailable) {
  fake_.unavailable_left_ = 2;
  SuiteClients clients(addresses_);
  IngestBatchSink sink(clients, addresses_.ingest, BatchSinkOptions{500});
  ASSERT_TRUE(sink.Send(Events(10)).ok());
  EXPECT_EQ(sink.tally().accepted, 10);
  EXPECT_EQ(fake_.unavailable_left_, 0);
}

TEST_F(IngestBatchSinkTest, GivesUpWithAClearErrorWhenIngestIsDown) {
  server_->Shutdown();
  addresses_.timeout_ms = 200;
  SuiteClients clients(addresses_);
  BatchSinkOptions options;
  options.max_retries = 1;
  IngestBatchSink sink(clients, addresses_.ingest, options);
  absl::Status s = sink.Send(Events(3));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("ingest at " + addresses_.ingest), std::string::npos) << s.message();
}

TEST_F(IngestBatchSinkTest, KeepsToTheRateLimit) {
  SuiteClients clients(addresses_);
  BatchSinkOptions options;
  options.batch_size = 50;
  options.rate_per_s = 1000;
  IngestBatchSink sink(clients, addresses_.ingest, options);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(sink.Send(Events(400)).ok());
  // 400 events at 1000/s: the last chunk is due 0.4 s after the start.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(390));
  EXPECT_EQ(sink.tally().accepted, 400);
}

}  // namespace
}  // namespace journey::cli
