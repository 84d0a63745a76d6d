// Drivers added, replaced, broken and removed while the registry serves calls.
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/registry.h"
#include "support/test_support.h"
#include "util/sha256.h"

namespace discoblocks::drivers {
namespace {

using namespace std::chrono_literals;
using testing::DriversDir;
using testing::SharedEngine;
using testing::TempDir;

constexpr const char* kProvisioner = "x.example.com";
// Two real drivers that answer IsFileSystemManaged differently.
std::filesystem::path GkeModule() { return DriversDir() / "pd.csi.storage.gke.io" / "main.wasm"; }
std::filesystem::path EbsModule() { return DriversDir() / "ebs.csi.aws.com" / "main.wasm"; }

const WatchOptions kFastWatch{.rescan_interval = 200ms, .settle_time = 100ms};

// Writes `bytes` to `path` the way deployment tools should: a temporary file in
// the same folder, then a rename over the old one.
void ReplaceAtomically(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  const auto temporary = path.parent_path() / ".main.wasm.tmp";
  std::ofstream(temporary, std::ios::binary) << bytes;
  std::filesystem::rename(temporary, path);
}

// Polls `condition` until it holds or `limit` passes.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Calls the driver from several threads until stopped, recording every outcome
// with the test's phase when the call started and ended.
class LoadGenerator {
 public:
  LoadGenerator(const Registry& registry, int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, &registry](const std::stop_token& stop) {
        while (!stop.stop_requested()) {
          const int started = phase.load();
          const Outcome outcome =
              registry.Call(kProvisioner, Function::kIsFileSystemManaged, CallInputs{});
          Record(started, phase.load(), outcome);
        }
      });
    }
  }
  ~LoadGenerator() { Stop(); }
  void Stop() { threads_.clear(); }

  // How many calls answered `value` (e.g. "true") or failed with `cause`.
  int Answers(const std::string& value) {
    const std::lock_guard lock(mutex_);
    return answers_[value];
  }
  // Failures whose call ran entirely within phases where the driver must answer.
  std::vector<std::string> UnexpectedFailures() {
    const std::lock_guard lock(mutex_);
    return unexpected_;
  }

  std::atomic<int> phase{0};  // 0: not added yet; 1..3: must answer; 4: being removed

 private:
  void Record(int started, int ended, const Outcome& outcome) {
    const std::lock_guard lock(mutex_);
    if (outcome.ok()) {
      ++answers_[outcome.result.dump()];
    } else {
      ++answers_[std::string(ErrorCauseName(outcome.cause))];
      if (started >= 1 && ended <= 3) {
        unexpected_.push_back(fmt::format("phase {}..{}: {}", started, ended, outcome.reason));
      }
    }
  }

  std::mutex mutex_;
  std::map<std::string, int> answers_;
  std::vector<std::string> unexpected_;
  std::vector<std::jthread> threads_;
};

