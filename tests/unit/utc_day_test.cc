#include "common/time/utc_day.h"

#include <gtest/gtest.h>

namespace journey {
namespace {

absl::Time At(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST(UtcDayTest, ChangesExactlyAtUtcMidnightAndMatchesTheFormattedDay) {
  EXPECT_EQ(UtcDay(At(2026, 12, 2, 0, 0, 0)), "20261202");
  EXPECT_EQ(UtcDay(At(2026, 12, 2, 23, 59, 59)), "20261202");  // the remembered day
  EXPECT_EQ(UtcDay(At(2026, 12, 3, 0, 0, 0)), "20261203");
  EXPECT_EQ(UtcDay(At(2026, 12, 2, 12, 0, 0)), "20261202");  // going back formats again
  EXPECT_EQ(UtcDay(At(1969, 12, 31, 23, 59, 59)), "19691231");
  EXPECT_EQ(UtcDay(At(1970, 1, 1, 0, 0, 0)), "19700101");
}

}  // namespace
}  // namespace journey
