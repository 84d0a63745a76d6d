// A watch-backed cache of one resource type (an informer): lists once, then
// follows a watch, resuming from the last resourceVersion when the stream ends
// or breaks, relisting when the server says that version is gone (410), and
// reconnecting with backoff while the API server is unreachable. Reads are
// served from memory, for hot paths such as admission.
//
// Like client-go's reflector, it spreads its load on the API server: each
// watch asks to be ended after a random time in [watch_timeout,
// 2 * watch_timeout), and waits after failures are exponential with jitter
// (see Backoff). A watch the server ends before its time, with no error, is
// treated as a failure too (waited for), so that a server or proxy that ends
// every watch at once is not asked again in a tight loop. Watches ask for
// bookmarks, which only move the resourceVersion to resume from.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"

namespace discoblocks::kube {

class Informer {
 public:
  // Called on the informer's thread, after the cache has changed. A handler
  // that throws is logged and counted in Stats::errors; the cache keeps the
  // change and the informer goes on.
  struct Handlers {
    std::function<void(const nlohmann::json&)> on_add;
    std::function<void(const nlohmann::json& before, const nlohmann::json& after)> on_update;
    std::function<void(const nlohmann::json&)> on_delete;
  };

  struct Options {
    std::string ns;  // empty: all namespaces (or cluster-scoped)
    std::string label_selector;
    std::string field_selector;
    std::int64_t page_size = 500;
    std::chrono::seconds watch_timeout{300};  // the shortest; see above
    // Waits after failures: about initial_backoff first, doubling up to max_backoff.
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{10'000};
  };

  struct Stats {
    std::uint64_t lists = 0;    // full lists (the first, and every relist)
    std::uint64_t watches = 0;  // watch streams opened
    std::uint64_t gone = 0;     // relists forced by 410 Gone
    std::uint64_t errors = 0;   // failed lists or watches, handlers that threw
    std::string last_error;
  };

  Informer(std::shared_ptr<const Client> client, ResourceType type, Options options,
           Handlers handlers = {});
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;
  ~Informer();  // stops

  void Start();
  void Stop();

  // True once the first list has been loaded.
  [[nodiscard]] bool HasSynced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  [[nodiscard]] std::optional<nlohmann::json> Get(std::string_view ns, std::string_view name) const;
  [[nodiscard]] std::vector<nlohmann::json> List() const;
  [[nodiscard]] Stats stats() const;

 private:
  void Run();
  bool Relist();
  void Follow();
  void Apply(const WatchEvent& event);
  void Sleep(std::chrono::milliseconds duration);
  void RecordError(const ApiError& error);
  // Runs a handler, containing what it throws.
  template <typename Handler, typename... Args>
  void Notify(const Handler& handler, const Args&... args);

  std::shared_ptr<const Client> client_;
  ResourceType type_;
  Options options_;
  Handlers handlers_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, nlohmann::json> objects_;  // by "namespace/name"
  std::string resource_version_;
  bool synced_ = false;
  Stats stats_;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace discoblocks::kube
