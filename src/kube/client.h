// A Kubernetes API client: CRUD, patches, status, lists with selectors and
// pagination, and watches, for any resource by group/version/resource.
// Objects are JSON (nlohmann::json). Thread-safe; share one per process.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/config.h"
#include "kube/errors.h"
#include "kube/resource.h"

namespace discoblocks::kube {

class Transport;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t limit = 0;  // page size; 0 = the server's choice
  std::string continue_token;
  std::string resource_version;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // resume after this version
  bool allow_bookmarks = true;
  // The server ends the watch after this long; the caller then resumes.
  std::chrono::seconds timeout{300};
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark };
  Type type;
  nlohmann::json object;
};

// Retries with exponential backoff and jitter (see Backoff) for throttling
// (429, honouring Retry-After), server errors (5xx), timeouts and connection
// failures. Requests that are not idempotent (POST, PATCH other than apply)
// are retried only when the server cannot have acted on them: 429, or no
// connection could be made for them; they never reuse a kept-alive
// connection, so that libcurl does not repeat them by itself either. A
// server-side apply is idempotent (the same intent gives the same object) and
// is retried like a PUT.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

class Client {
 public:
  // Refuses a configuration whose field manager the API server would refuse.
  static Result<std::shared_ptr<Client>> Create(ClientConfig config, RetryPolicy retry = {});
  ~Client();

  // A client sharing this one's connections and settings whose every call
  // ends within `timeout`, its retries and the waits between them included
  // (a call out of time fails with kTimeout). For callers that run on a
  // clock, such as leader election, where an answer that comes late is no
  // answer. A timeout of zero or less fails every call at once. Watches are
  // not bounded by it.
  [[nodiscard]] std::shared_ptr<const Client> WithCallTimeout(
      std::chrono::milliseconds timeout) const;

  KubeResult<nlohmann::json> Get(const ResourceType& type, std::string_view ns,
                                 std::string_view name) const;
  // One page of a list (a *List object: items, metadata.continue,
  // metadata.resourceVersion).
  KubeResult<nlohmann::json> List(const ResourceType& type, std::string_view ns,
                                  const ListOptions& options = {}) const;
  // Every page of a list, following `continue` tokens, as one list object.
  KubeResult<nlohmann::json> ListAll(const ResourceType& type, std::string_view ns,
                                     ListOptions options = {}) const;
  KubeResult<nlohmann::json> Create(const ResourceType& type, std::string_view ns,
                                    const nlohmann::json& object) const;
  // Replaces the object named in its metadata; a stale resourceVersion is a Conflict.
  KubeResult<nlohmann::json> Update(const ResourceType& type, std::string_view ns,
                                    const nlohmann::json& object) const;
  KubeResult<nlohmann::json> UpdateStatus(const ResourceType& type, std::string_view ns,
                                          const nlohmann::json& object) const;
  // RFC 7386 merge patch; on the status subresource when `status` is set.
  KubeResult<nlohmann::json> MergePatch(const ResourceType& type, std::string_view ns,
                                        std::string_view name, const nlohmann::json& patch,
                                        bool status = false) const;
  // RFC 6902 JSON patch (an array of operations).
  KubeResult<nlohmann::json> JsonPatch(const ResourceType& type, std::string_view ns,
                                       std::string_view name, const nlohmann::json& operations,
                                       bool status = false) const;
  // Server-side apply (PATCH application/apply-patch+yaml): `object` states
  // the fields this client's field manager owns, with apiVersion and kind;
  // the server merges them into the object, creating it when absent, and
  // forgets fields the manager set before and left out now. A field another
  // manager owns is a kConflict naming it, unless `force` takes it over.
  // metadata.name, when given, must be `name`; managedFields must be absent.
  KubeResult<nlohmann::json> Apply(const ResourceType& type, std::string_view ns,
                                   std::string_view name, const nlohmann::json& object,
                                   bool force = false) const;
  // The same on the status subresource.
  KubeResult<nlohmann::json> ApplyStatus(const ResourceType& type, std::string_view ns,
                                         std::string_view name, const nlohmann::json& object,
                                         bool force = false) const;
  KubeStatus Delete(const ResourceType& type, std::string_view ns, std::string_view name) const;

  // One watch stream: calls `on_event` for each event (in order) until the
  // server ends the stream (after options.timeout), on_event returns false, or
  // `cancel` is set. Bookmarks are delivered as events. An expired
  // resourceVersion is a kGone error: list again. Not retried: the caller
  // resumes from the last resourceVersion it saw (see Informer).
  KubeStatus Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                   const std::function<bool(const WatchEvent&)>& on_event,
                   const std::atomic<bool>& cancel) const;

  // Whether the API server answers (GET /version), within `timeout`.
  KubeStatus Ping(std::chrono::milliseconds timeout) const;

  [[nodiscard]] const ClientConfig& config() const;

 private:
  Client(std::shared_ptr<const Transport> transport, RetryPolicy retry,
         std::optional<std::chrono::milliseconds> call_timeout);
  KubeResult<nlohmann::json> Request(std::string method, std::string path, std::string what,
                                     const nlohmann::json* body = nullptr,
                                     std::string content_type = {}) const;
  // The query string every write carries: ?fieldManager=...
  [[nodiscard]] std::string WriteQuery() const;
  KubeResult<nlohmann::json> ApplyTo(const ResourceType& type, std::string_view ns,
                                     std::string_view name, const nlohmann::json& object,
                                     bool force, bool status) const;

  std::shared_ptr<const Transport> transport_;
  RetryPolicy retry_;
  std::optional<std::chrono::milliseconds> call_timeout_;  // none: only each attempt is bounded
};

}  // namespace discoblocks::kube
