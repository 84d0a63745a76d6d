#include "kube/micro_time.h"

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

TEST(MicroTimeTest, IsUtcWithSixFractionalDigits) {
  using std::chrono::system_clock;
  // 2024-02-29T23:59:59 UTC is 1709251199 s after the epoch.
  const system_clock::time_point leap_day{std::chrono::seconds(1709251199)};
  EXPECT_EQ(FormatMicroTime(leap_day), "2024-02-29T23:59:59.000000Z");
  EXPECT_EQ(FormatMicroTime(leap_day + std::chrono::microseconds(7)),
            "2024-02-29T23:59:59.000007Z");
  // Below a microsecond is cut, never rounded up into the next second.
  EXPECT_EQ(FormatMicroTime(leap_day + std::chrono::nanoseconds(999'999'999)),
            "2024-02-29T23:59:59.999999Z");
  EXPECT_EQ(FormatMicroTime(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
}

}  // namespace
}  // namespace discoblocks::kube
