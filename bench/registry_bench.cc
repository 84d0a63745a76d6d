// Start-up, memory and reload figures for the driver registry (Google Benchmark).
// Run from a Release build (bench/run.sh does):
//   build-release/bin/registry_bench
//
// - StartUp/<drivers>/<cache>: loading a directory of 1, 10 or 50 drivers, round-robin
//   copies of the three bundled ones made distinct by a custom section (so each has its
//   own digest and is compiled on its own), with cache 0 = none, 1 = cold (empty cache
//   directory: compile and write), 2 = warm (every entry present). Wall clock per load,
//   and the process's resident memory with that registry loaded (rss_mib).
// - ReloadLatency/<settle_ms>: from renaming a new main.wasm into a watched folder to
//   the new version serving, with the default settle time (1000 ms) and none.
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "bench_support.h"
#include "drivers/module_cache.h"
#include "drivers/registry.h"
#include "util/files.h"
#include "util/sha256.h"

namespace discoblocks {
namespace {

namespace fs = std::filesystem;
constexpr const char* kDriversDir = DISCOBLOCKS_BENCH_DRIVERS_DIR;
constexpr std::array<const char*, 3> kBundled = {"pd.csi.storage.gke.io", "ebs.csi.aws.com",
                                                 "csi.storageos.com"};

std::shared_ptr<wasm::Engine> Engine() {
  static auto engine = std::move(wasm::Engine::Create()).value();
  return engine;
}

// The module with a custom section named `tag` appended: same code, another digest.
std::string Tagged(const std::string& module, const std::string& tag) {
  std::string section;
  section += static_cast<char>(tag.size());  // name length (< 128: one LEB128 byte)
  section += tag;
  return module + '\0' + static_cast<char>(section.size()) + section;
}

std::string Bundled(const char* provisioner) {
  return std::move(ReadFile(fs::path(kDriversDir) / provisioner / "main.wasm")).value();
}

void WriteModule(const fs::path& folder, const std::string& bytes) {
  fs::create_directories(folder);
  const auto temporary = folder / ".main.wasm.tmp";
  std::ofstream(temporary, std::ios::binary) << bytes;
  fs::rename(temporary, folder / "main.wasm");
}

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(fs::temp_directory_path() /
              fmt::format("discoblocks-bench-{}-{}", name, ::getpid())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void BM_StartUp(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const auto count = static_cast<int>(state.range(0));
  const auto cache_mode = state.range(1);  // 0 none, 1 cold, 2 warm
  ScratchDir drivers("drivers");
  for (int i = 0; i < count; ++i) {
    const char* source = kBundled.at(static_cast<std::size_t>(i) % kBundled.size());
    WriteModule(drivers.path() / fmt::format("copy-{}.example.com", i),
                Tagged(Bundled(source), fmt::format("bench-copy-{}", i)));
  }
  ScratchDir caches("cache");
  drivers::RegistryOptions options;
  options.directory = drivers.path();
  const auto open_cache = [&](const std::string& name) {
    return std::shared_ptr<drivers::ModuleCache>(
        std::move(drivers::ModuleCache::Open(caches.path() / name)).value());
  };
  if (cache_mode == 2) {
    options.module_cache = open_cache("warm");
    (void)drivers::Registry::Load(Engine(), options);  // fills it
  }
  int round = 0;
  double rss = 0;
  for (auto _ : state) {
    if (cache_mode == 1) options.module_cache = open_cache(fmt::format("cold-{}", round++));
    auto registry = drivers::Registry::Load(Engine(), options);
    rss = bench::ResidentMiB();
    state.PauseTiming();
    for (const auto& entry : registry->Entries()) {
      if (entry.state != drivers::DriverState::kLoaded) state.SkipWithError(entry.reason.c_str());
    }
    registry.reset();
    state.ResumeTiming();
  }
  state.counters["rss_mib"] = rss;
  if (options.module_cache) {
    state.counters["cache_hits"] = static_cast<double>(options.module_cache->hits());
  }
}
BENCHMARK(BM_StartUp)
    ->ArgNames({"drivers", "cache"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({10, 2})
    ->Args({50, 0})
    ->Args({50, 1})
    ->Args({50, 2})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ReloadLatency(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const std::chrono::milliseconds settle(state.range(0));
  ScratchDir drivers("reload");
  const auto folder = drivers.path() / "x.example.com";
  const std::string base = Bundled("pd.csi.storage.gke.io");
  WriteModule(folder, base);
  drivers::RegistryOptions options;
  options.directory = drivers.path();
  auto registry = drivers::Registry::Load(Engine(), options);
  drivers::WatchOptions watch;
  watch.settle_time = settle;
  if (!registry->StartWatching(watch)) state.SkipWithError("cannot watch");
  int version = 0;
  for (auto _ : state) {
    const std::string next = Tagged(base, fmt::format("version-{}", ++version));
    const std::string digest = Sha256Hex(next);
    WriteModule(folder, next);
    while (registry->Find("x.example.com")->sha256() != digest) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}
BENCHMARK(BM_ReloadLatency)
    ->ArgName("settle_ms")
    ->Arg(1000)
    ->Arg(0)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace discoblocks

BENCHMARK_MAIN();
