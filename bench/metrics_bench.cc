// The metrics registry (src/util/metrics.h): what the hot path pays per event
// and what a scrape of /metrics costs (Google Benchmark). Run from a Release
// build:
//   build-release/bench/metrics_bench
//
// - CounterIncrement/threads:N: one Increment of a counter with three labels, as the
//   webhook does per admission (label values from a fixed set, series already there).
// - CounterIncrementKeptSeries/threads:N: the same on prometheus-cpp's counter directly,
//   the series kept by the caller: the floor under the one above.
// - HistogramObserve/threads:N: one Observe of a latency histogram (14 bounds), one label.
// - Render/<drivers>: rendering the whole registry, shaped like the operator's: the
//   admission counter and histogram, driver calls by provisioner x function x outcome,
//   call latencies by provisioner x function, and per-driver gauges, for 3 and 30
//   drivers; reports the text size too.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "util/metrics.h"

namespace discoblocks {
namespace {

const std::vector<std::string> kFunctions = {"IsStorageClassValid",   "GetPVCStub",
                                             "GetCSIDriverNamespace", "GetCSIDriverPodLabels",
                                             "GetMountCommand",       "GetExpandCommand"};
const std::vector<std::string> kOutcomes = {"valid", "invalid", "error", "timeout"};

void CounterIncrement(benchmark::State& state) {
  static metrics::Registry registry;
  static auto& requests = registry.Counter("requests_total", "Requests.");
  const std::string endpoint = "/validate-discoblocks-ondat-io-v1-diskconfig";
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    requests.Increment({{"endpoint", endpoint}, {"operation", "CREATE"}, {"result", "allowed"}});
  }
}
BENCHMARK(CounterIncrement)->Threads(1)->Threads(2);

// The floor under CounterIncrement: prometheus-cpp's own counter, its series
// looked up once and kept by the caller. The difference is what naming the
// series at every event costs (building the labels, the family's map, a lock).
void CounterIncrementKeptSeries(benchmark::State& state) {
  static prometheus::Registry registry;
  static auto& requests = prometheus::BuildCounter()
                              .Name("requests_total")
                              .Help("Requests.")
                              .Register(registry)
                              .Add({{"endpoint", "/validate-discoblocks-ondat-io-v1-diskconfig"},
                                    {"operation", "CREATE"},
                                    {"result", "allowed"}});
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    requests.Increment();
  }
}
BENCHMARK(CounterIncrementKeptSeries)->Threads(1)->Threads(2);

void HistogramObserve(benchmark::State& state) {
  static metrics::Registry registry;
  static auto& latency = registry.Histogram("latency_seconds", "Latency.");
  const std::string endpoint = "/validate-discoblocks-ondat-io-v1-diskconfig";
  double value = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    latency.Observe({{"endpoint", endpoint}}, value);
    value = value > 1 ? 0 : value + 0.0137;
  }
}
BENCHMARK(HistogramObserve)->Threads(1)->Threads(2);

void Render(benchmark::State& state) {
  metrics::Registry registry;
  auto& requests = registry.Counter("discoblocks_admission_requests_total", "Requests.");
  auto& latency = registry.Histogram("discoblocks_admission_duration_seconds", "Latency.");
  auto& calls = registry.Counter("discoblocks_driver_calls_total", "Driver calls.");
  auto& call_latency = registry.Histogram("discoblocks_driver_call_duration_seconds", "Calls.");
  auto& info = registry.Gauge("discoblocks_driver_info", "Drivers.");
  auto& loaded_at = registry.Gauge("discoblocks_driver_loaded_timestamp_seconds", "Loaded.");
  const std::string endpoint = "/validate-discoblocks-ondat-io-v1-diskconfig";
  for (const std::string operation : {"CREATE", "UPDATE", "DELETE", "other"}) {
    for (const std::string result : {"allowed", "denied", "bad_request"}) {
      requests.Increment({{"endpoint", endpoint}, {"operation", operation}, {"result", result}});
    }
  }
  latency.Observe({{"endpoint", endpoint}}, 0.003);
  for (int driver = 0; driver < state.range(0); ++driver) {
    const std::string provisioner = fmt::format("driver-{}.csi.example.com", driver);
    for (const auto& function : kFunctions) {
      for (const auto& outcome : kOutcomes) {
        calls.Increment(
            {{"provisioner", provisioner}, {"function", function}, {"outcome", outcome}});
      }
      call_latency.Observe({{"provisioner", provisioner}, {"function", function}}, 0.0004);
    }
    info.Set({{"provisioner", provisioner}, {"state", "loaded"}, {"sha256", std::string(64, 'a')}},
             1);
    loaded_at.Set({{"provisioner", provisioner}}, 1.7e9);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    const std::string text = registry.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(Render)->Arg(3)->Arg(30)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace discoblocks

BENCHMARK_MAIN();
