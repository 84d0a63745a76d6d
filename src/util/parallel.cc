#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <new>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace discoblocks {
namespace {

std::string DescribeCurrentException() {
  try {
    throw;
  } catch (const std::exception& e) {
    return fmt::format("unexpected exception: {}", e.what());
  } catch (...) {
    return "unexpected exception of an unknown type";
  }
}

}  // namespace

std::vector<std::optional<std::string>> RunInParallel(
    std::size_t count, std::size_t parallelism, const std::function<void(std::size_t)>& task) {
  std::vector<std::optional<std::string>> failures(count);
  std::atomic<std::size_t> next{0};
  // Each index is taken by exactly one thread, so each failure slot has one writer.
  auto work = [&]() noexcept {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        task(i);
      } catch (...) {
        try {
          failures[i] = DescribeCurrentException();
        } catch (...) {
          failures[i].emplace();  // not even the message fits in memory
        }
      }
    }
  };
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t workers = std::min(parallelism != 0 ? parallelism : cores, count);
  {
    std::vector<std::jthread> threads;
    try {
      threads.reserve(workers);
      for (std::size_t i = 1; i < workers; ++i) threads.emplace_back(work);
    } catch (const std::system_error&) {
      // No more threads to be had: the ones started and the caller do it all.
    } catch (const std::bad_alloc&) {
    }
    work();
    // Joined here, before `failures` (and whatever the tasks wrote) is handed
    // back, not by the destructors at the return, after the result is moved.
    for (std::jthread& thread : threads) thread.join();
  }
  return failures;
}

}  // namespace discoblocks
