#include "common/number/whole_number.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace journey::number {
namespace {

TEST(WholeNumberTest, AcceptsWholeNumbersInRange) {
  EXPECT_EQ(WholeNumber<int32_t>(2.0), 2);
  EXPECT_EQ(WholeNumber<int32_t>(-7), -7);
  EXPECT_EQ(WholeNumber<int32_t>(2147483647.0), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(WholeNumber<int32_t>(-2147483648.0), std::numeric_limits<int32_t>::lowest());
  EXPECT_EQ(WholeNumber<int64_t>(-9223372036854775808.0), std::numeric_limits<int64_t>::lowest());
  EXPECT_EQ(WholeNumber<uint32_t>(4294967295.0), std::numeric_limits<uint32_t>::max());
}

TEST(WholeNumberTest, RejectsFractionsAndOutOfRange) {
  EXPECT_FALSE(WholeNumber<int32_t>(2.5));
  EXPECT_FALSE(WholeNumber<int32_t>(2147483648.0));
  EXPECT_FALSE(WholeNumber<int32_t>(-2147483649.0));
  EXPECT_FALSE(WholeNumber<int32_t>(1.1444e119));
  EXPECT_FALSE(WholeNumber<int64_t>(9223372036854775808.0));
  EXPECT_FALSE(WholeNumber<uint32_t>(-1));
  EXPECT_FALSE(WholeNumber<int64_t>(std::nan("")));
  EXPECT_FALSE(WholeNumber<int64_t>(std::numeric_limits<double>::infinity()));
}

}  // namespace
}  // namespace journey::number
