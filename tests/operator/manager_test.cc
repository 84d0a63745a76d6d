// The manager with a fake elector and a fake API server: controllers run only
// while leading; losing the lease returns only once the running reconcile
// returned; a new term makes new controllers that look at every cached object
// again; without election they run from Start. Webhook routing, and the
// caches' options.
#include "operator/manager.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "admission/pod_webhook.h"
#include "admission/webhook.h"
#include "operator/cache_indexes.h"
#include "support/fake_http_server.h"
#include "support/gate.h"

namespace discoblocks::op {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeHttpServer;
using testing::Gate;

// Counts reconciles per key; a test waits (bounded) for a count.
class Calls {
 public:
  void Record(const std::string& key) {
    {
      const std::lock_guard lock(mutex_);
      ++calls_[key];
    }
    changed_.notify_all();
  }
  bool WaitFor(const std::string& key, int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return calls_[key] >= count; });
  }
  int Count(const std::string& key) {
    const std::lock_guard lock(mutex_);
    return calls_[key];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, int> calls_;
};

// Leads when told to; Stop loses the lease as the real elector does.
class FakeElector final : public Elector {
 public:
  explicit FakeElector(LeaderCallbacks callbacks) : callbacks_(std::move(callbacks)) {}
  void Start() override {}
  void Stop() override {
    if (leading_.exchange(false)) callbacks_.on_stopped_leading();
  }
  [[nodiscard]] bool IsLeader() const override { return leading_; }
  void Win() {
    leading_ = true;
    callbacks_.on_started_leading();
  }
  void Lose() {
    leading_ = false;
    callbacks_.on_stopped_leading();
  }

 private:
  LeaderCallbacks callbacks_;
  std::atomic<bool> leading_{false};
};

// An API server with two StorageClasses whose watches end at once (the
// informer then waits and watches again).
std::string StorageClassServer(const std::string& request_line) {
  if (request_line.find("watch=true") != std::string::npos) {
    return FakeHttpServer::Response(200, "");
  }
  return FakeHttpServer::Response(
      200, R"({"kind":"StorageClassList","metadata":{"resourceVersion":"7"},"items":[)"
           R"({"metadata":{"name":"a","resourceVersion":"6"},"provisioner":"p"},)"
           R"({"metadata":{"name":"b","resourceVersion":"7"},"provisioner":"p"}]})");
}

std::shared_ptr<const kube::Client> ClientFor(const FakeHttpServer& server) {
  kube::ClientConfig config;
  config.server = server.url();
  return std::move(kube::Client::Create(config)).value();
}

struct Fixture {
  explicit Fixture(bool elect) : server(StorageClassServer) {
    ManagerOptions options;
    options.client = ClientFor(server);
    options.record_events = false;
    options.identity = "test";
    if (elect) {
      options.elector = [this](LeaderCallbacks callbacks) -> Result<std::unique_ptr<Elector>> {
        auto fake = std::make_unique<FakeElector>(std::move(callbacks));
        elector = fake.get();
        return std::unique_ptr<Elector>(std::move(fake));
      };
    }
    manager = std::move(Manager::Create(std::move(options))).value();
    ControllerRegistration registration;
    registration.name = "test";
    registration.watches = {{&manager->Informer(kube::resources::kStorageClasses), nullptr}};
    registration.make_reconciler = [this]() -> Reconciler {
      ++terms;
      return [this](const std::string& key) -> Result<ReconcileOutcome> {
        if (key == hold_key && !holding.exchange(true)) {
          held.set_value();
          gate.Wait();
        }
        calls.Record(key);
        return ReconcileOutcome{};
      };
    };
    manager->AddController(std::move(registration));
  }

  ~Fixture() {
    OpenGate();
    manager->Stop();
  }
  void OpenGate() {
    if (!opened.exchange(true)) gate.Open();
  }

  // Declared before the manager, which reconciles into them until it stops.
  FakeHttpServer server;
  Calls calls;
  std::atomic<int> terms{0};
  std::string hold_key;  // the first reconcile of this key waits at `gate`
  std::atomic<bool> holding{false};
  std::promise<void> held;
  Gate gate;
  std::atomic<bool> opened{false};
  FakeElector* elector = nullptr;
  std::unique_ptr<Manager> manager;
};

