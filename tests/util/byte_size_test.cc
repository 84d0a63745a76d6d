#include "util/byte_size.h"

#include <string>

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

TEST(ByteSizeTest, ParsesSizesWithSuffixes) {
  EXPECT_EQ(*ParseByteSize("0"), 0U);
  EXPECT_EQ(*ParseByteSize("4096"), 4096U);
  EXPECT_EQ(*ParseByteSize("64Ki"), 64U << 10);
  EXPECT_EQ(*ParseByteSize("128Mi"), 128U << 20);
  EXPECT_EQ(*ParseByteSize("2Gi"), std::uint64_t{2} << 30);
  EXPECT_EQ(*ParseByteSize("3k"), 3000U);
  EXPECT_EQ(*ParseByteSize("5M"), 5'000'000U);
  EXPECT_EQ(*ParseByteSize("7G"), 7'000'000'000U);
  EXPECT_EQ(*ParseByteSize("18446744073709551615"), UINT64_MAX);
}

TEST(ByteSizeTest, OverflowIsAClearErrorForAnyNumberOfDigits) {
  const std::string many_nines(10'000, '9');
  for (const std::string& text :
       {std::string("18446744073709551616"), std::string("17179869184Gi"),
        std::string("18446744073709552k"), many_nines, many_nines + "Mi"}) {
    const auto parsed = ParseByteSize(text);
    ASSERT_FALSE(parsed) << text.substr(0, 40);
    EXPECT_NE(parsed.error().message.find("too large"), std::string::npos)
        << parsed.error().message.substr(0, 200);
    // The input is quoted, but not at any length.
    EXPECT_LT(parsed.error().message.size(), 200U);
  }
}

TEST(ByteSizeTest, RefusesWhatIsNotAWholeNumberOfBytes) {
  for (const char* text :
       {"", "Mi", "1.5Mi", "1e3", "0x10", " 1", "1 ", "+1", "1MB", "1mi", "1Ti", "1Ki1", "\xff"}) {
    const auto parsed = ParseByteSize(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("invalid size"), std::string::npos);
  }
  EXPECT_NE(ParseByteSize("-1").error().message.find("negative sizes are not allowed"),
            std::string::npos);
  EXPECT_NE(ParseByteSize("-99999999999999999999999").error().message.find("negative"),
            std::string::npos);
}

TEST(ByteSizeTest, FormatsWithTheLargestExactBinaryUnit) {
  EXPECT_EQ(FormatByteSize(128U << 20), "128Mi");
  EXPECT_EQ(FormatByteSize(64U << 10), "64Ki");
  EXPECT_EQ(FormatByteSize(1000), "1000");
  EXPECT_EQ(FormatByteSize(0), "0");
}

}  // namespace
}  // namespace discoblocks
