#include "kube/decimal.h"

#include <algorithm>
#include <limits>

namespace discoblocks::kube::decimal {

std::pair<std::string, std::int64_t> Normalize(std::string digits, std::int64_t exponent) {
  const std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return {"", 0};
  const std::size_t last = digits.find_last_not_of('0');
  exponent += static_cast<std::int64_t>(digits.size() - 1 - last);
  digits.erase(last + 1);
  digits.erase(0, first);
  return {std::move(digits), exponent};
}

void MultiplyBy1024(std::string& digits) {
  unsigned carry = 0;
  // Not std::ranges::reverse_view: clang 14 cannot compile libstdc++ 12's
  // <ranges>, and the fuzz build is clang's.
  std::for_each(digits.rbegin(), digits.rend(), [&carry](char& digit) {
    const unsigned product = static_cast<unsigned>(digit - '0') * 1024 + carry;
    digit = static_cast<char>('0' + product % 10);
    carry = product / 10;
  });
  std::string head;
  for (; carry > 0; carry /= 10) head.insert(head.begin(), static_cast<char>('0' + carry % 10));
  digits.insert(0, head);
}

void RoundUpToNano(std::string& digits, std::int64_t& exponent) {
  constexpr std::int64_t kNano = -9;
  if (digits.empty() || exponent >= kNano) return;
  // A normalized value ends in a nonzero digit, so whatever is dropped is not
  // zero and the kept part goes up by one.
  const std::int64_t dropped = kNano - exponent;
  if (dropped >= static_cast<std::int64_t>(digits.size())) {
    digits = "1";
    exponent = kNano;
    return;
  }
  std::string kept = digits.substr(0, digits.size() - static_cast<std::size_t>(dropped));
  auto it = kept.rbegin();
  for (; it != kept.rend() && *it == '9'; ++it) *it = '0';
  if (it == kept.rend()) {
    kept.insert(kept.begin(), '1');
  } else {
    ++*it;
  }
  std::tie(digits, exponent) = Normalize(std::move(kept), kNano);
}

int CompareMagnitude(std::string_view a, std::int64_t a_exponent, std::string_view b,
                     std::int64_t b_exponent) {
  if (a.empty() || b.empty()) return static_cast<int>(!a.empty()) - static_cast<int>(!b.empty());
  // The position of the leading digit decides; then, at the same position,
  // the digit strings compare as numbers do.
  const std::int64_t a_order = static_cast<std::int64_t>(a.size()) + a_exponent;
  const std::int64_t b_order = static_cast<std::int64_t>(b.size()) + b_exponent;
  if (a_order != b_order) return a_order < b_order ? -1 : 1;
  const int compared = a.compare(b);
  return (compared > 0) - (compared < 0);
}

Int128 ScaledCeiling(std::string_view digits, std::int64_t exponent) {
  constexpr Int128 kMax = std::numeric_limits<Int128>::max();
  if (digits.empty()) return 0;
  const std::int64_t order = static_cast<std::int64_t>(digits.size()) + exponent;
  if (order <= 0) return 1;  // 0 < value < 1
  if (order > std::numeric_limits<Int128>::digits10) return kMax;
  Int128 result = 0;
  const auto whole = static_cast<std::size_t>(order);
  for (std::size_t i = 0; i < whole; ++i) {
    result = result * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  }
  // Dropped digits end in a nonzero one.
  return whole < digits.size() ? result + 1 : result;
}

}  // namespace discoblocks::kube::decimal
