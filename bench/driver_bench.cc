// Driver-call figures (Google Benchmark). Run from a Release build (bench/run.sh):
//   build-release/bin/driver_bench
// Each driver runs as the operator runs it: ABI v2 drivers from their
// pre-initialized snapshot ("v2-snapshot"). Side by side, for IsStorageClassValid,
// the same v2 binaries with the initializer run at every call ("v2",
// --no-preinit) and the ABI v1 builds of ebs and pd (build/drivers-v1, "v1").
// With DISCOBLOCKS_BENCH_WIZER_DRIVERS=<dir> (made by bench/wizer-snapshots.sh),
// the same drivers snapshotted by Wizer instead of our PreInitialize
// ("v2-wizer"), for the evaluation in docs/performance.md.
// - Call/<mode>/<provisioner>/<function>: one call end to end (fresh store and
//   instance, initializer unless from a snapshot, function, outcome). Counters:
//   p50_us and p99_us over every call of the run; where the time went (setup_us:
//   store and WASI context, instantiate_us, initialize_us: _initialize/_start,
//   call_us: the function, teardown_us: dropping instance and store, host_us:
//   building the inputs and interpreting the output);
//   memory_kib: the instance's linear memory at the end of the call, i.e. what one
//   call in flight holds.
// - Throughput/<mode>/<provisioner>/threads:N: IsStorageClassValid calls per
//   second (items_per_second) on 1 thread and on every core.
// - Compile/<provisioner>: compiling the module (what the module cache saves).
// - Preinitialize/<provisioner>: making a v2 driver's snapshot (initializer run,
//   rewrite and two compiles; what the module cache saves).
// - ResidentWithAllDriversLoaded: the process's resident memory.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_support.h"
#include "drivers/registry.h"
#include "util/document.h"
#include "util/files.h"
#include "wasm/module.h"
#include "wasm/preinit.h"

