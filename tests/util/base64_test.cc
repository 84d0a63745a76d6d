// Base64 both ways: RFC 4648's test vectors, large inputs, bad input named.
#include "util/base64.h"

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(*Base64Decode("x", encoded), plain);
  }
}

// Encoding goes by chunks of 3 MiB; the result is one stream all the same.
TEST(Base64Test, LargeInputsRoundTrip) {
  std::string data;
  for (std::size_t i = 0; i < (std::size_t{7} << 20); ++i) {  // 1 byte past a multiple of 3
    data.push_back(static_cast<char>(i * 131 % 251));
  }
  const std::string encoded = Base64Encode(data);
  EXPECT_EQ(encoded.size(), (data.size() + 2) / 3 * 4);
  EXPECT_EQ(encoded.find('='), encoded.size() - 2) << "padding only at the end";
  EXPECT_EQ(*Base64Decode("x", encoded), data);
}

TEST(Base64Test, DecodingIgnoresWhiteSpaceAndNamesBadInput) {
  EXPECT_EQ(*Base64Decode("x", "Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(Base64Decode("ca-data", "Zm9").error().message,
            "ca-data is not valid base64 (length 3 is not a multiple of 4)");
  EXPECT_EQ(Base64Decode("ca-data", "Zm9*").error().message, "ca-data is not valid base64");
}

}  // namespace
}  // namespace discoblocks
