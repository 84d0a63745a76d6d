// The controller: one reconcile for many enqueues, retries with backoff after
// errors and exceptions, requeues, workers in parallel but never on one key,
// stop, handlers for informers, and controller-runtime's metrics.
#include "operator/controller.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/call_counts.h"
#include "support/gate.h"
#include "util/metrics.h"

namespace discoblocks::op {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Gate;

using Calls = testing::CallCounts;

Controller::Options Named(const std::string& name, std::shared_ptr<const Clock> clock = nullptr) {
  Controller::Options options;
  options.name = name;
  options.clock = std::move(clock);
  return options;
}

// Waits (bounded) until `key`'s retry is waiting for its delay, so that the
// clock is moved only after the delay was measured from it.
bool WaitingForDelay(Controller& controller) {
  for (int i = 0; i < 6000 && controller.queue().Waiting() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return controller.queue().Waiting() > 0;
}

std::string Metric(const metrics::Registry& registry, const std::string& series) {
  const std::string text = registry.Render();
  const auto at = text.find(series + " ");
  if (at == std::string::npos) return "absent";
  const auto start = at + series.size() + 1;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(ControllerTest, KeysEnqueuedManyTimesAreReconciledOnce) {
  Calls calls;
  Controller controller(Named("dedup"), [&](const std::string& key) -> Result<ReconcileOutcome> {
    calls.Record(key);
    return ReconcileOutcome{};
  });
  for (int i = 0; i < 5; ++i) controller.Enqueue("ns/a");
  controller.Enqueue("ns/b");
  controller.Start();
  ASSERT_TRUE(calls.WaitFor("ns/a", 1));
  ASSERT_TRUE(calls.WaitFor("ns/b", 1));
  controller.Stop();
  EXPECT_EQ(calls.All(), (std::map<std::string, int>{{"ns/a", 1}, {"ns/b", 1}}));
}

TEST(ControllerTest, ErrorsAreRetriedWithGrowingBackoffUntilTheySucceed) {
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry registry;
  Controller::Options options = Named("retry", clock);
  options.metrics = &registry;
  Calls calls;
  std::mutex mutex;
  std::vector<int> requeues_seen;  // NumRequeues at each call
  Controller* self = nullptr;
  Controller controller(options, [&](const std::string& key) -> Result<ReconcileOutcome> {
    {
      const std::lock_guard lock(mutex);
      requeues_seen.push_back(self->queue().NumRequeues(key));
    }
    calls.Record(key);
    if (calls.All()[key] <= 3) return MakeError("not yet");
    return ReconcileOutcome{};
  });
  self = &controller;
  controller.Enqueue("k");
  controller.Start();
  // 5 ms, 10 ms, 20 ms: each retry waits for the clock to pass its backoff.
  for (int call = 1; call <= 3; ++call) {
    ASSERT_TRUE(calls.WaitFor("k", call));
    ASSERT_TRUE(WaitingForDelay(controller));
    const auto backoff = std::chrono::milliseconds(5 << (call - 1));
    clock->Advance(backoff - 1ms);
    std::this_thread::sleep_for(20ms);  // a retry too early would show here
    EXPECT_EQ(calls.All()["k"], call) << "retried before its backoff of " << backoff.count();
    clock->Advance(1ms);
  }
  ASSERT_TRUE(calls.WaitFor("k", 4));
  controller.Stop();
  EXPECT_EQ(calls.All()["k"], 4);
  EXPECT_EQ(requeues_seen, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(controller.queue().NumRequeues("k"), 0);  // forgotten after the success
  EXPECT_EQ(
      Metric(registry, R"(controller_runtime_reconcile_total{controller="retry",result="error"})"),
      "3");
  EXPECT_EQ(Metric(registry,
                   R"(controller_runtime_reconcile_total{controller="retry",result="success"})"),
            "1");
  EXPECT_EQ(Metric(registry, R"(controller_runtime_reconcile_errors_total{controller="retry"})"),
            "3");
  EXPECT_EQ(
      Metric(registry, R"(controller_runtime_reconcile_time_seconds_count{controller="retry"})"),
      "4");
  EXPECT_EQ(Metric(registry, R"(workqueue_retries_total{name="retry"})"), "3");
}

TEST(ControllerTest, AReconcilerThatThrowsIsRetriedLikeAnError) {
  metrics::Registry registry;
  Controller::Options options = Named("throws");
  options.metrics = &registry;
  options.rate_limiter = std::make_shared<ExponentialBackoffLimiter>(1ms, 1ms);
  Calls calls;
  Controller controller(options, [&](const std::string& key) -> Result<ReconcileOutcome> {
    calls.Record(key);
    if (calls.All()[key] == 1) throw std::runtime_error("boom");
    if (calls.All()[key] == 2) throw 42;  // NOLINT(hicpp-exception-baseclass): on purpose
    return ReconcileOutcome{};
  });
  controller.Enqueue("k");
  controller.Start();
  ASSERT_TRUE(calls.WaitFor("k", 3));
  controller.Stop();
  EXPECT_EQ(Metric(registry, R"(controller_runtime_reconcile_panics_total{controller="throws"})"),
            "2");
  EXPECT_EQ(
      Metric(registry, R"(controller_runtime_reconcile_total{controller="throws",result="error"})"),
      "2");
}

TEST(ControllerTest, RequeueAfterClearsTheBackoffAndComesBackAfterItsDelay) {
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry registry;
  Controller::Options options = Named("requeue", clock);
  options.metrics = &registry;
  Calls calls;
  Controller controller(options, [&](const std::string& key) -> Result<ReconcileOutcome> {
    calls.Record(key);
    const int call = calls.All()[key];
    if (call == 1) return MakeError("first a failure");
    if (call == 2) return ReconcileOutcome{1h, false};
    if (call == 3) return ReconcileOutcome{std::nullopt, true};
    return ReconcileOutcome{};
  });
  controller.Enqueue("k");
  controller.Start();
  ASSERT_TRUE(calls.WaitFor("k", 1));
  ASSERT_TRUE(WaitingForDelay(controller));
  clock->Advance(5ms);
  ASSERT_TRUE(calls.WaitFor("k", 2));
  ASSERT_TRUE(WaitingForDelay(controller));
  clock->Advance(1h - 1ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.All()["k"], 2) << "requeued before its hour";
  clock->Advance(1ms);
  ASSERT_TRUE(calls.WaitFor("k", 3));
  ASSERT_TRUE(WaitingForDelay(controller));
  // `requeue` backs off from the start again: the failure was forgotten.
  clock->Advance(5ms);
  ASSERT_TRUE(calls.WaitFor("k", 4));
  controller.Stop();
  for (const char* result : {"error", "requeue_after", "requeue", "success"}) {
    EXPECT_EQ(
        Metric(registry,
               std::string(R"(controller_runtime_reconcile_total{controller="requeue",result=")") +
                   result + "\"}"),
        "1")
        << result;
  }
}

TEST(ControllerTest, WorkersRunDifferentKeysInParallelButNeverOneKeyTwice) {
  metrics::Registry registry;
  Controller::Options options = Named("parallel");
  options.workers = 3;
  options.metrics = &registry;
  std::mutex mutex;
  std::condition_variable changed;
  std::set<std::string> running;
  int most = 0;
  bool overlap = false;
  Gate gate;
  Calls calls;
  Controller controller(options, [&](const std::string& key) -> Result<ReconcileOutcome> {
    {
      const std::lock_guard lock(mutex);
      overlap = overlap || !running.insert(key).second;
      most = std::max(most, static_cast<int>(running.size()));
    }
    changed.notify_all();
    gate.Wait();
    {
      const std::lock_guard lock(mutex);
      running.erase(key);
    }
    calls.Record(key);
    return ReconcileOutcome{};
  });
  controller.Start();
  for (const char* key : {"a", "b", "c", "d"}) controller.Enqueue(key);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 60s, [&] { return running.size() == 3; }));
  }
  EXPECT_EQ(Metric(registry, R"(controller_runtime_active_workers{controller="parallel"})"), "3");
  EXPECT_EQ(
      Metric(registry, R"(controller_runtime_max_concurrent_reconciles{controller="parallel"})"),
      "3");
  // Held keys added again wait for their worker to finish.
  for (const char* key : {"a", "b", "c"}) controller.Enqueue(key);
  gate.Open();
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(calls.WaitFor(key, 2)) << key;
  ASSERT_TRUE(calls.WaitFor("d", 1));
  controller.Stop();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(most, 3);
}

TEST(ControllerTest, StopWaitsForRunningReconcilesAndStartsNoNewOne) {
  Gate gate;
  std::promise<void> started;
  std::atomic<bool> returned{false};
  Calls calls;
  Controller controller(Named("stop"), [&](const std::string& key) -> Result<ReconcileOutcome> {
    calls.Record(key);
    if (key == "slow") {
      started.set_value();
      gate.Wait();
      returned = true;
    }
    return ReconcileOutcome{};
  });
  controller.Enqueue("slow");
  controller.Enqueue("queued behind it");
  controller.Start();
  started.get_future().wait();
  std::thread opener([&] {
    while (!controller.queue().ShuttingDown()) std::this_thread::yield();
    // Had Stop not waited for the reconcile, it would have returned by now.
    std::this_thread::sleep_for(50ms);
    gate.Open();
  });
  controller.Stop();
  EXPECT_TRUE(returned);  // Stop returned only after the reconcile did
  opener.join();
  EXPECT_EQ(calls.All(), (std::map<std::string, int>{{"slow", 1}}));
  controller.Enqueue("after stop");
  controller.Start();  // a stopped controller does not start again
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.All().count("after stop"), 0U);
}

