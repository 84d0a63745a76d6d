// Running independent tasks on a few threads, e.g. compiling every driver at start.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace discoblocks {

// Runs task(i) for every i in [0, count) on up to `parallelism` threads, the
// caller's included (0 means one per core), and returns only once every task
// has finished and every thread it started has been joined: whatever the tasks
// wrote is complete and no thread touches it any more.
//
// An exception escaping a task would end the process (std::terminate) on a
// worker thread; here it is caught and becomes that task's entry in the
// result, a message naming what was thrown. Tasks that return normally have
// nullopt. If threads cannot be started, the tasks run on fewer (at worst on
// the caller's alone).
std::vector<std::optional<std::string>> RunInParallel(std::size_t count, std::size_t parallelism,
                                                      const std::function<void(std::size_t)>& task);

}  // namespace discoblocks