TEST(RegistryReloadTest, AddReplaceBreakAndRemoveWhileCalledFromSeveralThreads) {
  TempDir dir;
  RegistryOptions options;
  options.directory = dir.path();
  auto registry = Registry::Load(SharedEngine(), options);
  ASSERT_TRUE(registry->StartWatching(kFastWatch));
  LoadGenerator load(*registry, 4);
  const auto module = dir.path() / kProvisioner / "main.wasm";

  // Added: a new folder becomes callable.
  ReplaceAtomically(module, testing::ReadBytes(GkeModule()));
  ASSERT_TRUE(Eventually([&] { return registry->Find(kProvisioner) != nullptr; }));
  load.phase = 1;
  ASSERT_TRUE(Eventually([&] { return load.Answers("true") > 20; }));

  // Replaced: calls switch to the new behaviour.
  ReplaceAtomically(module, testing::ReadBytes(EbsModule()));
  ASSERT_TRUE(Eventually([&] { return load.Answers("false") > 20; }));
  load.phase = 2;
  const auto ebs = registry->Find(kProvisioner);
  ASSERT_NE(ebs, nullptr);
  EXPECT_EQ(registry->Entry(kProvisioner)->versions_loaded, 2U);

  // Broken replacement: the working version keeps answering, the failure is reported.
  ReplaceAtomically(module, "this is not WebAssembly");
  ASSERT_TRUE(Eventually([&] { return !registry->Entry(kProvisioner)->last_load_error.empty(); }));
  load.phase = 3;
  const int before = load.Answers("false");
  ASSERT_TRUE(Eventually([&] { return load.Answers("false") > before + 20; }));
  const auto entry = registry->Entry(kProvisioner);
  EXPECT_EQ(entry->state, DriverState::kLoaded);
  EXPECT_EQ(entry->driver, ebs);
  EXPECT_EQ(entry->load_failures, 1U);
  EXPECT_NE(entry->last_load_error.find("does not compile"), std::string::npos)
      << entry->last_load_error;

  // Removed: calls get a clear "no driver" error.
  load.phase = 4;
  std::filesystem::remove_all(dir.path() / kProvisioner);
  ASSERT_TRUE(Eventually([&] { return !registry->Entry(kProvisioner).has_value(); }));
  const Outcome gone = registry->Call(kProvisioner, Function::kIsFileSystemManaged, {});
  EXPECT_EQ(gone.cause, ErrorCause::kNoDriver);
  EXPECT_EQ(gone.reason, "no driver for x.example.com");
  load.Stop();

  EXPECT_TRUE(load.UnexpectedFailures().empty())
      << load.UnexpectedFailures().size()
      << " calls failed, first: " << load.UnexpectedFailures().front();
  // The old version kept serving while the broken one was refused.
  EXPECT_EQ(ebs->sha256(), Sha256Hex(testing::ReadBytes(EbsModule())));
}

TEST(RegistryReloadTest, AModuleWrittenSlowlyIsLoadedOnlyWhenComplete) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / kProvisioner);
  RegistryOptions options;
  options.directory = dir.path();
  auto registry = Registry::Load(SharedEngine(), options);
  ASSERT_TRUE(registry->StartWatching({.rescan_interval = 50ms, .settle_time = 1s}));

  // Written in place, in 8 chunks 100 ms apart: the watch sees every chunk.
  const std::string bytes = testing::ReadBytes(GkeModule());
  {
    std::ofstream out(dir.path() / kProvisioner / "main.wasm", std::ios::binary);
    const std::size_t chunk = bytes.size() / 8 + 1;
    for (std::size_t offset = 0; offset < bytes.size(); offset += chunk) {
      out.write(bytes.data() + offset,
                static_cast<std::streamsize>(std::min(chunk, bytes.size() - offset)));
      out.flush();
      std::this_thread::sleep_for(100ms);
      // Never a failed load of a partial file.
      const auto entry = registry->Entry(kProvisioner);
      ASSERT_TRUE(!entry || entry->load_failures == 0) << entry->last_load_error;
      ASSERT_TRUE(!entry || entry->state != DriverState::kLoaded);
    }
  }
  ASSERT_TRUE(Eventually([&] { return registry->Find(kProvisioner) != nullptr; }));
  const auto entry = registry->Entry(kProvisioner);
  EXPECT_EQ(entry->load_failures, 0U);
  EXPECT_EQ(entry->versions_loaded, 1U);
  EXPECT_EQ(entry->driver->sha256(), Sha256Hex(testing::ReadBytes(GkeModule())));
}

TEST(RegistryReloadTest, RescanWithoutWatchingPicksUpChanges) {
  TempDir dir;
  RegistryOptions options;
  options.directory = dir.path();
  auto registry = Registry::Load(SharedEngine(), options);
  EXPECT_TRUE(registry->Entries().empty());
  dir.CopyDriver(kProvisioner, GkeModule());
  // A changed folder must look the same twice, settle_time apart.
  WatchOptions settle;
  settle.settle_time = 50ms;
  const auto again = registry->Rescan(settle);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(registry->Find(kProvisioner), nullptr);
  std::this_thread::sleep_for(*again);
  EXPECT_FALSE(registry->Rescan(settle).has_value());
  EXPECT_NE(registry->Find(kProvisioner), nullptr);
}

}  // namespace
}  // namespace discoblocks::drivers