TEST(ControllerTest, NoReconcileBeforeItsCachesHaveSynced) {
  // An informer that is never started never syncs.
  kube::ClientConfig config;
  config.server = "https://127.0.0.1:1";
  auto client = kube::Client::Create(config);
  ASSERT_TRUE(client.ok()) << client.error().message;
  const kube::Informer never_synced(*client, kube::resources::kPods, {});
  Controller::Options options = Named("unsynced");
  options.caches = {&never_synced};
  Calls calls;
  Controller controller(options, [&](const std::string& key) -> Result<ReconcileOutcome> {
    calls.Record(key);
    return ReconcileOutcome{};
  });
  controller.Enqueue("k");
  controller.Start();
  std::this_thread::sleep_for(300ms);
  controller.Stop();  // and Stop is not held up by it
  EXPECT_TRUE(calls.All().empty());
}

TEST(ControllerTest, HandlersEnqueueObjectKeysAndMappedKeysBeforeAndAfter) {
  Controller controller(Named("handlers"), [](const std::string&) -> Result<ReconcileOutcome> {
    return ReconcileOutcome{};
  });
  const json pod = {{"metadata", {{"namespace", "ns"}, {"name", "p"}}}};
  const json node = {{"metadata", {{"name", "n1"}}}};
  const auto own = controller.EnqueueObject();
  own.on_add(pod);
  own.on_update(pod, pod);
  own.on_delete(node);
  // Keys: "ns/p" once (deduplicated), "n1" for the cluster-scoped node.
  std::set<std::string> keys;
  while (controller.queue().Len() > 0) keys.insert(*controller.queue().Get());
  EXPECT_EQ(keys, (std::set<std::string>{"ns/p", "n1"}));

  const auto mapped = controller.EnqueueMapped([](const json& object) {
    return std::vector<std::string>{"ns/config-of-" +
                                    object["metadata"]["labels"]["app"].get<std::string>()};
  });
  json before = pod;
  before["metadata"]["labels"]["app"] = "old";
  json after = pod;
  after["metadata"]["labels"]["app"] = "new";
  mapped.on_update(before, after);
  keys.clear();
  while (controller.queue().Len() > 0) keys.insert(*controller.queue().Get());
  EXPECT_EQ(keys, (std::set<std::string>{"ns/config-of-old", "ns/config-of-new"}));
}

TEST(ControllerTest, HandlersOutliveTheController) {
  kube::Informer::Handlers handlers;
  {
    Controller controller(Named("gone"), [](const std::string&) -> Result<ReconcileOutcome> {
      return ReconcileOutcome{};
    });
    handlers = controller.EnqueueObject();
  }
  handlers.on_add({{"metadata", {{"name", "late"}}}});  // ignored, and nothing freed is reached
}

}  // namespace
}  // namespace discoblocks::op
