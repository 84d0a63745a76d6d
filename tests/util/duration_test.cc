#include "util/duration.h"

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesGoDurations) {
  EXPECT_EQ(*ParseDuration("0"), 0ns);
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("2s"), 2s);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("1h"), 1h);
  EXPECT_EQ(*ParseDuration("10us"), 10us);
  EXPECT_EQ(*ParseDuration("7ns"), 7ns);
}

TEST(DurationTest, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "5", "s", "1x", "-1s", "1s2", "1..2s", "soon"}) {
    auto parsed = ParseDuration(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("invalid duration"), std::string::npos);
  }
}

TEST(DurationTest, FormatsCompactly) {
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(2s), "2s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(5min), "5m");
}

}  // namespace
}  // namespace discoblocks
