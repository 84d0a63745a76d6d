// Driver-call and load figures (Google Benchmark). Run from a Release build:
//   build/bin/driver_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Reports per bundled driver: one IsStorageClassValid call end to end (fresh
// store and instance, initializer, call, outcome), the compile time of its
// module, and the resident memory of the process with every driver loaded.
#include <fstream>
#include <string>

#include <benchmark/benchmark.h>

#include "drivers/registry.h"
#include "drivers/typed_calls.h"
#include "util/document.h"
#include "util/files.h"
#include "wasm/module.h"

namespace discoblocks {
namespace {

constexpr const char* kDriversDir = DISCOBLOCKS_BENCH_DRIVERS_DIR;
constexpr const char* kFixturesDir = DISCOBLOCKS_BENCH_FIXTURES_DIR;

std::shared_ptr<wasm::Engine> Engine() {
  static auto engine = std::move(wasm::Engine::Create()).value();
  return engine;
}

const drivers::Registry& Registry() {
  static auto registry = [] {
    drivers::RegistryOptions options;
    options.directory = kDriversDir;
    return drivers::Registry::Load(Engine(), options);
  }();
  return *registry;
}

// Resident set size of this process, from /proc/self/status.
double ResidentMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

nlohmann::json StorageClassFor(const std::string& provisioner) {
  const char* fixture = provisioner == "csi.storageos.com" ? "storageclasses/storageos.yaml"
                        : provisioner == "pd.csi.storage.gke.io"
                            ? "storageclasses/gke-pd-balanced.yaml"
                            : "storageclasses/ebs-gp3.yaml";
  const std::string path = std::string(kFixturesDir) + "/" + fixture;
  return std::move(ParseDocument(std::move(ReadFile(path)).value(), path)).value();
}

void BM_IsStorageClassValid(benchmark::State& state, const std::string& provisioner) {
  const auto driver = Registry().Find(provisioner);
  const nlohmann::json storage_class = StorageClassFor(provisioner);
  for (auto _ : state) {
    const drivers::Outcome outcome = drivers::IsStorageClassValid(*driver, storage_class);
    if (outcome.kind != drivers::OutcomeKind::kValid) {
      state.SkipWithError(outcome.reason.c_str());
      break;
    }
  }
}

void BM_Compile(benchmark::State& state, const std::string& provisioner) {
  const std::string bytes =
      std::move(ReadFile(std::string(kDriversDir) + "/" + provisioner + "/main.wasm")).value();
  for (auto _ : state) {
    auto module = wasm::Module::Compile(Engine(), bytes);
    benchmark::DoNotOptimize(module);
  }
  state.counters["module_kib"] = static_cast<double>(bytes.size()) / 1024.0;
}

void BM_ResidentWithAllDriversLoaded(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Registry().Entries().size());
  state.counters["drivers"] = static_cast<double>(Registry().Entries().size());
  state.counters["rss_mib"] = ResidentMiB();
}

void RegisterAll() {
  // First, so that it reads the process as the registry left it.
  benchmark::RegisterBenchmark("ResidentWithAllDriversLoaded", BM_ResidentWithAllDriversLoaded)
      ->Iterations(1);
  for (const auto& entry : Registry().Entries()) {
    if (!entry.driver) continue;
    benchmark::RegisterBenchmark(("IsStorageClassValid/" + entry.provisioner).c_str(),
                                 BM_IsStorageClassValid, entry.provisioner)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("Compile/" + entry.provisioner).c_str(), BM_Compile,
                                 entry.provisioner)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace discoblocks

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  discoblocks::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
