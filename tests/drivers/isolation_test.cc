// Calls started from a pre-initialized snapshot share nothing: a Go test driver
// (drivers/testing/isolation) checks, at every call, that its package
// variables, zeroed array, heap, map, goroutine, sync.Once and clock are as its
// initializer left them, then dirties all of them and grows memory by 8 MiB.
// Its own Go test shows that a second call in the same instance says "dirty".
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/driver.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::SharedEngine;

std::shared_ptr<const Driver> LoadIsolationDriver(bool preinitialize) {
  LoadOptions options;
  options.preinitialize = preinitialize;
  // build/test-drivers: drivers built for tests only, never bundled.
  const auto folder =
      testing::DriversDir().parent_path() / "test-drivers" / "isolation.test.discoblocks.dev";
  auto driver = Driver::Load(SharedEngine(), "isolation.test.discoblocks.dev", folder, options);
  EXPECT_TRUE(driver.ok()) << (driver.ok() ? "" : driver.error().message);
  return driver.ok() ? driver.value() : nullptr;
}

// "clean <nonce>" when the call started from the initializer's state; what
// went wrong otherwise.
std::string Probe(const Driver& driver, const std::string& nonce) {
  CallInputs inputs;
  inputs.storage_class = {{"apiVersion", "storage.k8s.io/v1"},
                          {"kind", "StorageClass"},
                          {"metadata", {{"name", nonce}}},
                          {"provisioner", "isolation.test.discoblocks.dev"}};
  const Outcome outcome = driver.Call(Function::kIsStorageClassValid, inputs);
  if (outcome.kind != OutcomeKind::kValid) {
    return std::string(OutcomeName(outcome.kind)) + ": " + outcome.reason;
  }
  return outcome.warnings.size() == 1 ? outcome.warnings[0] : "warnings: " + outcome.reason;
}

TEST(IsolationTest, SequentialCallsFromTheSnapshotSeeNoneOfEachOthersWrites) {
  const auto driver = LoadIsolationDriver(true);
  ASSERT_NE(driver, nullptr);
  ASSERT_TRUE(driver->preinit().preinitialized) << driver->preinit().not_preinitialized;
  for (int i = 0; i < 300; ++i) {
    const std::string nonce = "seq-" + std::to_string(i);
    ASSERT_EQ(Probe(*driver, nonce), "clean " + nonce) << "call " << i;
  }
}

TEST(IsolationTest, ConcurrentCallsFromTheSnapshotSeeNoneOfEachOthersWrites) {
  const auto driver = LoadIsolationDriver(true);
  ASSERT_NE(driver, nullptr);
  ASSERT_TRUE(driver->preinit().preinitialized) << driver->preinit().not_preinitialized;
  constexpr int kThreads = 16;
  constexpr int kCallsEach = 50;
  std::vector<std::vector<std::string>> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string nonce = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::string answer = Probe(*driver, nonce);
        if (answer != "clean " + nonce) failures[t].push_back(nonce + ": " + answer);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_TRUE(failures[t].empty()) << failures[t].front();
}

// The probe itself, run the old way (initializer at every call), is clean too:
// what the snapshot tests see is the snapshot's doing.
TEST(IsolationTest, WithoutTheSnapshotEveryCallIsCleanToo) {
  const auto driver = LoadIsolationDriver(false);
  ASSERT_NE(driver, nullptr);
  EXPECT_FALSE(driver->preinit().preinitialized);
  for (int i = 0; i < 3; ++i) {
    const std::string nonce = "plain-" + std::to_string(i);
    EXPECT_EQ(Probe(*driver, nonce), "clean " + nonce);
  }
}

}  // namespace
}  // namespace discoblocks::drivers
