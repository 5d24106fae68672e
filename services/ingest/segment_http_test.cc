// The Segment-compatible HTTP API of the journey-ingest binary, driven by libcurl with
// Segment-shaped JSON: batches, retries, validation answers, limits, Redis down.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "journey/common/v1/common.pb.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/ingest_process_fixture.h"
#include "tests/testing/poll.h"
#include "tests/testing/http_client.h"

namespace journey::ingest {
namespace {

using json = nlohmann::json;

using Response = journey::testing::HttpResponse;

class SegmentHttpTest : public IngestProcessTest {
 protected:
  void SetUp() override {
    IngestProcessTest::SetUp();
    redis_client_ = std::move(*storage::HiredisClient::FromUrl(redis_.url(), 1));
  }

  Response Post(const std::string& path, const std::string& body) {
    return journey::testing::HttpPost(ingest_->http_port(), path, body);
  }

  // Envelopes for `uid` across all partitions, in stream order per partition.
  std::vector<journey::common::v1::EventEnvelope> EnvelopesOf(const std::string& uid) {
    std::vector<journey::common::v1::EventEnvelope> out;
    for (int p = 0; p < 4; ++p) {
      auto reply = redis_client_->Command({"XRANGE", keys::EventStream(p), "-", "+"});
      if (!reply.ok()) continue;
      for (const auto& entry : reply->elements) {
        journey::common::v1::EventEnvelope env;
        env.ParseFromString(entry.elements[1].elements[1].str);
        if (env.canonical_user_id() == uid) out.push_back(env);
      }
    }
    return out;
  }

  std::unique_ptr<storage::HiredisClient> redis_client_;
};

TEST_F(SegmentHttpTest, ABatchFromAnSdkLandsOnceAndStitchesTheVisitor) {
  const json batch = json::parse(R"({"batch": [
    {"type": "page", "messageId": "h1", "anonymousId": "anon-h", "name": "Home", "timestamp": "2026-11-01T10:00:00Z"},
    {"type": "track", "messageId": "h2", "anonymousId": "anon-h", "event": "Product Viewed",
     "timestamp": "2026-11-01T10:00:10Z", "properties": {"product_id": "p-9", "price": 19.99}},
    {"type": "identify", "messageId": "h3", "anonymousId": "anon-h", "userId": "user-h", "timestamp": "2026-11-01T10:00:20Z",
     "traits": {"plan": "gold"}},
    {"type": "track", "messageId": "h4", "anonymousId": "anon-h", "event": "Order Completed", "timestamp": "2026-11-01T10:00:30Z",
     "properties": {"order_id": "o-1", "revenue": 19.99, "products": [{"product_id": "p-9", "price": 19.99, "quantity": 1}]}}],
    "sentAt": "2026-11-01T10:00:31Z"})");
  Response first = Post("/v1/batch", batch.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["accepted"], 4);
  Response retry = Post("/v1/batch", batch.dump());
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(json::parse(retry.body)["duplicates"], 4);

  auto user = EnvelopesOf("user-h");
  ASSERT_EQ(user.size(), 3u);  // MERGE, identify, order: each once despite the retry
  int merges = 0;
  for (const auto& e : user) merges += e.kind() == journey::common::v1::ENVELOPE_KIND_MERGE ? 1 : 0;
  EXPECT_EQ(merges, 1);
  const auto& order = user.back().event();
  EXPECT_EQ(order.name(), "Order Completed");
  EXPECT_EQ(order.order_id(), "o-1");
  EXPECT_DOUBLE_EQ(order.revenue(), 19.99);
  ASSERT_EQ(order.products_size(), 1);
  EXPECT_EQ(EnvelopesOf("anon-h").size(), 2u);  // page and view, before the login
}

