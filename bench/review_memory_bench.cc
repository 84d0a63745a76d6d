// The heap a parsed AdmissionReview body holds at its worst, within the
// webhook's limits (admission/limits.h): bodies of 3 MiB made of the values
// that cost most once parsed, cut to the values limit where the limit bites.
// Reported as the counter `parsed_bytes` (heap in use after parsing minus
// before, from mallinfo2), against kMaxParsedReviewBytes.
#include <malloc.h>

#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "admission/limits.h"
#include "util/document.h"

namespace discoblocks {
namespace {

std::size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// `[item,item,...]` as long as it stays within both limits.
std::string Body(const std::string& item) {
  const auto& limits = admission::kReviewLimits;
  std::string body = "[";
  std::size_t values = 1;
  // As CheckJsonLimits counts: every [, { and , (the items have no strings
  // with those in them), plus the comma after the item.
  std::size_t item_values = 1;
  for (const char c : item) item_values += c == '[' || c == '{' || c == ',' ? 1 : 0;
  while (body.size() + item.size() + 2 < limits.max_bytes &&
         values + item_values <= limits.max_values) {
    body += item;
    body += ',';
    values += item_values;
  }
  body.back() = ']';
  return body;
}

void ParsedReview(benchmark::State& state, const std::string& item) {
  const std::string body = Body(item);
  std::size_t parsed = 0;
  for (auto _ : state) {
    const std::size_t before = HeapInUse();
    auto doc = ParseJson(body, "review", admission::kReviewLimits);
    if (!doc) {
      state.SkipWithError(doc.error().message.c_str());
      return;
    }
    parsed = HeapInUse() - before;
    benchmark::DoNotOptimize(doc);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
  state.counters["parsed_bytes"] = static_cast<double>(parsed);
  state.counters["limit_bytes"] = static_cast<double>(admission::kMaxParsedReviewBytes);
}

BENCHMARK_CAPTURE(ParsedReview, empty_objects, std::string("{}"))->Iterations(3);
BENCHMARK_CAPTURE(ParsedReview, empty_arrays, std::string("[]"))->Iterations(3);
BENCHMARK_CAPTURE(ParsedReview, short_members, std::string(R"({"a":0,"b":0,"c":0,"d":0})"))
    ->Iterations(3);
BENCHMARK_CAPTURE(ParsedReview, short_strings, std::string(R"("")"))->Iterations(3);
BENCHMARK_CAPTURE(ParsedReview, long_keys,
                  std::string(R"({"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":0})"))
    ->Iterations(3);

}  // namespace
}  // namespace discoblocks

BENCHMARK_MAIN();
