// The worker pool: bounded concurrency and queue, a deadline to start by that
// holds even when every worker is busy, failing tasks, stop, and the stuck check.
#include "util/worker_pool.h"

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "support/gate.h"

namespace discoblocks {
namespace {

using namespace std::chrono_literals;
using Clock = WorkerPool::Clock;

using testing::Gate;

WorkerPool::Options Sized(unsigned workers, std::size_t queue) {
  WorkerPool::Options options;
  options.name = "test pool";
  options.workers = workers;
  options.queue_capacity = queue;
  return options;
}

const auto kFarAway = Clock::now() + 1h;

// Occupies the pool's one worker at `gate` until the test opens it.
void HoldTheOnlyWorker(WorkerPool& pool, Gate& gate) {
  std::promise<void> started;
  ASSERT_EQ(pool.Submit(
                [&started, &gate] {
                  started.set_value();
                  gate.Wait();
                },
                nullptr, kFarAway),
            WorkerPool::SubmitStatus::kQueued);
  started.get_future().wait();
}

TEST(WorkerPoolTest, RunsTasksOnItsOwnThreadsAtMostWorkersAtATime) {
  WorkerPool pool(Sized(2, 16));
  Gate gate;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> on_caller{0};
  std::atomic<int> done{0};
  const auto caller = std::this_thread::get_id();
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(pool.Submit(
                  [&] {
                    const int now = ++running;
                    int seen = most.load();
                    while (now > seen && !most.compare_exchange_weak(seen, now)) {
                    }
                    if (std::this_thread::get_id() == caller) ++on_caller;
                    gate.Wait();
                    --running;
                    ++done;
                  },
                  nullptr, kFarAway),
              WorkerPool::SubmitStatus::kQueued);
  }
  while (running.load() < 2) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(pool.stats().running, 2U);
  EXPECT_EQ(pool.stats().queued, 4U);
  gate.Open();
  pool.Stop();
  EXPECT_EQ(done.load(), 2 + 4 - static_cast<int>(pool.stats().expired));
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(WorkerPoolTest, RefusesWhenTheQueueIsFull) {
  WorkerPool pool(Sized(1, 2));
  Gate gate;
  HoldTheOnlyWorker(pool, gate);
  EXPECT_EQ(pool.Submit([] {}, nullptr, kFarAway), WorkerPool::SubmitStatus::kQueued);
  EXPECT_EQ(pool.Submit([] {}, nullptr, kFarAway), WorkerPool::SubmitStatus::kQueued);
  EXPECT_EQ(pool.Submit([] { FAIL() << "ran although refused"; }, nullptr, kFarAway),
            WorkerPool::SubmitStatus::kQueueFull);
  EXPECT_EQ(pool.stats().rejected, 1U);
  gate.Open();
  // The worker waits at the gate, which must outlive it.
  pool.Stop();
}

TEST(WorkerPoolTest, ATaskThatCannotStartInTimeExpiresWhileEveryWorkerIsBusy) {
  WorkerPool pool(Sized(1, 8));
  Gate gate;
  HoldTheOnlyWorker(pool, gate);
  std::atomic<bool> ran{false};
  std::promise<std::thread::id> expired;
  ASSERT_EQ(pool.Submit([&] { ran = true; }, [&] { expired.set_value(std::this_thread::get_id()); },
                        Clock::now() + 50ms),
            WorkerPool::SubmitStatus::kQueued);
  // The only worker is still held: the refusal came anyway.
  auto refusal = expired.get_future();
  ASSERT_EQ(refusal.wait_for(30s), std::future_status::ready);
  EXPECT_NE(refusal.get(), std::this_thread::get_id());
  EXPECT_EQ(pool.stats().running, 1U);
  gate.Open();
  pool.Stop();
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.stats().expired, 1U);
  EXPECT_EQ(pool.stats().completed, 1U);
}

TEST(WorkerPoolTest, AThrowingTaskDoesNotEndItsWorker) {
  WorkerPool pool(Sized(1, 8));
  ASSERT_EQ(pool.Submit([] { throw std::runtime_error("boom"); }, nullptr, kFarAway),
            WorkerPool::SubmitStatus::kQueued);
  std::promise<void> second;
  ASSERT_EQ(pool.Submit([&] { second.set_value(); }, nullptr, kFarAway),
            WorkerPool::SubmitStatus::kQueued);
  EXPECT_EQ(second.get_future().wait_for(30s), std::future_status::ready);
}

TEST(WorkerPoolTest, StopRefusesQueuedTasksFinishesRunningOnesAndRefusesNewOnes) {
  WorkerPool pool(Sized(1, 8));
  std::promise<void> started;
  std::atomic<bool> finished{false};
  ASSERT_EQ(pool.Submit(
                [&] {
                  started.set_value();
                  std::this_thread::sleep_for(100ms);
                  finished = true;
                },
                nullptr, kFarAway),
            WorkerPool::SubmitStatus::kQueued);
  started.get_future().wait();
  std::atomic<int> refused{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(pool.Submit([] { FAIL() << "ran after Stop"; }, [&] { ++refused; }, kFarAway),
              WorkerPool::SubmitStatus::kQueued);
  }
  pool.Stop();
  EXPECT_TRUE(finished);
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(pool.Submit([] {}, nullptr, kFarAway), WorkerPool::SubmitStatus::kStopped);
  pool.Stop();  // idempotent
}

TEST(WorkerPoolTest, StuckWhenWorkWaitsAndNothingFinishes) {
  WorkerPool pool(Sized(1, 8));
  EXPECT_FALSE(pool.Stuck(0ms)) << "an idle pool is not stuck";
  std::this_thread::sleep_for(60ms);
  Gate gate;
  HoldTheOnlyWorker(pool, gate);
  // Idle time before the work arrived does not count.
  EXPECT_FALSE(pool.Stuck(50ms));
  std::this_thread::sleep_for(60ms);
  const auto stuck = pool.Stuck(50ms);
  ASSERT_TRUE(stuck);
  EXPECT_NE(stuck->find("1 of 1 workers busy"), std::string::npos) << *stuck;
  gate.Open();
  pool.Stop();
  EXPECT_FALSE(pool.Stuck(0ms));
}

}  // namespace
}  // namespace discoblocks
