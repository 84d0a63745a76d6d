// Many threads calling the same and different drivers at once get the same
// answers they would get alone.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/typed_calls.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::BundledDrivers;
using testing::Fixture;

TEST(ConcurrencyTest, ParallelCallsStayCorrect) {
  struct Expectation {
    std::string provisioner;
    nlohmann::json storage_class;
    OutcomeKind kind;
    std::string reason;
  };
  const std::vector<Expectation> expectations{
      {"ebs.csi.aws.com", Fixture("storageclasses/ebs-gp3.yaml"), OutcomeKind::kValid, ""},
      {"ebs.csi.aws.com", Fixture("storageclasses/ebs-immediate.yaml"), OutcomeKind::kInvalid,
       "only volumeBindingMode WaitForFirstConsumer is supported"},
      {"csi.storageos.com", Fixture("storageclasses/storageos-wffc.yaml"), OutcomeKind::kInvalid,
       "only volumeBindingMode Immediate is supported"},
      {"pd.csi.storage.gke.io", Fixture("storageclasses/gke-pd-balanced.yaml"), OutcomeKind::kValid,
       ""},
  };
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 24;
  std::atomic<int> wrong{0};
  std::atomic<int> done{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Threads start at different expectations so that the same and different
        // drivers run side by side.
        const Expectation& expected = expectations[(t + i) % expectations.size()];
        const auto driver = BundledDrivers().Find(expected.provisioner);
        const Outcome outcome = IsStorageClassValid(*driver, expected.storage_class);
        if (outcome.kind != expected.kind || outcome.reason != expected.reason) {
          ++wrong;
          failures[t] = expected.provisioner + ": " + std::string(OutcomeName(outcome.kind)) + " " +
                        outcome.reason;
        }
        ++done;
      }
    });
  }
  threads.clear();
  EXPECT_EQ(done.load(), kThreads * kCallsPerThread);
  EXPECT_EQ(wrong.load(), 0);
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
}

TEST(ConcurrencyTest, AHostileCallDoesNotDisturbOthersRunningAtTheSameTime) {
  testing::TempDir dir;
  dir.CopyDriver("loop.example.com", testing::HostileDir() / "loop_in_function.wasm");
  RegistryOptions options;
  options.directory = dir.path();
  auto registry = Registry::Load(testing::SharedEngine(), options);
  CallOptions short_limit;
  short_limit.limits.time = std::chrono::milliseconds(400);
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::object();
  std::jthread spinner([&] {
    const Outcome outcome =
        registry->Call("loop.example.com", Function::kIsStorageClassValid, inputs, short_limit);
    EXPECT_EQ(outcome.cause, ErrorCause::kTimeLimit);
  });
  const auto driver = BundledDrivers().Find("pd.csi.storage.gke.io");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(IsStorageClassValid(*driver, Fixture("storageclasses/gke-pd-balanced.yaml")).kind,
              OutcomeKind::kValid);
  }
}

}  // namespace
}  // namespace discoblocks::drivers
