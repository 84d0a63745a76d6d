#include "kube/quantity.h"

#include <chrono>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace discoblocks::kube {

// For gtest's messages (found by argument-dependent lookup).
void PrintTo(const Quantity& quantity, std::ostream* out) {
  *out << quantity.text() << " (" << quantity.Canonical() << ")";
}

namespace {

Int128 Millis(const char* text) {
  auto quantity = Quantity::Parse(text);
  EXPECT_TRUE(quantity.ok()) << text;
  return quantity.ok() ? quantity->millis() : -1;
}

Quantity Q(const std::string& text) {
  auto quantity = Quantity::Parse(text);
  EXPECT_TRUE(quantity.ok()) << text << ": " << (quantity.ok() ? "" : quantity.error().message);
  return quantity.ok() ? *quantity : Quantity::FromBytes(-999);
}

void AppendUtf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

// The inverse of Go's strconv.Quote, as the oracle writes the table's first
// column; nullopt if `quoted` is not such a string.
std::optional<std::string> GoUnquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
  quoted = quoted.substr(1, quoted.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < quoted.size(); ++i) {
    if (quoted[i] != '\\') {
      out += quoted[i];
      continue;
    }
    if (++i == quoted.size()) return std::nullopt;
    const char kind = quoted[i];
    const std::string_view simple = "abfnrtv\\\"";
    const std::string_view meaning = "\a\b\f\n\r\t\v\\\"";
    if (const auto at = simple.find(kind); at != std::string_view::npos) {
      out += meaning[at];
      continue;
    }
    const std::size_t hex_digits = kind == 'x' ? 2 : kind == 'u' ? 4 : kind == 'U' ? 8 : 0;
    if (hex_digits == 0 || i + hex_digits >= quoted.size() + 1) return std::nullopt;
    const auto code = static_cast<std::uint32_t>(
        std::stoul(std::string(quoted.substr(i + 1, hex_digits)), nullptr, 16));
    if (kind == 'x') {
      out += static_cast<char>(code);
    } else {
      AppendUtf8(out, code);
    }
    i += hex_digits;
  }
  return out;
}

TEST(QuantityTest, GoUnquoteReadsWhatGoQuoteWrites) {
  EXPECT_EQ(GoUnquote(R"("1Gi")"), "1Gi");
  EXPECT_EQ(GoUnquote(R"("1\x00")"), std::string("1\0", 2));
  EXPECT_EQ(GoUnquote(R"("\t1\n")"), "\t1\n");
  EXPECT_EQ(GoUnquote(R"("\u221e\"")"), "\xe2\x88\x9e\"");
  EXPECT_EQ(GoUnquote("1Gi"), std::nullopt);
}

