// The hiredis client against a real redis-server: pipelining, timeouts, reconnect.
#include <gtest/gtest.h>

#include <thread>

#include "common/storage/hiredis_client.h"
#include "common/storage/redis_script.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::storage {
namespace {

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    HiredisOptions options;
    options.endpoint.port = redis_.port();
    options.pool_size = 4;
    options.command_timeout = absl::Milliseconds(300);
    options.max_backoff = absl::Milliseconds(100);
    auto client = HiredisClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<HiredisClient> client_;
};

TEST_F(RedisClientTest, ScriptRunsByShaAndIsReloadedAfterRedisForgetsIt) {
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto call = [](const std::string& key, const std::string& by) {
    RedisCommand c = RedisScript::Call(1);
    c.push_back(key);
    c.push_back(by);
    return c;
  };
  auto first = script.Pipeline(client_.get(), {call("a", "2"), {"INCR", "b"}, call("a", "3")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)[0].integer, 2);
  EXPECT_EQ((*first)[2].integer, 5);
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());  // as after a restart
  auto second = script.Pipeline(client_.get(), {call("a", "10"), {"INCR", "b"}});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)[0].integer, 15);  // ran once after the reload
  EXPECT_EQ((*second)[1].integer, 2);   // the plain command was not repeated
  auto b = client_->Command({"GET", "b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->str, "2");
}

TEST_F(RedisClientTest, PipelineReturnsOneReplyPerCommandInOrder) {
  std::vector<RedisCommand> cmds;
  for (int i = 0; i < 1000; ++i) cmds.push_back({"SET", "k" + std::to_string(i), std::string("v\0x", 3)});
  for (int i = 0; i < 1000; ++i) cmds.push_back({"GET", "k" + std::to_string(i)});
  cmds.push_back({"INCRBY", "counter", "7"});
  cmds.push_back({"NOSUCHCOMMAND"});
  cmds.push_back({"GET", "missing"});
  auto replies = client_->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), cmds.size());
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_EQ((*replies)[1500].str, std::string("v\0x", 3));  // binary safe
  EXPECT_EQ((*replies)[2000].integer, 7);
  EXPECT_TRUE((*replies)[2001].is_error());
  EXPECT_TRUE((*replies)[2002].is_nil());
}

TEST_F(RedisClientTest, PipelineArgumentsMayHoldProtocolBytesOrBeEmpty) {
  const std::string tricky = "a\r\n*2\r\n$3\r\nGET\r\n";  // looks like a command of its own
  auto replies = client_->Pipeline({{"SET", tricky, ""}, {"STRLEN", tricky}, {"SET", "", tricky}, {"GET", ""}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[1].integer, 0);
  EXPECT_EQ((*replies)[3].str, tricky);
}

TEST_F(RedisClientTest, CommandTurnsErrorRepliesIntoStatus) {
  auto reply = client_->Command({"INCR", "text"});
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(client_->Command({"SET", "text", "abc"}).ok());
  auto bad = client_->Command({"INCR", "text"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("INCR"), std::string::npos);
}

TEST_F(RedisClientTest, SlowCommandTimesOutAsUnavailable) {
  // DEBUG SLEEP holds the server longer than the 300 ms command timeout.
  auto slow = client_->Command({"DEBUG", "SLEEP", "1"});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kUnavailable) << slow.status();
  // The client recovers once the server answers again.
  EXPECT_TRUE(journey::testing::PollUntil([&] { return client_->Ping().ok(); }, absl::Seconds(5)));
}

TEST_F(RedisClientTest, ReconnectsAfterServerRestart) {
  ASSERT_TRUE(client_->Command({"SET", "a", "1"}).ok());
  redis_.Stop();
  EXPECT_EQ(client_->Ping().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(redis_.Start().ok());
  EXPECT_TRUE(journey::testing::PollUntil([&] { return client_->Ping().ok(); }, absl::Seconds(5)));
  // Every pooled connection heals, not only one.
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(client_->Command({"SET", "b", "2"}).ok());
}

TEST_F(RedisClientTest, RedisThatIsUpButNotServingIsUnavailableNotARefusal) {
  // A script that runs for a second makes Redis answer everyone else BUSY, as it answers
  // LOADING while it reads its AOF after a restart: a state to retry, not a refused command.
  ASSERT_TRUE(client_->Command({"CONFIG", "SET", "busy-reply-threshold", "20"}).ok());
  HiredisOptions slow_options;
  slow_options.endpoint.port = redis_.port();
  slow_options.command_timeout = absl::Seconds(10);
  auto slow = HiredisClient::Create(slow_options);
  ASSERT_TRUE(slow.ok());
  std::thread busy([&] {
    (void)(*slow)->Command({"EVAL",
                            "local t = redis.call('TIME') local stop = t[1] + 1 "
                            "while tonumber(redis.call('TIME')[1]) <= stop do end return 1",
                            "0"});
  });
  absl::Status seen;
  EXPECT_TRUE(journey::testing::PollUntil(
      [&] {
        auto replies = client_->Pipeline({{"SET", "k", "v"}, {"GET", "k"}});
        seen = replies.status();
        return replies.status().code() == absl::StatusCode::kUnavailable &&
               replies.status().message().find("BUSY") != absl::string_view::npos;
      },
      absl::Seconds(3), absl::Milliseconds(5)))
      << seen;
  busy.join();
  EXPECT_TRUE(client_->Ping().ok());
  // An error code that merely starts alike is still the command's own error reply.
  ASSERT_TRUE(client_->Command({"XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"}).ok());
  auto again = client_->Pipeline({{"XGROUP", "CREATE", "s", "g", "0"}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)[0].is_error());
  EXPECT_NE((*again)[0].str.find("BUSYGROUP"), std::string::npos);
  EXPECT_FALSE(HiredisClient::IsTransientError("BUSYKEY Target key name already exists."));
  EXPECT_TRUE(HiredisClient::IsTransientError("LOADING Redis is loading the dataset in memory"));
}

TEST_F(RedisClientTest, DownServerFailsFastWithUnavailable) {
  redis_.Stop();
  absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client_->Command({"GET", "x"}).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(RedisClientAuthTest, AuthenticatesWithPasswordFromUrl) {
  journey::testing::RedisServer::Options opts;
  opts.extra_args = {"--requirepass", "s3cret"};
  journey::testing::RedisServer redis(opts);
  ASSERT_TRUE(redis.Start().ok());
  auto denied = HiredisClient::FromUrl("redis://127.0.0.1:" + std::to_string(redis.port()), 1);
  ASSERT_TRUE(denied.ok());
  EXPECT_FALSE((*denied)->Command({"SET", "k", "v"}).ok());
  auto client = HiredisClient::FromUrl("redis://:s3cret@127.0.0.1:" + std::to_string(redis.port()), 1);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE((*client)->Command({"SET", "k", "v"}).ok());
}

// EVALSHA after the script cache is lost (SCRIPT FLUSH, as after a restart): the refused
// call is sent again once loaded, and a call that ran is never run twice.
TEST_F(RedisClientTest, ScriptReloadsAfterTheCacheIsFlushedAndRunsEachCallOnce) {
  const RedisScript incr("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto first = incr.Run(client_.get(), {{"1", "n", "2"}, {"1", "n", "3"}});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)[1].integer, 5);
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  auto again = incr.Run(client_.get(), {{"1", "n", "10"}, {"1", "", "1"}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].integer, 15);
  EXPECT_EQ((*again)[1].integer, 1);  // an empty key name is an argument like any other
  EXPECT_EQ(client_->Command({"GET", "n"})->str, "15");
}

}  // namespace
}  // namespace journey::storage
