// A fixture's shared set-up (a Redis, service processes, a cluster), started from SetUp once
// per process. Not from SetUpTestSuite: gtest reports the tests of a suite whose
// SetUpTestSuite failed an ASSERT as skipped, and CTest counts a skipped test as passing, so a
// broken start-up would hide behind green.
#pragma once

namespace journey::testing {

class SuiteSetup {
 public:
  // Runs `start` the first time it is called; true once `start` reached Done(). An ASSERT
  // that fails inside `start` fails the test whose SetUp called this.
  template <typename Start>
  bool Ensure(Start start) {
    if (!started_) {
      started_ = true;
      start();
    }
    return ready_;
  }
  void Done() { ready_ = true; }

 private:
  bool started_ = false;
  bool ready_ = false;
};

}  // namespace journey::testing
