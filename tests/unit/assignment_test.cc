#include "common/experiment/assignment.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace journey::experiment {
namespace {

TEST(AssignmentTest, BucketIsAFixedFunctionOfItsInputs) {
  // Pinned: a change here moves customers between control and treatment in running workspaces.
  // sha256("7:default7:holdoutcust-1") starts 8ae69c8e090ab697; that mod 10,000 is 2183.
  EXPECT_EQ(AssignmentBucket("default", "holdout", "cust-1"), 2183u);
  EXPECT_EQ(AssignmentBucket("default", "exp", "cust-2"), 3830u);
  EXPECT_NE(AssignmentBucket("default", "holdout", "cust-1"), AssignmentBucket("other", "holdout", "cust-1"));
  EXPECT_NE(AssignmentBucket("ab", "c", "x"), AssignmentBucket("a", "bc", "x"));
}

TEST(AssignmentTest, HoldoutShareHoldsOver100kCustomers) {
  HoldoutConfig holdout;  // 5%
  int in = 0;
  for (int i = 0; i < 100000; ++i) in += InHoldout(holdout, "default", absl::StrCat("cust-", i));
  EXPECT_NEAR(in, 5000, 300);  // about 4.4 standard deviations
  HoldoutConfig none{0, "holdout"};
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(InHoldout(none, "default", absl::StrCat("cust-", i)));
}

TEST(AssignmentTest, DifferentSaltsAreIndependent) {
  int both = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string id = absl::StrCat("cust-", i);
    both += AssignmentBucket("w", "a", id) < 5000 && AssignmentBucket("w", "b", id) < 5000;
  }
  EXPECT_NEAR(both, 25000, 700);
}

}  // namespace
}  // namespace journey::experiment
