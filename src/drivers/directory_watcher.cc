#include "drivers/directory_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace discoblocks::drivers {
namespace {

// Every change that can mean a driver was added, replaced or removed, including
// the rename and symlink swaps used to replace files atomically.
constexpr std::uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                     IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
                                     IN_MOVE_SELF;

}  // namespace

Result<std::unique_ptr<DirectoryWatcher>> DirectoryWatcher::Start(
    std::filesystem::path directory, std::chrono::milliseconds interval, Look look) {
  auto watcher = std::unique_ptr<DirectoryWatcher>(new DirectoryWatcher());
  watcher->directory_ = std::move(directory);
  watcher->interval_ = std::max(interval, std::chrono::milliseconds(1));
  watcher->look_ = std::move(look);
  watcher->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watcher->inotify_fd_ < 0) {
    return MakeError(fmt::format("cannot watch {}: inotify: {}", watcher->directory_.string(),
                                 std::strerror(errno)));  // NOLINT(concurrency-mt-unsafe)
  }
  watcher->stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (watcher->stop_fd_ < 0) {
    return MakeError(fmt::format("cannot watch {}: eventfd: {}", watcher->directory_.string(),
                                 std::strerror(errno)));  // NOLINT(concurrency-mt-unsafe)
  }
  // Watch before returning, so that a change made right after Start is seen.
  watcher->WatchFolders();
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  return watcher;
}

DirectoryWatcher::~DirectoryWatcher() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof(one)) < 0) {
      spdlog::error("driver watch: cannot signal the watch thread to stop");
    }
    thread_.join();
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

// (Re)adds watches on the directory and each folder in it. Adding a watch that
// exists is a no-op; watches of removed folders go away by themselves.
void DirectoryWatcher::WatchFolders() {
  if (::inotify_add_watch(inotify_fd_, directory_.c_str(), kWatchMask) < 0) return;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec))
      (void)::inotify_add_watch(inotify_fd_, it->path().c_str(), kWatchMask);
  }
}

void DirectoryWatcher::Drain() const {
  // Events only wake the thread; what changed is found by looking.
  alignas(inotify_event) std::array<char, std::size_t{16} * 1024> buffer{};
  while (::read(inotify_fd_, buffer.data(), buffer.size()) > 0) {
  }
}

void DirectoryWatcher::Run() {
  // A first look at once: whatever changed between the caller's last look and
  // the watches being in place.
  auto next_look = [this] {
    const auto due = look_();
    return due ? std::clamp(*due, std::chrono::milliseconds(1), interval_) : interval_;
  };
  std::chrono::milliseconds timeout = next_look();
  for (;;) {
    WatchFolders();
    std::array<pollfd, 2> fds{{{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) {
      spdlog::error("driver watch: poll failed: {}",
                    std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) Drain();
    timeout = next_look();
  }
}

}  // namespace discoblocks::drivers
