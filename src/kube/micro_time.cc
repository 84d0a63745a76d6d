#include "kube/micro_time.h"

#include <ctime>

#include <fmt/format.h>

namespace discoblocks::kube {
namespace {

using std::chrono::system_clock;

std::tm Utc(system_clock::time_point time) {
  const std::time_t whole = system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  std::tm utc{};
  gmtime_r(&whole, &utc);
  return utc;
}

bool AllDigits(std::string_view text) {
  return text.find_first_not_of("0123456789") == std::string_view::npos;
}

Error Malformed(std::string_view text, std::string_view why) {
  return MakeError(fmt::format("\"{}\" is not an RFC 3339 time: {}", text.substr(0, 64), why));
}

}  // namespace

std::string FormatMicroTime(system_clock::time_point time) {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(time);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(micros);
  const std::tm utc = Utc(time);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     (micros - seconds).count());
}

std::string FormatTime(system_clock::time_point time) {
  const std::tm utc = Utc(time);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

Result<system_clock::time_point> ParseTime(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SS" has fixed positions; strptime would also take
  // one-digit fields and leading spaces, which Kubernetes refuses.
  constexpr std::string_view kShape = "0000-00-00T00:00:00";
  if (text.size() < kShape.size()) return Malformed(text, "too short");
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = kShape[i] == '0';
    const bool ok = digit ? (text[i] >= '0' && text[i] <= '9')
                          : (text[i] == kShape[i] || (i == 10 && text[i] == 't'));
    if (!ok) return Malformed(text, fmt::format("unexpected character at {}", i + 1));
  }
  const auto number = [&](size_t at, size_t length) {
    int value = 0;
    for (size_t i = at; i < at + length; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  std::tm fields{};
  fields.tm_year = number(0, 4) - 1900;
  fields.tm_mon = number(5, 2) - 1;
  fields.tm_mday = number(8, 2);
  fields.tm_hour = number(11, 2);
  fields.tm_min = number(14, 2);
  fields.tm_sec = number(17, 2);
  if (fields.tm_mon > 11 || fields.tm_mday < 1 || fields.tm_mday > 31 || fields.tm_hour > 23 ||
      fields.tm_min > 59 || fields.tm_sec > 60) {
    return Malformed(text, "a field is out of range");
  }
  std::string_view rest = text.substr(kShape.size());
  std::chrono::nanoseconds fraction{0};
  if (!rest.empty() && rest.front() == '.') {
    const size_t digits = rest.find_first_not_of("0123456789", 1);
    const std::string_view part =
        rest.substr(1, digits == std::string_view::npos ? rest.size() - 1 : digits - 1);
    if (part.empty() || part.size() > 9) return Malformed(text, "a fraction of 1 to 9 digits");
    std::int64_t nanos = 0;
    for (size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < part.size() ? part[i] - '0' : 0);
    fraction = std::chrono::nanoseconds(nanos);
    rest.remove_prefix(1 + part.size());
  }
  std::chrono::seconds offset{0};
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
             AllDigits(rest.substr(1, 2)) && AllDigits(rest.substr(4, 2))) {
    const int hours = (rest[1] - '0') * 10 + (rest[2] - '0');
    const int minutes = (rest[4] - '0') * 10 + (rest[5] - '0');
    if (hours > 23 || minutes > 59) return Malformed(text, "the offset is out of range");
    offset = std::chrono::hours(hours) + std::chrono::minutes(minutes);
    if (rest[0] == '+') offset = -offset;  // 12:00+02:00 is 10:00Z
  } else {
    return Malformed(text, "expected Z or an offset such as +02:00 after the time");
  }
  const std::time_t seconds = timegm(&fields);
  return system_clock::from_time_t(seconds) + offset +
         std::chrono::duration_cast<system_clock::duration>(fraction);
}

}  // namespace discoblocks::kube
