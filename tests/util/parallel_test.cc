#include "util/parallel.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

TEST(ParallelTest, EveryTaskRunsOnceAndIsDoneOnReturn) {
  constexpr std::size_t kTasks = 64;
  std::vector<int> done(kTasks, 0);
  std::atomic<int> running{0};
  const auto failures = RunInParallel(kTasks, 4, [&](std::size_t i) {
    ++running;
    // Tasks on the worker threads outlast the caller's share of the work, so a
    // result handed back before the threads are joined would miss some.
    std::this_thread::sleep_for(std::chrono::milliseconds(i % 2 == 0 ? 5 : 0));
    done[i] += 1;
    --running;
  });
  EXPECT_EQ(running.load(), 0);
  ASSERT_EQ(failures.size(), kTasks);
  for (std::size_t i = 0; i < kTasks; ++i) {
    EXPECT_EQ(done[i], 1) << i;
    EXPECT_FALSE(failures[i].has_value()) << i;
  }
}

// Before, an exception escaping a task on a worker thread called std::terminate:
// a driver whose load threw took the whole process down.
TEST(ParallelTest, AnExceptionInATaskBecomesItsFailureOnAnyThread) {
  constexpr std::size_t kTasks = 16;
  std::vector<int> done(kTasks, 0);
  const auto failures = RunInParallel(kTasks, 4, [&](std::size_t i) {
    if (i % 3 == 1) throw std::runtime_error("task " + std::to_string(i) + " broke");
    if (i % 5 == 4) throw 42;  // not even a std::exception
    done[i] = 1;
  });
  ASSERT_EQ(failures.size(), kTasks);
  for (std::size_t i = 0; i < kTasks; ++i) {
    if (i % 3 == 1) {
      ASSERT_TRUE(failures[i].has_value()) << i;
      EXPECT_EQ(*failures[i], "unexpected exception: task " + std::to_string(i) + " broke");
    } else if (i % 5 == 4) {
      ASSERT_TRUE(failures[i].has_value()) << i;
      EXPECT_EQ(*failures[i], "unexpected exception of an unknown type");
    } else {
      EXPECT_FALSE(failures[i].has_value()) << i;
      EXPECT_EQ(done[i], 1) << i;
    }
  }
}

TEST(ParallelTest, NoTasksAndOneThreadAreFine) {
  EXPECT_TRUE(RunInParallel(0, 4, [](std::size_t) { FAIL() << "no task to run"; }).empty());
  std::vector<std::thread::id> threads;
  const auto failures =
      RunInParallel(3, 1, [&](std::size_t) { threads.push_back(std::this_thread::get_id()); });
  EXPECT_EQ(failures.size(), 3U);
  ASSERT_EQ(threads.size(), 3U);
  for (const auto& id : threads) EXPECT_EQ(id, std::this_thread::get_id());
}

}  // namespace
}  // namespace discoblocks
