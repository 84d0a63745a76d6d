// What /healthz and /readyz answer for `serve`, from state the process keeps
// anyway: no probe makes a request to the API server or calls a driver.
//
// Live (/healthz): the driver worker pool makes progress. When it has had
// work but finished nothing for `stuck_after` (every worker held by something
// that does not return), it fails, and the kubelet restarts the container.
//
// Ready (/readyz): the StorageClass informer and every other cache given have
// synced (the pod webhook must not decide from a partial view: an unsynced
// DiskConfig cache would let pods through without their disks), and the
// process is not shutting down. Drivers do not decide readiness: with none loaded (a missing
// drivers directory, every module broken) the webhook still answers, and its
// denials say which driver is missing, which is clearer to a user than a
// webhook with no endpoints. The body reports them all the same.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "drivers/registry.h"
#include "kube/informer.h"
#include "server/http_server.h"
#include "util/worker_pool.h"

namespace discoblocks::op {

struct ProbeSources {
  const drivers::Registry* registry = nullptr;
  const kube::Informer* storage_classes = nullptr;
  const WorkerPool* driver_pool = nullptr;
  std::chrono::milliseconds stuck_after{30'000};
  // Further caches readiness waits for, by name (e.g. "diskconfigs").
  std::vector<std::pair<std::string, const kube::Informer*>> caches;
};

class Probes {
 public:
  explicit Probes(ProbeSources sources) : sources_(std::move(sources)) {}

  // From now on readiness fails, so that endpoints drop this replica while it
  // still answers the requests already routed to it.
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

  [[nodiscard]] server::HttpResponse Liveness() const;
  [[nodiscard]] server::HttpResponse Readiness() const;

 private:
  const ProbeSources sources_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace discoblocks::op