// tests/kube/quantity_table.tsv holds what Kubernetes' own ParseQuantity makes
// of tests/kube/quantity_inputs.txt (quantity_oracle_test keeps it so).
TEST(QuantityTest, AgreesWithKubernetesOnEveryTableRow) {
  const auto path = testing::SourceDir() / "tests" / "kube" / "quantity_table.tsv";
  std::ifstream table(path);
  ASSERT_TRUE(table) << "cannot read " << path;
  std::string line;
  int rows = 0;
  int refused = 0;
  while (std::getline(table, line)) {
    const auto tab = line.rfind('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const auto input = GoUnquote(std::string_view(line).substr(0, tab));
    ASSERT_TRUE(input.has_value()) << line;
    const std::string expected = line.substr(tab + 1);
    SCOPED_TRACE(line.substr(0, 200));
    ++rows;
    const auto quantity = Quantity::Parse(*input);
    if (expected == "error") {
      ++refused;
      ASSERT_FALSE(quantity.ok()) << "accepted as " << quantity->Canonical();
      EXPECT_NE(quantity.error().message.find("is not a quantity"), std::string::npos);
      EXPECT_NE(quantity.error().message.find("e.g. 1Gi"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(quantity.ok()) << quantity.error().message;
    EXPECT_EQ(quantity->Canonical(), expected);
    // Kubernetes reads its canonical strings back as the same value, except
    // beyond exa where a decimal-SI value prints without a suffix ("1000E" is
    // "1").
    if (Q(expected) != *quantity) {
      EXPECT_GT(*quantity, Q("1E")) << expected;
    }
  }
  EXPECT_GE(rows, 60);
  EXPECT_GE(refused, 20);
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
  EXPECT_EQ(Millis("-1n"), -1);
  EXPECT_EQ(Millis("42"), 42'000);
  EXPECT_EQ(Millis("0"), 0);
  EXPECT_EQ(Millis("1e100"), std::numeric_limits<Int128>::max());  // saturated
  EXPECT_EQ(Millis("-1e100"), -std::numeric_limits<Int128>::max());
}

TEST(QuantityTest, ComparesAcrossSuffixes) {
  EXPECT_LT(*Quantity::Parse("1536Mi"), *Quantity::Parse("2Gi"));
  EXPECT_EQ(*Quantity::Parse("1024Mi"), *Quantity::Parse("1Gi"));
  EXPECT_GT(*Quantity::Parse("1G"), *Quantity::Parse("953Mi"));
  EXPECT_EQ(*Quantity::FromJson(1073741824), *Quantity::Parse("1Gi"));
  EXPECT_EQ(*Quantity::FromJson(nlohmann::json(std::uint64_t{18446744073709551615U})),
            Q("18446744073709551615"));
}

TEST(QuantityTest, OrdersExactly) {
  EXPECT_GT(Q("1Gi"), Q("1G"));
  EXPECT_GT(Q("1n"), Q("0"));
  EXPECT_LT(Q("-1n"), Q("0"));
  EXPECT_EQ(Q("-0"), Q("0"));
  EXPECT_EQ(Q("0.0000000001"), Q("1n"));  // rounded up to a nano
  EXPECT_EQ(Q("0." + std::string(128, '0') + "1"), Q("1n"));
  EXPECT_LT(Q("1e100"), Q("1e101"));
  EXPECT_GT(Q("1e100"), Q("99999999999999999999999999999999999999e62"));
  EXPECT_LT(Q("-1e100"), Q("-1e99"));
  EXPECT_EQ(Q("1e100"), Q("10000000000e90"));
  EXPECT_GT(Q("100000000000000000001"), Q("100000000000000000000"));  // beyond int64
  EXPECT_EQ(Q("16Ei"), Q("9223372036854775807"));  // Kubernetes caps binary values
  EXPECT_EQ(Q("1e4294967296"), Q("1"));            // and keeps 32 bits of an exponent
  EXPECT_TRUE(Q("1n").IsPositive());
  EXPECT_FALSE(Q("-0").IsPositive());
  EXPECT_FALSE(Q("-1Gi").IsPositive());
}

// Inputs Kubernetes never finishes with (it builds powers of ten with
// hundreds of millions of digits): we give, at once, the value its rules say.
TEST(QuantityTest, HugeExponentsAndDigitCountsAreQuick) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Q("1e999999999999").Canonical(), "1e-9");  // 32 bits: 1e-727379969
  EXPECT_EQ(Q("1e-2147483647").Canonical(), "1e-9");
  EXPECT_EQ(Q("0." + std::string(10'000, '0') + "1").Canonical(), "1n");
  EXPECT_EQ(Q(std::string(10'000, '9') + "Ei").Canonical(), "9223372036854775807");
  EXPECT_GT(Q(std::string(10'000, '9')), Q("1e9999"));
  EXPECT_LT(Q(std::string(10'000, '9')), Q("1e10000"));
  EXPECT_EQ(Q("1" + std::string(1'000'000, '0') + "e-1000000"), Q("1"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(QuantityTest, RejectsWhatIsNotAQuantity) {
  for (const char* bad : {"", "1GB", "1 Gi", "lots", "1.2.3", "1e", "0x10", "1Gi ", "1gi", "1KI"}) {
    auto quantity = Quantity::Parse(bad);
    EXPECT_FALSE(quantity.ok()) << bad;
  }
  EXPECT_FALSE(Quantity::FromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(Quantity::FromJson(1.5).ok());
}

TEST(QuantityTest, ErrorsSayWhatWasWrong) {
  auto message = [](std::string_view text) { return Quantity::Parse(text).error().message; };
  EXPECT_EQ(message("1GB"),
            "\"1GB\" is not a quantity: unexpected \"B\" at offset 2 (expected e.g. 1Gi, 500M, "
            "1.5Ti or 1e9)");
  EXPECT_NE(message("1K").find("unknown suffix \"K\""), std::string::npos);
  EXPECT_NE(message("1e9223372036854775808").find("does not fit in 64 bits"), std::string::npos);
  EXPECT_NE(message("").find("it is empty"), std::string::npos);
  EXPECT_NE(message(std::string_view("1\0", 2)).find("\"1\\x00\""), std::string::npos);
  // A long input is cut short in the message.
  EXPECT_LT(message(std::string(10'000, '1') + "x").size(), 200U);
}

TEST(QuantityTest, CeilUnitsRoundsUpToWholeBytesAndSaturates) {
  const auto bytes = [](const char* text) { return Quantity::Parse(text)->CeilUnits(); };
  EXPECT_EQ(bytes("1Gi"), 1073741824);
  EXPECT_EQ(bytes("1500m"), 2);
  EXPECT_EQ(bytes("1n"), 1);
  EXPECT_EQ(bytes("0"), 0);
  EXPECT_EQ(bytes("-1500m"), -1);
  EXPECT_EQ(bytes("8Ei"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(bytes("1e30"), std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace discoblocks::kube
