#include "util/duration.h"

#include <cstdint>
#include <string>

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
  for (const char* bad : {"", "5", "s", "1x", "-1s", "+1s", "1s2", "1..2s", "soon", ".", "1 s",
                          "1s ", "1S", "\xC2s"}) {
    auto parsed = ParseDuration(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("invalid duration"), std::string::npos);
  }
}

TEST(DurationTest, IsExactWhereFloatingPointWasNot) {
  EXPECT_EQ(*ParseDuration("1.000000001s"), 1'000'000'001ns);
  EXPECT_EQ(*ParseDuration(".5s"), 500ms);
  EXPECT_EQ(*ParseDuration("5.s"), 5s);
  EXPECT_EQ(*ParseDuration("1h1m1s1ms1us1ns"), 1h + 1min + 1s + 1ms + 1us + 1ns);
  EXPECT_EQ(*ParseDuration("2\xC2\xB5s"), 2us);
  // Fraction digits past the nanosecond are read and ignored, at any length.
  EXPECT_EQ(*ParseDuration("1." + std::string(10'000, '9') + "ns"), 1ns);
}

TEST(DurationTest, TheLargestDurationParsesAndOneMoreIsTooLarge) {
  EXPECT_EQ(ParseDuration("9223372036854775807ns")->count(), INT64_MAX);
  EXPECT_EQ(ParseDuration("9223372036.854775807s")->count(), INT64_MAX);
  // 2^63 ns: a double holds it exactly, and converting it back to int64 was
  // undefined behaviour (on x86 it came out as a negative duration).
  for (const char* text :
       {"9223372036854775808ns", "9223372036.854775808s", "9223372036854775807ns1ns", "2562048h"}) {
    const auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed) << text << " parsed as " << parsed->count() << "ns";
    EXPECT_NE(parsed.error().message.find("too large"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(DurationTest, HugeInputsAreClearErrorsNotOverflows) {
  const std::string many_nines(400, '9');
  const std::string fraction_then_whole = "0." + many_nines.substr(1) + "h" + many_nines;
  for (const std::string& text :
       {std::string("9999999999999999999999h"), many_nines + "s", fraction_then_whole + "h",
        std::string("18446744073709551616ns"), std::string("1e400s")}) {
    const auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("invalid duration"), std::string::npos);
    // The input is quoted, but not at any length.
    EXPECT_LT(parsed.error().message.size(), 250U) << parsed.error().message;
  }
  EXPECT_NE(ParseDuration("9999999999999999999999h").error().message.find("too large"),
            std::string::npos);
}

TEST(DurationTest, SaysWhatIsWrong) {
  EXPECT_NE(ParseDuration("-1s").error().message.find("negative durations are not allowed"),
            std::string::npos);
  EXPECT_NE(ParseDuration("1x").error().message.find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(ParseDuration("1mx").error().message.find("unknown unit \"mx\""), std::string::npos);
  EXPECT_NE(ParseDuration("5").error().message.find("missing unit"), std::string::npos);
  EXPECT_NE(ParseDuration(".s").error().message.find("missing number"), std::string::npos);
  EXPECT_NE(ParseDuration("").error().message.find("empty"), std::string::npos);
}

TEST(DurationTest, FormatsCompactly) {
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(2s), "2s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(5min), "5m");
}

}  // namespace
}  // namespace discoblocks
