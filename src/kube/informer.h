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
//
// What it keeps, and who hears of changes:
//   - A transform (Options::transform, client-go's SetTransform) is applied to
//     each object before it is cached and before handlers see it, so that the
//     cache holds only the fields its users read (see kube::StripManagedFields
//     and op's cache transforms). Lists are read page by page and each page is
//     transformed before the next is read, so a relist never holds every full
//     object at once.
//   - Indexes (Options::indexes): named functions from an object to the values
//     it is found under; ByIndex(index, value) returns the objects. They are
//     kept up to date on every add, update, delete and relist.
//   - Several handler sets (AddHandlers), so one informer feeds several
//     controllers.
//   - Objects are stored as shared_ptr<const json>: List and ByIndex hand out
//     pointers to the cached objects, which are never modified (a change
//     replaces the pointer), so reading 10,000 objects copies none of them, and
//     an object a caller holds stays valid and unchanged after the cache moves
//     on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"

namespace discoblocks::kube {

class Informer {
 public:
  // A cached object: shared, never modified.
  using Object = std::shared_ptr<const nlohmann::json>;

  // Called on the informer's thread, after the cache has changed, one set
  // after the other in the order they were added. A handler that throws is
  // logged and counted in Stats::errors; the cache keeps the change and the
  // informer goes on. Handlers may read the informer (Get, List, ByIndex), but
  // not call AddHandlers.
  struct Handlers {
    std::function<void(const nlohmann::json&)> on_add;
    std::function<void(const nlohmann::json& before, const nlohmann::json& after)> on_update;
    std::function<void(const nlohmann::json&)> on_delete;
  };

  struct Options {
    std::string ns;  // empty: all namespaces (or cluster-scoped)
    std::string label_selector;
    std::string field_selector;
    // Objects per list page. A page is parsed whole before it is transformed,
    // and parsed JSON is ~8 times its text: 500 full pods (client-go's page)
    // took ~55 MiB of transient heap, which the allocator then kept; 100 keep a
    // 10,000-pod relist's peak ~45 MiB lower for 80 more requests.
    std::int64_t page_size = 100;
    std::chrono::seconds watch_timeout{300};  // the shortest; see above
    // Waits after failures: about initial_backoff first, doubling up to max_backoff.
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{10'000};
    // Makes, from every object, what is cached instead (see above): it
    // builds a new object with the fields kept, so that only those are copied.
    // It must be pure; when it throws or makes something other than an object,
    // that is logged and counted and the object is cached as it came. The
    // informer keeps metadata.name, namespace and resourceVersion whatever the
    // transform returns, since it needs them.
    std::function<nlohmann::json(const nlohmann::json&)> transform;
    // Index name -> the values an object is found under in that index (none:
    // not indexed). Pure and quick: they run with the cache locked. What they
    // throw is logged and counted, and the object is then not in that index.
    std::map<std::string, std::function<std::vector<std::string>(const nlohmann::json&)>,
             std::less<>>
        indexes;
  };

  struct Stats {
    std::uint64_t lists = 0;    // full lists (the first, and every relist)
    std::uint64_t watches = 0;  // watch streams opened
    std::uint64_t gone = 0;     // relists forced by 410 Gone
    std::uint64_t errors = 0;   // failed lists or watches, handlers that threw
    std::string last_error;
  };

  // `handlers`: a first handler set, as AddHandlers.
  Informer(std::shared_ptr<const Client> client, ResourceType type, Options options,
           Handlers handlers = {});
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;
  ~Informer();  // stops

  // Adds a handler set. Added after Start, it is first told of every object
  // already cached (on_add), then of every change after those, as client-go's
  // AddEventHandler does. Must not be called from a handler.
  void AddHandlers(Handlers handlers);

  void Start();
  void Stop();

  // True once the first list has been loaded.
  [[nodiscard]] bool HasSynced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // A copy of the cached object.
  [[nodiscard]] std::optional<nlohmann::json> Get(std::string_view ns, std::string_view name) const;
  // The cached object itself, or null.
  [[nodiscard]] Object Find(std::string_view ns, std::string_view name) const;
  // Every cached object, ordered by namespace and name.
  [[nodiscard]] std::vector<Object> List() const;
  // The objects the index `index` files under `value`, ordered by namespace
  // and name. An index not given in Options is an error.
  [[nodiscard]] Result<std::vector<Object>> ByIndex(std::string_view index,
                                                    std::string_view value) const;
  [[nodiscard]] Stats stats() const;

 private:
  void Run();
  bool Relist();
  void Follow();
  void Apply(const WatchEvent& event);
  // The object as it is cached: transformed, shared.
  Object Prepare(nlohmann::json&& object);
  Object Prepare(const nlohmann::json& object);
  void Sleep(std::chrono::milliseconds duration);
  void RecordError(const ApiError& error);
  void CountErrorLocked(const std::string& message);  // with mutex_ held
  // With mutex_ held: files `object` (or takes it out) under `key` in every index.
  void IndexLocked(const std::string& key, const nlohmann::json& object);
  void UnindexLocked(const std::string& key, const nlohmann::json& object);
  std::vector<std::string> IndexValuesLocked(const std::string& index,
                                             const nlohmann::json& object);
  // Runs a handler of every set, containing what it throws; with
  // dispatch_mutex_ held.
  template <typename Member, typename... Args>
  void NotifyAll(Member member, const Args&... args);
  template <typename Handler, typename... Args>
  void Notify(const Handler& handler, const Args&... args);

  std::shared_ptr<const Client> client_;
  ResourceType type_;
  Options options_;

  // Held while the cache changes and its handlers are told, so that a handler
  // set added meanwhile sees each change exactly once. Taken before mutex_.
  std::mutex dispatch_mutex_;
  std::vector<Handlers> handler_sets_;  // guarded by dispatch_mutex_

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, Object> objects_;  // by "namespace/name"
  // Index name -> value -> keys of the objects filed under it.
  std::map<std::string, std::map<std::string, std::set<std::string>, std::less<>>, std::less<>>
      indices_;
  std::string resource_version_;
  bool synced_ = false;
  Stats stats_;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace discoblocks::kube