TEST(ManagerTest, ControllersRunOnlyWhileLeading) {
  Fixture fixture(/*elect=*/true);
  ASSERT_TRUE(fixture.manager->Start().ok());
  ASSERT_NE(fixture.elector, nullptr);
  ASSERT_TRUE(fixture.manager->WaitForCacheSync(30s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fixture.calls.Count("a"), 0);
  EXPECT_FALSE(fixture.manager->Leading());
  EXPECT_EQ(fixture.terms, 0);

  fixture.elector->Win();
  EXPECT_TRUE(fixture.manager->Leading());
  // The new term looks at every cached object, though no change came.
  EXPECT_TRUE(fixture.calls.WaitFor("a", 1));
  EXPECT_TRUE(fixture.calls.WaitFor("b", 1));
  EXPECT_EQ(fixture.terms, 1);
  fixture.manager->Stop();
}

TEST(ManagerTest, LosingTheLeaseReturnsOnlyAfterTheRunningReconcileAndANewTermStartsAfresh) {
  Fixture fixture(/*elect=*/true);
  ASSERT_TRUE(fixture.manager->Start().ok());
  ASSERT_TRUE(fixture.manager->WaitForCacheSync(30s));
  fixture.hold_key = "b";
  fixture.elector->Win();
  fixture.held.get_future().wait();  // "b" is being reconciled, and waits

  std::atomic<bool> lost{false};
  std::thread loser([&] {
    fixture.elector->Lose();
    lost = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(lost) << "on_stopped_leading returned while a reconcile still ran";
  EXPECT_FALSE(fixture.manager->Leading());
  fixture.OpenGate();
  loser.join();
  EXPECT_TRUE(lost);
  const int a_before = fixture.calls.Count("a");

  // Won again: a new controller (a stopped one does not restart).
  fixture.hold_key.clear();
  fixture.elector->Win();
  EXPECT_TRUE(fixture.calls.WaitFor("a", a_before + 1));
  EXPECT_EQ(fixture.terms, 2);
  fixture.manager->Stop();
  EXPECT_FALSE(fixture.manager->Leading());
}

TEST(ManagerTest, WithoutLeaderElectionControllersRunFromStartToStop) {
  Fixture fixture(/*elect=*/false);
  ASSERT_TRUE(fixture.manager->Start().ok());
  EXPECT_TRUE(fixture.manager->Leading());
  EXPECT_TRUE(fixture.calls.WaitFor("a", 1));
  EXPECT_TRUE(fixture.calls.WaitFor("b", 1));
  fixture.manager->Stop();
  EXPECT_FALSE(fixture.manager->Leading());
  EXPECT_FALSE(fixture.manager->Start().ok()) << "a stopped manager does not start again";
}

TEST(ManagerTest, OneSharedInformerPerResourceType) {
  Fixture fixture(/*elect=*/false);
  kube::Informer& first = fixture.manager->Informer(kube::resources::kPods);
  kube::Informer& again = fixture.manager->Informer(kube::resources::kPods);
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &fixture.manager->Informer(kube::resources::kStorageClasses));
  EXPECT_EQ(fixture.manager->caches().size(), 2U);
  EXPECT_EQ(fixture.manager->caches().front().first, "storageclasses");
}

TEST(ManagerTest, RoutesEachWebhookByPathAndNamesThemAllOtherwise) {
  Fixture fixture(/*elect=*/false);
  const admission::DiskConfigWebhook disk_configs(admission::RuleContext{}, nullptr);
  const admission::PodWebhook pods(admission::PodWebhookContext{}, nullptr);
  fixture.manager->AddWebhook(disk_configs);
  fixture.manager->AddWebhook(pods);

  server::HttpRequest request;
  request.method = "POST";
  request.target = "/elsewhere";
  const auto missing = fixture.manager->Route(request);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find(std::string(admission::kValidateDiskConfigPath)), std::string::npos);
  EXPECT_NE(missing.body.find(std::string(admission::kMutatePodPath)), std::string::npos);

  request.target = std::string(admission::kMutatePodPath) + "?timeout=10s";
  request.body = "not a review";
  EXPECT_EQ(fixture.manager->Route(request).status, 400);  // reached the pod webhook
  request.method = "GET";
  EXPECT_EQ(fixture.manager->Route(request).status, 405);
}

TEST(ManagerTest, CachesKeepWhatTheirReadersIndex) {
  const auto pods = CacheOptionsFor(kube::resources::kPods);
  EXPECT_EQ(pods.indexes.count(std::string(kIndexByNode)), 1U);
  EXPECT_EQ(pods.indexes.count(std::string(kIndexByLabel)), 1U);
  const auto claims = CacheOptionsFor(kube::resources::kPersistentVolumeClaims);
  EXPECT_EQ(claims.indexes.count(std::string(kIndexByDiskConfig)), 1U);
  EXPECT_EQ(claims.indexes.count(std::string(kIndexByNamespace)), 1U);
  const auto configs = CacheOptionsFor(kube::resources::kDiskConfigs);
  EXPECT_EQ(configs.indexes.count(std::string(kIndexByNamespace)), 1U);
  // Every cache drops managedFields at least.
  const auto classes = CacheOptionsFor(kube::resources::kStorageClasses);
  ASSERT_TRUE(classes.transform);
  const json stripped =
      classes.transform({{"metadata", {{"name", "a"}, {"managedFields", json::array()}}}});
  EXPECT_FALSE(stripped["metadata"].contains("managedFields"));
}

}  // namespace
}  // namespace discoblocks::op
