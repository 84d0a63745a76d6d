// Fuzzes the quantity parser (kube::Quantity), which reads spec.capacity and
// spec.maxCapacity of every DiskConfig the webhook sees.
//
// Beyond "no crash, no undefined behaviour" (the sanitizers watch the 128-bit
// and scale arithmetic), it checks the properties the rules rely on:
//   - the canonical form parses again, and below 2^63 to an equal value
//     (Kubernetes stores and prints the canonical form, and the webhook
//     compares old and new values; above that, Kubernetes' own printing loses
//     the value: "1000E" prints "1", and exponents are printed cut to 32 bits,
//     so "1000e-2147483648" prints "10e-2147483646"). The canonical form is
//     not always its own canonical form: Kubernetes prints "62.5Ki" as
//     "64000", and "64000" as "64k";
//   - comparisons are consistent: parsing again gives an equal value, and a
//     negated value compares the other way;
//   - a JSON string holding the text parses to the same quantity.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "kube/quantity.h"

namespace {

using discoblocks::fuzz::Require;
using discoblocks::kube::Quantity;

void CheckParsed(const Quantity& quantity, std::string_view text) {
  const auto same = Quantity::Parse(text);
  Require(same.ok() && *same == quantity && *same >= quantity, "parsing again gives an equal value",
          text);
  Require(quantity.text() == text, "text() is the input", text);

  const std::string canonical = quantity.Canonical();
  Require(!canonical.empty(), "the canonical form is not empty", text);
  auto again = Quantity::Parse(canonical);
  Require(again.ok(), "the canonical form parses", canonical);
  // Above 2^63 Kubernetes' own printing loses the value ("1000E" prints "1",
  // and exponents print cut to 32 bits), so only below it does the value
  // survive a round trip.
  const discoblocks::kube::Int128 millis = quantity.millis();
  const discoblocks::kube::Int128 below_2_63 = discoblocks::kube::Int128{INT64_MAX} * 1000;
  if (millis < below_2_63 && millis > -below_2_63) {
    Require(*again == quantity, "the canonical form has the same value", text);
    Require(again->millis() == millis, "millis() agrees with equality", text);
  }

  // IsPositive is what "capacity must be positive" rests on.
  const auto zero = Quantity::Parse("0");
  Require(zero.ok(), "0 parses");
  Require(quantity.IsPositive() == (quantity > *zero), "IsPositive() agrees with > 0", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = discoblocks::fuzz::AsText(data, size);
  auto parsed = Quantity::Parse(text);
  const auto from_json = Quantity::FromJson(nlohmann::json(std::string(text)));
  Require(parsed.ok() == from_json.ok(), "a JSON string parses as its text does", text);
  if (!parsed.ok()) {
    Require(!parsed.error().message.empty(), "a refusal says why", text);
    return 0;
  }
  CheckParsed(*parsed, text);
  Require(*from_json == *parsed, "a JSON string has its text's value", text);

  // The same number with the other sign compares the other way (unless zero).
  if (!text.empty() && text[0] != '-' && text[0] != '+') {
    const std::string negated = "-" + std::string(text);
    auto negative = Quantity::Parse(negated);
    Require(negative.ok(), "a negated quantity parses", negated);
    CheckParsed(*negative, negated);
    Require(parsed->IsPositive() == (*negative < *parsed), "negation reverses the order", text);
  }
  return 0;
}
