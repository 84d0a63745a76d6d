#include "operator/probes.h"

#include <string>

#include <fmt/format.h>

namespace discoblocks::op {
namespace {

server::HttpResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body), {}};
}

// One line per driver state, then one per replacement that did not load.
std::string DriversReport(const drivers::Registry& registry) {
  std::size_t loaded = 0;
  std::size_t failed = 0;
  std::string replacements;
  for (const auto& entry : registry.Entries()) {
    loaded += entry.state == drivers::DriverState::kLoaded ? 1 : 0;
    failed += entry.state == drivers::DriverState::kFailed ? 1 : 0;
    if (entry.driver && !entry.last_load_error.empty()) {
      replacements +=
          fmt::format("  {}: new version did not load, sha256 {} serves: {}\n", entry.provisioner,
                      entry.driver->sha256().substr(0, 12), entry.last_load_error);
    }
  }
  std::string report = fmt::format("drivers: {} loaded, {} failed", loaded, failed);
  if (const auto error = registry.directory_error()) {
    report += fmt::format(" ({}; serving without them until it appears)", *error);
  }
  return report + "\n" + replacements;
}

}  // namespace

server::HttpResponse Probes::Liveness() const {
  if (sources_.driver_pool != nullptr) {
    if (const auto stuck = sources_.driver_pool->Stuck(sources_.stuck_after)) {
      return Text(500, "driver workers stuck: " + *stuck + "\n");
    }
  }
  return Text(200, "ok\n");
}

server::HttpResponse Probes::Readiness() const {
  std::string body;
  bool ready = true;
  if (shutting_down_.load(std::memory_order_relaxed)) {
    ready = false;
    body += "shutting down: draining requests already routed here\n";
  }
  if (sources_.registry != nullptr) body += DriversReport(*sources_.registry);
  std::vector<std::pair<std::string, const kube::Informer*>> caches = sources_.caches;
  if (sources_.storage_classes != nullptr) {
    caches.insert(caches.begin(), {"storageclasses", sources_.storage_classes});
  }
  for (const auto& [name, cache] : caches) {
    const bool synced = cache->HasSynced();
    ready = ready && synced;
    const auto stats = cache->stats();
    // Once synced the cache serves even while the watch reconnects, as a
    // client-go informer's does; the error matters only until then.
    body += synced
                ? fmt::format("{}: synced\n", name)
                : fmt::format("{}: not synced{}\n", name,
                              stats.last_error.empty() ? "" : "; last error: " + stats.last_error);
  }
  if (sources_.driver_pool != nullptr) {
    const auto pool = sources_.driver_pool->stats();
    body += fmt::format("driver workers: {} busy of {}, {} queued of {}\n", pool.running,
                        pool.workers, pool.queued, pool.queue_capacity);
  }
  return Text(ready ? 200 : 503, body);
}

}  // namespace discoblocks::op
