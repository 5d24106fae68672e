// PartitionedConsumer against a real redis-server, with faults put between the consumer and
// Redis: a read whose reply is lost after Redis delivered its entries, and a lease handed back
// while a read of that partition is in flight. In both, every entry must still reach a handler
// in stream order, and no partition may be read by two replicas at once.
#include "common/stream/partitioned_consumer.h"

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "gtest/gtest.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::stream {
namespace {

using journey::testing::PollUntil;
using storage::RedisCommand;
using storage::RedisReply;

// Records the message ids it is given, per partition, in the order given.
class RecordingHandler final : public EntryHandler {
 public:
  absl::Status ApplyBatch(uint32_t partition, const std::vector<StreamEntry>& entries) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries) seen_[partition].push_back(e.envelope.event().message_id());
    return absl::OkStatus();
  }
  std::vector<std::string> Seen(uint32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_[partition];
  }

 private:
  std::mutex mu_;
  std::map<uint32_t, std::vector<std::string>> seen_;
};

bool IsRead(const RedisCommand& c) { return !c.empty() && c[0] == "XREADGROUP"; }

// The partitions a pipeline reads, by their stream keys.
std::set<uint32_t> PartitionsRead(const std::vector<RedisCommand>& cmds, int partitions) {
  std::set<uint32_t> out;
  for (const RedisCommand& c : cmds) {
    if (!IsRead(c)) continue;
    for (int p = 0; p < partitions; ++p) {
      for (const std::string& arg : c) {
        if (arg == keys::EventStream(p)) out.insert(p);
      }
    }
  }
  return out;
}

// Lets Redis run the first read that delivers entries, then drops its reply, as a connection
// that breaks after the command went through does.
class ReplyLosingRedis final : public storage::RedisClient {
 public:
  explicit ReplyLosingRedis(storage::RedisClient* inner) : inner_(inner) {}
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& cmds,
                                                   absl::Duration timeout) override {
    auto replies = inner_->Pipeline(cmds, timeout);
    if (!armed_ || !replies.ok()) return replies;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (IsRead(cmds[i]) && cmds[i].back() == ">" && (*replies)[i].is_array() && !(*replies)[i].elements.empty()) {
        armed_ = false;
        return absl::UnavailableError("connection lost (injected after Redis ran the read)");
      }
    }
    return replies;
  }
  std::atomic<bool> armed_{false};

 private:
  storage::RedisClient* inner_;
};

class PartitionedConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    redis_ = Connect();
    ASSERT_NE(redis_, nullptr);
  }

  void Append(uint32_t partition, const std::string& message_id) {
    journey::common::v1::EventEnvelope envelope;
    envelope.mutable_event()->set_message_id(message_id);
    ASSERT_TRUE(redis_->Command({"XADD", keys::EventStream(partition), "*", "e", envelope.SerializeAsString()}).ok());
  }

  std::unique_ptr<storage::RedisClient> Connect() {
    auto redis = storage::HiredisClient::FromUrl(server_.url());
    EXPECT_TRUE(redis.ok()) << redis.status();
    return redis.ok() ? std::move(*redis) : nullptr;
  }

  static ConsumerOptions Options(const std::string& replica, int partitions) {
    ConsumerOptions o;
    o.group = "journey";
    o.replica_id = replica;
    o.partitions = partitions;
    o.lease_refresh = absl::Milliseconds(50);
    return o;
  }

  testing::RedisServer server_;
  std::unique_ptr<storage::RedisClient> redis_;
};

