#include "cli/serve_support.h"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "admission/limits.h"

namespace discoblocks::cli {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

int WaitForSignal() {
  const sigset_t signals = TerminationSignals();
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

void DrainDelay(std::chrono::nanoseconds delay) {
  const sigset_t signals = TerminationSignals();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(delay);
  timespec wait{static_cast<time_t>(seconds.count()), static_cast<long>((delay - seconds).count())};
  const auto until = std::chrono::steady_clock::now() + delay;
  while (wait.tv_sec > 0 || wait.tv_nsec > 0) {
    if (sigtimedwait(&signals, nullptr, &wait) >= 0) return;  // asked again: stop now
    if (errno != EINTR) return;                               // EAGAIN: the delay passed
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return;
    const auto left_s = std::chrono::duration_cast<std::chrono::seconds>(left);
    wait = {static_cast<time_t>(left_s.count()), static_cast<long>((left - left_s).count())};
  }
}

std::uint64_t WorstCaseMemory(unsigned workers, std::size_t connections,
                              std::uint64_t driver_memory, std::uint64_t body_bytes) {
  const std::uint64_t per_worker = driver_memory + admission::kMaxParsedReviewBytes;
  return workers * per_worker + connections * body_bytes;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

server::HttpResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body), {}};
}

std::string DefaultLeaderElectionNamespace(const std::string& namespace_file) {
  std::ifstream file(namespace_file);
  std::string ns;
  if (file && std::getline(file, ns)) {
    while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ' || ns.back() == '\r')) {
      ns.pop_back();
    }
    if (!ns.empty()) return ns;
  }
  return "discoblocks";
}

std::string LeaderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "discoblocks");
  }
  std::random_device random;
  return fmt::format("{}_{:08x}", host, random());
}

}  // namespace discoblocks::cli
