// /healthz and /readyz from the state `serve` keeps: a stuck driver pool fails
// liveness; shutting down, or a cache not synced, fails readiness; drivers are
// reported, not required.
#include "operator/probes.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace discoblocks::op {
namespace {

using namespace std::chrono_literals;

TEST(ProbesTest, LivenessFailsWhenTheDriverPoolStopsMakingProgress) {
  WorkerPool pool({"driver workers", 1, 4});
  Probes probes({nullptr, nullptr, &pool, 50ms, {}});
  EXPECT_EQ(probes.Liveness().status, 200);

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  ASSERT_EQ(pool.Submit(
                [&] {
                  started.set_value();
                  released.wait();
                },
                nullptr, WorkerPool::Clock::now() + 1h),
            WorkerPool::SubmitStatus::kQueued);
  started.get_future().wait();
  std::this_thread::sleep_for(100ms);
  const auto stuck = probes.Liveness();
  EXPECT_EQ(stuck.status, 500);
  EXPECT_NE(stuck.body.find("driver workers stuck"), std::string::npos) << stuck.body;
  EXPECT_NE(stuck.body.find("1 of 1 workers busy"), std::string::npos) << stuck.body;

  release.set_value();
  pool.Stop();
  EXPECT_EQ(probes.Liveness().status, 200);
}

TEST(ProbesTest, ReadinessReportsMissingDriversWithoutFailingAndFailsWhenShuttingDown) {
  const testing::TempDir dir;
  drivers::RegistryOptions options;
  options.directory = dir.path() / "no-such-directory";
  const auto registry = drivers::Registry::Load(testing::SharedEngine(), options);
  WorkerPool pool({"driver workers", 2, 8});
  Probes probes({registry.get(), nullptr, &pool, 1h, {}});

  auto ready = probes.Readiness();
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("drivers: 0 loaded, 0 failed ("), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("no-such-directory"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("driver workers: 0 busy of 2, 0 queued of 8"), std::string::npos)
      << ready.body;

  probes.BeginShutdown();
  ready = probes.Readiness();
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("shutting down"), std::string::npos) << ready.body;
  EXPECT_EQ(probes.Liveness().status, 200) << "draining is not dying";
}

TEST(ProbesTest, ReadinessWaitsForEveryCacheGiven) {
  // An informer that is never started never syncs.
  kube::ClientConfig config;
  config.server = "https://127.0.0.1:1";
  auto client = kube::Client::Create(config);
  ASSERT_TRUE(client.ok()) << client.error().message;
  const kube::Informer never_synced(*client, kube::resources::kDiskConfigs, {});
  Probes probes({nullptr, nullptr, nullptr, 1h, {{"diskconfigs", &never_synced}}});
  const auto ready = probes.Readiness();
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("diskconfigs: not synced"), std::string::npos) << ready.body;
}

}  // namespace
}  // namespace discoblocks::op