namespace discoblocks {
namespace {

using std::chrono::duration;
using std::chrono::nanoseconds;

constexpr const char* kDriversDir = DISCOBLOCKS_BENCH_DRIVERS_DIR;
constexpr const char* kFixturesDir = DISCOBLOCKS_BENCH_FIXTURES_DIR;

// Engine settings under comparison, from the environment:
//   DISCOBLOCKS_BENCH_POOLING=0      the on-demand allocator instead of the pool
//   DISCOBLOCKS_BENCH_OPT_LEVEL=...  speed (default), speed_and_size or none
//   DISCOBLOCKS_BENCH_KEEP_RESIDENT=N  bytes of each pooled memory kept resident
//   DISCOBLOCKS_BENCH_TABLE_KEEP_RESIDENT=N  the same for each pooled table
std::shared_ptr<wasm::Engine> Engine() {
  static auto engine = [] {
    wasm::EngineOptions options;
    // NOLINTBEGIN(concurrency-mt-unsafe): read before any benchmark thread starts
    if (const char* pooling = std::getenv("DISCOBLOCKS_BENCH_POOLING")) {
      options.pooling_allocator = std::string(pooling) != "0";
    }
    if (const char* level = std::getenv("DISCOBLOCKS_BENCH_OPT_LEVEL")) options.opt_level = level;
    if (const char* keep = std::getenv("DISCOBLOCKS_BENCH_KEEP_RESIDENT")) {
      options.keep_resident_bytes = std::stoul(keep);
    }
    if (const char* keep = std::getenv("DISCOBLOCKS_BENCH_TABLE_KEEP_RESIDENT")) {
      options.table_keep_resident_bytes = std::stoul(keep);
    }
    // NOLINTEND(concurrency-mt-unsafe)
    auto created = wasm::Engine::Create(options);
    if (!created) {
      std::fprintf(stderr, "%s\n", created.error().message.c_str());
      std::exit(2);
    }
    return std::move(created).value();
  }();
  return engine;
}

enum class Mode { kSnapshot, kV2, kV1, kWizer };
constexpr std::array<Mode, 4> kModes{Mode::kSnapshot, Mode::kV2, Mode::kV1, Mode::kWizer};

// Where a mode's drivers are; empty for the Wizer mode unless asked for.
std::filesystem::path DriversDirectory(Mode mode) {
  switch (mode) {
    case Mode::kV1:
      return std::filesystem::path(kDriversDir).parent_path() / "drivers-v1";
    case Mode::kWizer: {
      // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any benchmark thread starts
      const char* directory = std::getenv("DISCOBLOCKS_BENCH_WIZER_DRIVERS");
      return directory == nullptr ? std::filesystem::path() : std::filesystem::path(directory);
    }
    case Mode::kSnapshot:
    case Mode::kV2:
      break;
  }
  return kDriversDir;
}

std::string ModeName(Mode mode) {
  switch (mode) {
    case Mode::kSnapshot:
      return "v2-snapshot";
    case Mode::kV2:
      return "v2";
    case Mode::kV1:
      return "v1";
    case Mode::kWizer:
      return "v2-wizer";
  }
  return "?";
}

const drivers::Registry& Registry(Mode mode) {
  static std::array<std::unique_ptr<drivers::Registry>, kModes.size()> registries;
  static std::once_flag once;
  std::call_once(once, [] {
    for (Mode each : kModes) {
      drivers::RegistryOptions options;
      options.directory = DriversDirectory(each);
      if (options.directory.empty()) continue;
      // A Wizer snapshot has no initializer left: it runs as it is.
      options.preinitialize = each == Mode::kSnapshot;
      registries[static_cast<std::size_t>(each)] = drivers::Registry::Load(Engine(), options);
    }
  });
  return *registries[static_cast<std::size_t>(mode)];
}

nlohmann::json Fixture(const std::string& relative) {
  const std::string path = std::string(kFixturesDir) + "/" + relative;
  return std::move(ParseDocument(std::move(ReadFile(path)).value(), path)).value();
}

// Inputs that every function of `provisioner` accepts, from the test fixtures.
drivers::CallInputs InputsFor(const std::string& provisioner) {
  const bool gke = provisioner == "pd.csi.storage.gke.io";
  drivers::CallInputs inputs;
  inputs.storage_class =
      Fixture(provisioner == "csi.storageos.com" ? "storageclasses/storageos.yaml"
              : gke                              ? "storageclasses/gke-pd-balanced.yaml"
                                                 : "storageclasses/ebs-gp3.yaml");
  inputs.node = Fixture(gke ? "nodes/node-gke-europe-west1-b.yaml" : "nodes/node-eu-west-1a.yaml");
  inputs.persistent_volume =
      Fixture(gke ? "persistentvolumes/gke-pv.yaml" : "persistentvolumes/ebs-pv.yaml");
  inputs.volume_attachment = Fixture("volumeattachments/ebs-va.yaml");
  inputs.pvc_name = "data-0";
  inputs.pvc_namespace = "default";
  inputs.storage_class_name = "fast";
  return inputs;
}

// Minor page faults of this thread so far.
long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

double Micros(nanoseconds value) { return duration<double, std::micro>(value).count(); }

double Percentile(std::vector<double>& values, double fraction) {
  if (values.empty()) return 0;
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

void BM_Call(benchmark::State& state, Mode mode, const std::string& provisioner,
             drivers::Function function) {
  const auto driver = Registry(mode).Find(provisioner);
  const drivers::CallInputs inputs = InputsFor(provisioner);
  std::vector<double> totals;
  wasm::RunPhases phases;
  nanoseconds outcome_time{0};
  std::uint64_t memory = 0;
  const long faults_before = MinorFaults();
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    const drivers::Outcome outcome = driver->Call(function, inputs);
    const nanoseconds total = std::chrono::steady_clock::now() - started;
    if (!outcome.ok()) {
      state.SkipWithError(outcome.reason.c_str());
      break;
    }
    totals.push_back(Micros(total));
    phases.setup += outcome.phases.setup;
    phases.instantiate += outcome.phases.instantiate;
    phases.initialize += outcome.phases.initialize;
    phases.call += outcome.phases.call;
    phases.teardown += outcome.phases.teardown;
    outcome_time += total - outcome.duration;
    memory = outcome.memory_bytes;
  }
  const double calls = std::max<double>(1, static_cast<double>(totals.size()));
  state.counters["p50_us"] = Percentile(totals, 0.50);
  state.counters["p99_us"] = Percentile(totals, 0.99);
  state.counters["setup_us"] = Micros(phases.setup) / calls;
  state.counters["instantiate_us"] = Micros(phases.instantiate) / calls;
  state.counters["initialize_us"] = Micros(phases.initialize) / calls;
  state.counters["call_us"] = Micros(phases.call) / calls;
  state.counters["teardown_us"] = Micros(phases.teardown) / calls;
  state.counters["host_us"] = Micros(outcome_time) / calls;
  state.counters["memory_kib"] = static_cast<double>(memory) / 1024.0;
  state.counters["page_faults"] = static_cast<double>(MinorFaults() - faults_before) / calls;
}

void BM_Throughput(benchmark::State& state, Mode mode, const std::string& provisioner) {
  const auto driver = Registry(mode).Find(provisioner);
  const drivers::CallInputs input = InputsFor(provisioner);
  for (auto _ : state) {
    const drivers::Outcome outcome = driver->Call(drivers::Function::kIsStorageClassValid, input);
    if (outcome.kind != drivers::OutcomeKind::kValid) {
      state.SkipWithError(outcome.reason.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
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

void BM_Preinitialize(benchmark::State& state, const std::string& provisioner) {
  const std::string bytes =
      std::move(ReadFile(std::string(kDriversDir) + "/" + provisioner + "/main.wasm")).value();
  for (auto _ : state) {
    auto snapshot = wasm::PreInitialize(Engine(), bytes, wasm::Limits{});
    if (!snapshot) {
      state.SkipWithError(snapshot.error().message.c_str());
      break;
    }
    state.counters["initializer_ms"] =
        duration<double, std::milli>(snapshot->initializer_time).count();
    state.counters["compile_ms"] = duration<double, std::milli>(snapshot->compile_time).count();
    state.counters["data_segments"] = static_cast<double>(snapshot->data_segments);
    state.counters["memory_kib"] = static_cast<double>(snapshot->memory_bytes) / 1024.0;
  }
}

void BM_ResidentWithAllDriversLoaded(benchmark::State& state) {
  const auto& registry = Registry(Mode::kSnapshot);
  for (auto _ : state) benchmark::DoNotOptimize(registry.Entries().size());
  state.counters["drivers"] = static_cast<double>(registry.Entries().size());
  state.counters["rss_mib"] = bench::ResidentMiB();
}

void RegisterAll() {
  // First, so that it reads the process as the registries left it.
  benchmark::RegisterBenchmark("ResidentWithAllDriversLoaded", BM_ResidentWithAllDriversLoaded)
      ->Iterations(1);
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  for (Mode mode : kModes) {
    if (DriversDirectory(mode).empty()) continue;
    for (const auto& entry : Registry(mode).Entries()) {
      if (!entry.driver) continue;
      const std::string name = ModeName(mode) + "/" + entry.provisioner;
      for (const auto& spec : drivers::AllFunctions()) {
        // An optional function the driver lacks is never called; the modes
        // other than the operator's are compared on one function.
        if (spec.optional && !entry.driver->Exports(spec.function)) continue;
        if (mode != Mode::kSnapshot && spec.function != drivers::Function::kIsStorageClassValid) {
          continue;
        }
        benchmark::RegisterBenchmark(("Call/" + name + "/" + std::string(spec.name)).c_str(),
                                     BM_Call, mode, entry.provisioner, spec.function)
            ->Unit(benchmark::kMicrosecond);
      }
      benchmark::RegisterBenchmark(("Throughput/" + name).c_str(), BM_Throughput, mode,
                                   entry.provisioner)
          ->Threads(1)
          ->Threads(cores)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      if (mode != Mode::kSnapshot) continue;
      benchmark::RegisterBenchmark(("Compile/" + entry.provisioner).c_str(), BM_Compile,
                                   entry.provisioner)
          ->Unit(benchmark::kMillisecond);
      if (entry.driver->abi() == drivers::Abi::kV2) {
        benchmark::RegisterBenchmark(("Preinitialize/" + entry.provisioner).c_str(),
                                     BM_Preinitialize, entry.provisioner)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
      }
    }
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
