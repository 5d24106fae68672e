// Test fixture: a private redis-server and the journey-ingest binary (4 partitions), started
// per test and stopped with SIGTERM afterwards (the exit code must be 0).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::ingest {

class IngestProcessTest : public ::testing::Test {
 protected:
  static constexpr int kPartitions = 4;

  // Flags beyond --partitions, for tests of one option.
  virtual std::map<std::string, std::string> ExtraFlags() const { return {}; }

  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    std::map<std::string, std::string> flags = ExtraFlags();
    flags["partitions"] = std::to_string(kPartitions);
    ingest_ = std::make_unique<journey::testing::ServiceProcess>("ingest", redis_.url(), flags);
    ASSERT_TRUE(ingest_->Start().ok()) << ingest_->LogTail();
  }
  void TearDown() override {
    if (ingest_) {
      EXPECT_EQ(ingest_->Stop(), 0) << ingest_->LogTail();
    }
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<journey::testing::ServiceProcess> ingest_;
};

}  // namespace journey::ingest
