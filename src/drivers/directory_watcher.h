// A thread that looks at a directory whenever something in it may have changed.
// Internal to src/drivers/ (the registry's watch).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "util/result.h"

namespace discoblocks::drivers {

class DirectoryWatcher {
 public:
  // Called on the watcher's thread; returns how soon it wants to be called again
  // (e.g. a file has not settled yet), or nullopt for "at the next event".
  using Look = std::function<std::optional<std::chrono::milliseconds>()>;

  // Calls `look` after inotify events in `directory` or in any folder directly
  // under it, after the delay `look` asked for, and at least every `interval`
  // (inotify misses some changes: network filesystems, a directory that did not
  // exist yet). Fails only when inotify itself cannot be set up.
  static Result<std::unique_ptr<DirectoryWatcher>> Start(std::filesystem::path directory,
                                                         std::chrono::milliseconds interval,
                                                         Look look);
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;
  ~DirectoryWatcher();  // stops the thread and waits for it

 private:
  DirectoryWatcher() = default;
  void Run();
  void WatchFolders();
  void Drain() const;

  std::filesystem::path directory_;
  std::chrono::milliseconds interval_{0};
  Look look_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd; written once to stop
  std::thread thread_;
};

}  // namespace discoblocks::drivers
