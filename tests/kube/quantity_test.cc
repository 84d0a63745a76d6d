#include "kube/quantity.h"

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

Int128 Millis(const char* text) {
  auto quantity = Quantity::Parse(text);
  EXPECT_TRUE(quantity.ok()) << text;
  return quantity.ok() ? quantity->millis() : -1;
}

TEST(QuantityTest, ParsesKubernetesSuffixes) {
  EXPECT_EQ(Millis("1Gi"), (static_cast<Int128>(1) << 30) * 1000);
  EXPECT_EQ(Millis("1Ki"), 1024 * 1000);
  EXPECT_EQ(Millis("1.5Ki"), 1536 * 1000);
  EXPECT_EQ(Millis("500M"), static_cast<Int128>(500'000'000) * 1000);
  EXPECT_EQ(Millis("1k"), 1'000'000);
  EXPECT_EQ(Millis("100m"), 100);
  EXPECT_EQ(Millis("1e3"), 1'000'000);
  EXPECT_EQ(Millis("2E"), static_cast<Int128>(2'000'000'000'000'000'000LL) * 1000);
  EXPECT_EQ(Millis("1n"), 1);  // rounded up, never down
  EXPECT_EQ(Millis("42"), 42'000);
}

TEST(QuantityTest, ComparesAcrossSuffixes) {
  EXPECT_LT(*Quantity::Parse("1536Mi"), *Quantity::Parse("2Gi"));
  EXPECT_EQ(*Quantity::Parse("1024Mi"), *Quantity::Parse("1Gi"));
  EXPECT_GT(*Quantity::Parse("1G"), *Quantity::Parse("953Mi"));
  EXPECT_EQ(*Quantity::FromJson(1073741824), *Quantity::Parse("1Gi"));
}

TEST(QuantityTest, RejectsWhatIsNotAQuantity) {
  for (const char* bad : {"", "Gi", "1GB", "1 Gi", "lots", "1.2.3", "1e", "0x10"}) {
    auto quantity = Quantity::Parse(bad);
    EXPECT_FALSE(quantity.ok()) << bad;
  }
  EXPECT_FALSE(Quantity::FromJson(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace discoblocks::kube