TEST_F(SegmentHttpTest, BadInputIs400NamingTheField) {
  Response r = Post("/v1/track", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("body"), std::string::npos);
  r = Post("/v1/track", R"({"messageId": "x1", "event": "Product Viewed"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "userId") << r.body;
  r = Post("/v1/track", R"({"userId": "u"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "event") << r.body;
  r = Post("/v1/track", R"({"userId": "u", "event": "Product Viewed", "properties": {"price": -5}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "properties.price") << r.body;
  r = Post("/v1/track", R"({"userId": "u", "event": "Order Completed", "properties": {"currency": "ZZZ"}})");
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "properties.currency") << r.body;
  r = Post("/v1/nothing", "{}");
  EXPECT_EQ(r.status, 404);
}

// 200,000 nested arrays fit in a batch body; copying or printing them once parsed would
// recurse that deep and overflow the worker's stack, so they are refused before parsing.
TEST_F(SegmentHttpTest, DeeplyNestedJsonIs400AndTheServiceLives) {
  const int depth = 200000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  Response r = Post("/v1/batch", R"({"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"a": )" +
                                     deep + "}}]}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("nests deeper"), std::string::npos) << r.body;
  // Brackets inside strings are text, and a normal nested property still works.
  r = Post("/v1/track", R"({"userId": "u", "event": "Product Viewed", "properties": {"note": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                            "notes": {"wrap": [1, [2, [3]]]}}})");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(SegmentHttpTest, OversizedEventIs413) {
  json big{{"userId", "u"}, {"event", std::string(40000, 'x')}};
  EXPECT_EQ(Post("/v1/track", big.dump()).status, 413);
  json huge_batch{{"batch", json::array()}};
  for (int i = 0; i < 600; ++i) huge_batch["batch"].push_back({{"type", "track"}, {"userId", "u"}, {"event", "x"}});
  EXPECT_EQ(Post("/v1/batch", huge_batch.dump()).status, 413);
}

TEST_F(SegmentHttpTest, APartialBatchListsTheRejectedItems) {
  Response r = Post("/v1/batch", R"({"batch": [
    {"type": "track", "userId": "u-p", "event": "Product Viewed"},
    {"type": "track", "event": "Product Viewed"},
    {"type": "bogus", "userId": "u-p"},
    {"type": "track", "userId": "u-p", "event": "Product Added", "properties": {"quantity": -1}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json reply = json::parse(r.body);
  EXPECT_EQ(reply["accepted"], 1);
  ASSERT_EQ(reply["rejected"].size(), 3u);
  EXPECT_EQ(reply["rejected"][0]["index"], 1);
  EXPECT_EQ(reply["rejected"][0]["field"], "userId");
  EXPECT_EQ(reply["rejected"][1]["field"], "type");
  EXPECT_EQ(reply["rejected"][2]["field"], "properties.quantity");
}

TEST_F(SegmentHttpTest, RedisDownIs503) {
  redis_.Stop();
  Response r = Post("/v1/track", R"({"userId": "u", "event": "Product Viewed"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.headers.find("Retry-After:"), std::string::npos) << r.headers;
}

// Backpressure seen from both front doors of the binary: a consumer group that does not
// read turns appends to its partition into 429 (HTTP) and RESOURCE_EXHAUSTED (gRPC).
class SegmentHttpBackpressureTest : public SegmentHttpTest {
 protected:
  std::map<std::string, std::string> ExtraFlags() const override { return {{"max_consumer_lag", "3"}}; }
};

TEST_F(SegmentHttpBackpressureTest, AStalledConsumerTurnsAppendsInto429AndResourceExhausted) {
  const uint32_t p = keys::PartitionOf("u-bp", kPartitions);
  ASSERT_TRUE(redis_client_->Command({"XGROUP", "CREATE", keys::EventStream(p), "journey", "0", "MKSTREAM"}).ok());
  const std::string body = R"({"userId": "u-bp", "event": "Product Viewed"})";
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Post("/v1/track", body).status, 200);  // lag 5 > 3 from now on
  // The gate refreshes its view of the lag in the background (every 500 ms).
  Response r;
  ASSERT_TRUE(journey::testing::PollUntil([&] { return (r = Post("/v1/track", body)).status == 429; },
                                          absl::Seconds(5)))
      << r.status << " " << r.body;
  EXPECT_NE(r.headers.find("Retry-After:"), std::string::npos) << r.headers;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "RESOURCE_EXHAUSTED") << r.body;

  auto stub = journey::ingest::v1::Ingest::NewStub(ingest_->channel());
  grpc::ClientContext ctx;
  journey::ingest::v1::TrackRequest req;
  req.mutable_event()->set_user_id("u-bp");
  req.mutable_event()->set_name("Product Viewed");
  journey::ingest::v1::TrackResponse resp;
  EXPECT_EQ(stub->Track(&ctx, req, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another customer's partition is not behind: still accepted.
  std::string other = "u-free";
  for (int i = 0; keys::PartitionOf(other, kPartitions) == p; ++i) other = "u-free-" + std::to_string(i);
  EXPECT_EQ(Post("/v1/track", R"({"userId": ")" + other + R"(", "event": "Product Viewed"})").status, 200);

  // The consumer catches up: the partition accepts again.
  ASSERT_TRUE(redis_client_->Command({"XREADGROUP", "GROUP", "journey", "c", "STREAMS", keys::EventStream(p), ">"}).ok());
  EXPECT_TRUE(journey::testing::PollUntil([&] { return Post("/v1/track", body).status == 200; }, absl::Seconds(5)));
}

}  // namespace
}  // namespace journey::ingest
