// The work queue: deduplication, one worker per key at a time, delays and
// backoff on a clock the test moves, shutdown with and without draining, and
// its metrics.
#include "util/work_queue.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "util/metrics.h"

namespace discoblocks {
namespace {

using namespace std::chrono_literals;

struct ManualQueue {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  WorkQueue queue{[this] {
    WorkQueue::Options options;
    options.name = "test";
    options.clock = clock;
    return options;
  }()};
};

TEST(WorkQueueTest, AddDeduplicatesWaitingKeysAndKeepsTheirOrder) {
  WorkQueue queue({});
  queue.Add("a");
  queue.Add("b");
  queue.Add("a");
  queue.Add("c");
  queue.Add("b");
  ASSERT_EQ(queue.Len(), 3U);
  EXPECT_EQ(queue.Get(), "a");
  EXPECT_EQ(queue.Get(), "b");
  EXPECT_EQ(queue.Get(), "c");
  EXPECT_EQ(queue.Len(), 0U);
}

TEST(WorkQueueTest, KeyAddedWhileHeldIsHandedOutAgainOnlyAfterDone) {
  WorkQueue queue({});
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  queue.Add("a");
  queue.Add("a");
  EXPECT_EQ(queue.Len(), 0U);  // not to a second worker while the first holds it
  queue.Add("b");
  EXPECT_EQ(queue.Get(), "b");
  queue.Done("a");
  ASSERT_EQ(queue.Len(), 1U);  // once, however often it was added meanwhile
  EXPECT_EQ(queue.Get(), "a");
  queue.Done("a");
  queue.Done("b");
  EXPECT_EQ(queue.Len(), 0U);
}

TEST(WorkQueueTest, ManyWorkersNeverHoldOneKeyTogetherAndSeeEveryLastAdd) {
  WorkQueue queue({});
  std::mutex mutex;
  std::set<std::string> held;
  std::map<std::string, int> last_added;  // per key: the number of its last Add
  std::map<std::string, int> last_seen;   // per key: the last Add a worker started after
  std::atomic<bool> overlap{false};
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.Get()) {
        {
          const std::lock_guard lock(mutex);
          if (!held.insert(*key).second) overlap = true;
          last_seen[*key] = last_added[*key];
        }
        std::this_thread::yield();
        {
          const std::lock_guard lock(mutex);
          held.erase(*key);
        }
        queue.Done(*key);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "k" + std::to_string(i % 7);
    {
      const std::lock_guard lock(mutex);
      last_added[key] = i;
    }
    queue.Add(key);
  }
  // Level-triggered: every key is processed once more after its last Add.
  auto caught_up = [&] {
    const std::lock_guard lock(mutex);
    return last_seen == last_added && held.empty();
  };
  for (int i = 0; i < 6000 && !caught_up(); ++i) std::this_thread::sleep_for(10ms);
  queue.ShutDown();
  for (auto& worker : workers) worker.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(last_seen, last_added);
}

TEST(WorkQueueTest, GetWaitsForAnAdd) {
  WorkQueue queue({});
  std::optional<std::string> got;
  std::thread getter([&] { got = queue.Get(); });
  queue.Add("late");
  getter.join();
  EXPECT_EQ(got, "late");
}

TEST(WorkQueueTest, ShutDownWakesGettersAndHandsOutNothingMore) {
  WorkQueue queue({});
  std::optional<std::string> got = "not yet";
  std::thread getter([&] { got = queue.Get(); });
  queue.ShutDown();  // whether the getter is waiting yet or not
  getter.join();
  EXPECT_EQ(got, std::nullopt);

  queue.Add("after");
  EXPECT_EQ(queue.Len(), 0U);
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownDropsKeysStillQueued) {
  WorkQueue queue({});
  queue.Add("a");
  queue.ShutDown();
  EXPECT_EQ(queue.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForTheKeysHandedOut) {
  WorkQueue queue({});
  queue.Add("a");
  ASSERT_EQ(queue.Get(), "a");
  std::mutex mutex;
  std::vector<std::string> order;
  std::thread drainer([&] {
    queue.ShutDownWithDrain();
    const std::lock_guard lock(mutex);
    order.emplace_back("drained");
  });
  while (!queue.ShuttingDown()) std::this_thread::yield();
  // Had it not waited, it would have returned within this pause.
  std::this_thread::sleep_for(50ms);
  {
    const std::lock_guard lock(mutex);
    order.emplace_back("done");
  }
  queue.Done("a");
  drainer.join();
  EXPECT_EQ(order, (std::vector<std::string>{"done", "drained"}));
}

TEST(WorkQueueTest, ShutDownWithDrainReturnsAtOnceWhenNothingIsHeld) {
  WorkQueue queue({});
  queue.Add("queued, never handed out");
  queue.ShutDownWithDrain();
  EXPECT_TRUE(queue.ShuttingDown());
}

TEST(WorkQueueTest, AddAfterMakesAKeyReadyWhenItsDelayHasPassed) {
  ManualQueue q;
  q.queue.AddAfter("a", 10ms);
  q.queue.AddAfter("b", 0ms);  // no delay: at once
  ASSERT_EQ(q.queue.Len(), 1U);
  EXPECT_EQ(q.queue.Get(), "b");
  q.clock->Advance(9ms);
  EXPECT_EQ(q.queue.Len(), 0U);
  EXPECT_EQ(q.queue.Waiting(), 1U);
  q.clock->Advance(1ms);
  ASSERT_EQ(q.queue.Len(), 1U);
  EXPECT_EQ(q.queue.Waiting(), 0U);
  EXPECT_EQ(q.queue.Get(), "a");
}

TEST(WorkQueueTest, AddAfterKeepsTheEarlierTimeOfAKeyAndQueuesItOnce) {
  ManualQueue q;
  q.queue.AddAfter("a", 100ms);
  q.queue.AddAfter("a", 10ms);
  q.queue.AddAfter("a", 50ms);
  q.clock->Advance(10ms);
  ASSERT_EQ(q.queue.Len(), 1U);
  ASSERT_EQ(q.queue.Get(), "a");
  q.queue.Done("a");
  q.clock->Advance(1s);
  EXPECT_EQ(q.queue.Len(), 0U);  // the later times were dropped
}

TEST(WorkQueueTest, DelayedKeysComeOutInTheOrderTheyBecomeReady) {
  ManualQueue q;
  q.queue.AddAfter("late", 30ms);
  q.queue.AddAfter("early", 10ms);
  q.queue.AddAfter("middle", 20ms);
  q.clock->Advance(30ms);
  EXPECT_EQ(q.queue.Get(), "early");
  EXPECT_EQ(q.queue.Get(), "middle");
  EXPECT_EQ(q.queue.Get(), "late");
}

TEST(WorkQueueTest, BlockedGetWakesForADelayedKey) {
  WorkQueue queue({});
  std::optional<std::string> got;
  std::thread getter([&] { got = queue.Get(); });
  queue.AddAfter("soon", 1ms);
  getter.join();
  EXPECT_EQ(got, "soon");
}

TEST(WorkQueueTest, AddRateLimitedBacksOffPerKeyUntilForgotten) {
  ManualQueue q;
  // 5 ms, then 10 ms, then 20 ms...
  for (const auto delay : {5ms, 10ms, 20ms}) {
    q.queue.AddRateLimited("a");
    q.clock->Advance(delay - 1ms);
    EXPECT_EQ(q.queue.Len(), 0U) << delay.count();
    q.clock->Advance(1ms);
    ASSERT_EQ(q.queue.Len(), 1U) << delay.count();
    ASSERT_EQ(q.queue.Get(), "a");
    q.queue.Done("a");
  }
  EXPECT_EQ(q.queue.NumRequeues("a"), 3);
  q.queue.Forget("a");
  EXPECT_EQ(q.queue.NumRequeues("a"), 0);
  q.queue.AddRateLimited("a");
  q.clock->Advance(5ms);
  EXPECT_EQ(q.queue.Len(), 1U);
}

TEST(WorkQueueTest, AddRateLimitedIsBoundOverallByTheTokenBucket) {
  ManualQueue q;
  for (int i = 0; i < 101; ++i) q.queue.AddRateLimited("k" + std::to_string(i));
  q.clock->Advance(5ms);
  EXPECT_EQ(q.queue.Len(), 100U);  // the burst
  q.clock->Advance(95ms);
  EXPECT_EQ(q.queue.Len(), 101U);  // the next token, 100 ms in
}

TEST(WorkQueueTest, CustomRateLimiter) {
  auto clock = std::make_shared<ManualClock>();
  WorkQueue::Options options;
  options.clock = clock;
  options.rate_limiter = std::make_shared<ExponentialBackoffLimiter>(1s, 4s);
  WorkQueue queue(options);
  queue.AddRateLimited("a");
  clock->Advance(999ms);
  EXPECT_EQ(queue.Len(), 0U);
  clock->Advance(1ms);
  EXPECT_EQ(queue.Len(), 1U);
}

TEST(WorkQueueTest, MetricsHaveControllerRuntimesNames) {
  auto clock = std::make_shared<ManualClock>();
  metrics::Registry registry;
  {
    WorkQueue::Options options;
    options.name = "pods";
    options.clock = clock;
    options.metrics = &registry;
    WorkQueue queue(options);
    queue.Add("a");
    queue.Add("a");
    queue.Add("b");
    queue.AddRateLimited("c");
    EXPECT_NE(registry.Render().find("workqueue_depth{name=\"pods\"} 2"), std::string::npos);
    clock->Advance(2s);
    ASSERT_EQ(queue.Get(), "a");
    clock->Advance(3s);
    const std::string held = registry.Render();
    // a and b, and c once its delay had passed (the Get moved it to the queue).
    EXPECT_NE(held.find("workqueue_adds_total{name=\"pods\"} 3"), std::string::npos) << held;
    EXPECT_NE(held.find("workqueue_retries_total{name=\"pods\"} 1"), std::string::npos) << held;
    EXPECT_NE(held.find("workqueue_unfinished_work_seconds{name=\"pods\"} 3"), std::string::npos)
        << held;
    EXPECT_NE(held.find("workqueue_longest_running_processor_seconds{name=\"pods\"} 3"),
              std::string::npos)
        << held;
    // a waited 2 s in the queue (bucket le=10), and worked 3 s.
    EXPECT_NE(held.find("workqueue_queue_duration_seconds_bucket{name=\"pods\",le=\"1\"} 0"),
              std::string::npos)
        << held;
    EXPECT_NE(held.find("workqueue_queue_duration_seconds_bucket{name=\"pods\",le=\"10\"} 1"),
              std::string::npos)
        << held;
    queue.Done("a");
    const std::string done = registry.Render();
    EXPECT_NE(done.find("workqueue_work_duration_seconds_sum{name=\"pods\"} 3"), std::string::npos)
        << done;
    EXPECT_NE(done.find("workqueue_unfinished_work_seconds{name=\"pods\"} 0"), std::string::npos)
        << done;
    // b and c are still queued.
    EXPECT_NE(done.find("workqueue_depth{name=\"pods\"} 2"), std::string::npos) << done;
  }
  // A scrape after the queue is gone reads zeros, and reaches nothing freed.
  EXPECT_NE(registry.Render().find("workqueue_unfinished_work_seconds{name=\"pods\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace discoblocks
