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

TEST(TimeTest, FormatsWholeSecondsAndReadsBack) {
  using std::chrono::system_clock;
  const system_clock::time_point leap_day{std::chrono::seconds(1709251199)};
  EXPECT_EQ(FormatTime(leap_day + std::chrono::milliseconds(999)), "2024-02-29T23:59:59Z");
  auto parsed = ParseTime("2024-02-29T23:59:59Z");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, leap_day);
}

TEST(TimeTest, ReadsFractionsAndOffsets) {
  using std::chrono::system_clock;
  const system_clock::time_point noon{std::chrono::seconds(1714564800)};  // 2024-05-01T12:00:00Z
  auto fraction = ParseTime("2024-05-01T12:00:00.123456Z");
  ASSERT_TRUE(fraction) << fraction.error().message;
  EXPECT_EQ(*fraction - noon, std::chrono::microseconds(123456));
  auto ahead = ParseTime("2024-05-01T14:00:00+02:00");
  ASSERT_TRUE(ahead) << ahead.error().message;
  EXPECT_EQ(*ahead, noon);
  auto behind = ParseTime("2024-05-01T07:30:00-04:30");
  ASSERT_TRUE(behind) << behind.error().message;
  EXPECT_EQ(*behind, noon);
}

TEST(TimeTest, RefusesWhatKubernetesRefusesAndSaysWhy) {
  for (const char* text :
       {"", "2024-05-01", "2024-05-01 12:00:00Z", "2024-5-01T12:00:00Z", "2024-05-01T12:00:00",
        "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567890Z", "2024-13-01T12:00:00Z",
        "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00Zjunk",
        " 2024-05-01T12:00:00Z"}) {
    auto parsed = ParseTime(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("not an RFC 3339 time"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace discoblocks::kube