TEST_F(PartitionedConsumerTest, AReadWhoseReplyIsLostIsReadAgainBeforeWhatFollows) {
  auto connection = Connect();
  ReplyLosingRedis losing(connection.get());
  RecordingHandler handler;
  PartitionedConsumer consumer(&losing, &handler, Options("r1", 1));
  consumer.Start();
  Append(0, "m0");
  ASSERT_TRUE(PollUntil([&] { return handler.Seen(0).size() == 1; })) << "the consumer never read";

  losing.armed_ = true;
  Append(0, "m1");
  Append(0, "m2");
  ASSERT_TRUE(PollUntil([&] { return !losing.armed_; })) << "no read delivered the entries";
  Append(0, "m3");
  // Redis delivered m1 (and maybe m2) into this consumer's pending list, but the consumer never
  // saw them: read on with ">" and they would be skipped behind m3.
  ASSERT_TRUE(PollUntil([&] { return handler.Seen(0).size() >= 4; }, absl::Seconds(5)))
      << "entries whose read reply was lost never came back";
  consumer.Stop();
  EXPECT_EQ(handler.Seen(0), (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
}

// Holds the first read that includes `partition` until another replica owns it (or a second
// passes), and records whether any read of this replica reached Redis while the other owned
// the partition it read.
class StallingRedis final : public storage::RedisClient {
 public:
  StallingRedis(storage::RedisClient* inner, int partitions) : inner_(inner), partitions_(partitions) {}
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& cmds,
                                                   absl::Duration timeout) override {
    const std::set<uint32_t> reads = PartitionsRead(cmds, partitions_);
    if (armed_ && reads.size() == static_cast<size_t>(partitions_)) {
      armed_ = false;
      stalled_.Notify();
      (void)PollUntil([&] { return OtherOwnsAnyOf(reads); }, absl::Seconds(1), absl::Milliseconds(2));
    }
    if (OtherOwnsAnyOf(reads)) overlapped_ = true;
    return inner_->Pipeline(cmds, timeout);
  }
  bool OtherOwnsAnyOf(const std::set<uint32_t>& reads) {
    PartitionedConsumer* other = other_.load();
    if (other == nullptr) return false;
    for (uint32_t p : other->OwnedPartitions()) {
      if (reads.count(p)) return true;
    }
    return false;
  }

  std::atomic<bool> armed_{false};
  std::atomic<bool> overlapped_{false};
  absl::Notification stalled_;
  std::atomic<PartitionedConsumer*> other_{nullptr};

 private:
  storage::RedisClient* inner_;
  const int partitions_;
};

TEST_F(PartitionedConsumerTest, AHandedBackPartitionIsNotReadByTwoReplicasAtOnce) {
  constexpr int kPartitions = 2;
  auto first_connection = Connect();
  StallingRedis stalling(first_connection.get(), kPartitions);
  RecordingHandler first_handler, second_handler;
  PartitionedConsumer first(&stalling, &first_handler, Options("r1", kPartitions));
  first.Start();
  ASSERT_TRUE(PollUntil([&] { return first.OwnedPartitions().size() == kPartitions; }));

  // The first replica's next read of both partitions stalls while the second one joins and
  // the first hands one partition back.
  auto second_connection = Connect();
  PartitionedConsumer second(second_connection.get(), &second_handler, Options("r2", kPartitions));
  stalling.other_ = &second;
  stalling.armed_ = true;
  ASSERT_TRUE(stalling.stalled_.WaitForNotificationWithTimeout(absl::Seconds(5)));
  second.Start();
  ASSERT_TRUE(PollUntil([&] { return first.OwnedPartitions().size() == 1 && second.OwnedPartitions().size() == 1; },
                        absl::Seconds(10)))
      << "the partitions were not shared";
  for (int i = 0; i < 20; ++i) {
    Append(0, absl::StrCat("p0-", i));
    Append(1, absl::StrCat("p1-", i));
  }
  ASSERT_TRUE(PollUntil([&] {
    return first_handler.Seen(0).size() + second_handler.Seen(0).size() >= 20 &&
           first_handler.Seen(1).size() + second_handler.Seen(1).size() >= 20;
  }));
  first.Stop();
  second.Stop();
  EXPECT_FALSE(stalling.overlapped_) << "a read of the first replica reached Redis while the second owned the partition";
  for (uint32_t p = 0; p < kPartitions; ++p) {
    std::vector<std::string> all = first_handler.Seen(p);
    for (const auto& id : second_handler.Seen(p)) all.push_back(id);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 20u) << "partition " << p;
  }
}

}  // namespace
}  // namespace journey::stream
