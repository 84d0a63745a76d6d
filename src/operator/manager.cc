#include "operator/manager.h"

#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "kube/objects.h"
#include "operator/cache_indexes.h"
#include "operator/cache_transforms.h"
#include "util/logging.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

class LeaseElectorAdapter final : public Elector {
 public:
  explicit LeaseElectorAdapter(std::unique_ptr<kube::LeaderElector> elector)
      : elector_(std::move(elector)) {}
  void Start() override { elector_->Start(); }
  void Stop() override { elector_->Stop(); }
  [[nodiscard]] bool IsLeader() const override { return elector_->IsLeader(); }

 private:
  std::unique_ptr<kube::LeaderElector> elector_;
};

std::string TypeKey(const kube::ResourceType& type) {
  return type.ApiPrefix() + "/" + type.resource;
}

bool SameType(const kube::ResourceType& a, const kube::ResourceType& b) {
  return a.group == b.group && a.version == b.version && a.resource == b.resource;
}

// The path of a request target, without its query (the API server adds
// "?timeout=10s" to webhook calls).
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

server::HttpResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body), {}};
}

}  // namespace

// One registered controller and the instance of the current term (null
// between terms). The informer handlers hold this, not the Controller.
struct Manager::Registered {
  ControllerRegistration registration;
  std::mutex mutex;
  std::shared_ptr<Controller> current;

  void Enqueue(const MapToKeys& map, const json& object) {
    std::vector<std::string> keys;
    if (map) {
      keys = map(object);
    } else {
      keys.push_back(kube::ObjectKey(object));
    }
    const std::lock_guard lock(mutex);
    if (!current) return;
    for (const auto& key : keys) current->Enqueue(key);
  }
};

ElectorFactory LeaseElector(std::shared_ptr<const kube::Client> client,
                            kube::LeaderElectionConfig config) {
  return [client = std::move(client), config = std::move(config)](
             LeaderCallbacks callbacks) -> Result<std::unique_ptr<Elector>> {
    kube::LeaderElectionConfig with_callbacks = config;
    with_callbacks.on_started_leading = std::move(callbacks.on_started_leading);
    with_callbacks.on_stopped_leading = std::move(callbacks.on_stopped_leading);
    with_callbacks.on_new_leader = [](const std::string& identity) {
      LogEvent(spdlog::level::info, "leader", {{"identity", identity}});
    };
    auto elector = kube::LeaderElector::Create(client, std::move(with_callbacks));
    if (!elector) return Error{elector.error().message};
    return std::unique_ptr<Elector>(std::make_unique<LeaseElectorAdapter>(std::move(*elector)));
  };
}

kube::Informer::Options CacheOptionsFor(const kube::ResourceType& type) {
  namespace r = kube::resources;
  kube::Informer::Options options;
  options.transform = kube::StripManagedFields;
  if (SameType(type, r::kPods)) {
    options.transform = PodForCache;
    options.indexes.emplace(kIndexByNode, NodeNameIndex);
    options.indexes.emplace(kIndexByLabel, LabelIndex);
    options.indexes.emplace(kIndexByNamespace, NamespaceIndex);
  } else if (SameType(type, r::kPersistentVolumeClaims)) {
    options.transform = PersistentVolumeClaimForCache;
    options.indexes.emplace(kIndexByDiskConfig, DiskConfigLabelIndex);
    options.indexes.emplace(kIndexByNamespace, NamespaceIndex);
  } else if (SameType(type, r::kNodes)) {
    options.transform = NodeForCache;
  } else if (SameType(type, r::kDiskConfigs)) {
    options.indexes.emplace(kIndexByNamespace, NamespaceIndex);
  }
  return options;
}

Result<std::unique_ptr<Manager>> Manager::Create(ManagerOptions options) {
  if (!options.client) return Error{"the manager needs a client"};
  std::unique_ptr<Manager> manager(new Manager(std::move(options)));
  if (manager->options_.record_events) {
    kube::EventRecorderOptions recorder;
    recorder.reporting_instance = manager->options_.identity;
    recorder.registry = manager->options_.metrics;
    auto created = kube::EventRecorder::Create(manager->options_.client, std::move(recorder));
    if (!created) return Error{"events: " + created.error().message};
    manager->recorder_ = std::move(created).value();
  }
  return manager;
}

Manager::Manager(ManagerOptions options) : options_(std::move(options)) {}

Manager::~Manager() { Stop(); }

kube::Informer& Manager::Informer(const kube::ResourceType& type) {
  auto& slot = informers_[TypeKey(type)];
  if (!slot) {
    slot = std::make_unique<kube::Informer>(options_.client, type, CacheOptionsFor(type));
    caches_.emplace_back(type.resource, slot.get());
  }
  return *slot;
}

void Manager::AddWebhook(const admission::AdmissionWebhook& webhook) {
  webhooks_[webhook.path()] = &webhook;
}

void Manager::AddController(ControllerRegistration registration) {
  auto registered = std::make_shared<Registered>();
  registered->registration = std::move(registration);
  for (const auto& watch : registered->registration.watches) {
    const MapToKeys map = watch.map;
    // Weak: the informer outlives nothing of the manager's, but a handler
    // must not keep a registration alive on its own.
    std::weak_ptr<Registered> weak = registered;
    kube::Informer::Handlers handlers;
    handlers.on_add = [weak, map](const json& object) {
      if (auto r = weak.lock()) r->Enqueue(map, object);
    };
    handlers.on_update = [weak, map](const json& before, const json& after) {
      auto r = weak.lock();
      if (!r) return;
      // A mapped change concerns the keys before and after (a claim whose
      // label moved concerns both DiskConfigs).
      if (map) r->Enqueue(map, before);
      r->Enqueue(map, after);
    };
    handlers.on_delete = [weak, map](const json& object) {
      if (auto r = weak.lock()) r->Enqueue(map, object);
    };
    watch.informer->AddHandlers(std::move(handlers));
  }
  controllers_.push_back(std::move(registered));
}

Status Manager::Start() {
  const std::lock_guard lock(lifecycle_mutex_);
  if (started_) return Error{"the manager was started already"};
  started_ = true;
  for (auto& [key, informer] : informers_) informer->Start();
  if (!options_.elector) {
    StartControllers();
    return {};
  }
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [this] {
    LogEvent(spdlog::level::info, "started leading", {{"identity", options_.identity}});
    StartControllers();
  };
  callbacks.on_stopped_leading = [this] {
    LogEvent(spdlog::level::info, "stopped leading", {{"identity", options_.identity}});
    StopControllers();
  };
  auto elector = options_.elector(std::move(callbacks));
  if (!elector) return Error{"leader election: " + elector.error().message};
  elector_ = std::move(elector).value();
  elector_->Start();
  return {};
}

void Manager::StartControllers() {
  for (const auto& registered : controllers_) {
    const auto& registration = registered->registration;
    Controller::Options options;
    options.name = registration.name;
    options.workers = registration.workers;
    options.clock = registration.clock;
    options.rate_limiter = registration.rate_limiter;
    options.metrics = options_.metrics;
    for (const auto& watch : registration.watches) options.caches.push_back(watch.informer);
    options.caches.insert(options.caches.end(), registration.caches.begin(),
                          registration.caches.end());
    auto controller =
        std::make_shared<Controller>(std::move(options), registration.make_reconciler());
    {
      const std::lock_guard lock(registered->mutex);
      registered->current = controller;
    }
    controller->Start();
    // What changed while no instance ran was not heard: look at everything
    // once. Objects not cached yet come through the handlers when the cache
    // syncs.
    for (const auto& watch : registration.watches) {
      for (const auto& object : watch.informer->List()) registered->Enqueue(watch.map, *object);
    }
    for (const std::string& key : registration.initial_keys) controller->Enqueue(key);
  }
  const std::lock_guard lock(leading_mutex_);
  leading_ = true;
}

void Manager::StopControllers() {
  {
    const std::lock_guard lock(leading_mutex_);
    leading_ = false;
  }
  std::vector<std::shared_ptr<Controller>> running;
  for (const auto& registered : controllers_) {
    const std::lock_guard lock(registered->mutex);
    if (registered->current) running.push_back(std::move(registered->current));
    registered->current.reset();
  }
  // Shut every queue first, so that no controller starts a reconcile while
  // another is being waited for.
  for (const auto& controller : running) controller->queue().ShutDown();
  for (const auto& controller : running) controller->Stop();
}

void Manager::Stop() {
  const std::lock_guard lock(lifecycle_mutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (elector_) {
    elector_->Stop();  // stops the controllers when leading, then releases the lease
  } else {
    StopControllers();
  }
  for (auto& [key, informer] : informers_) informer->Stop();
  if (recorder_) recorder_->Stop();
}

server::HttpResponse Manager::Route(const server::HttpRequest& request) const {
  const auto found = webhooks_.find(PathOf(request.target));
  if (found == webhooks_.end()) {
    std::vector<std::string> paths;
    for (const auto& [path, webhook] : webhooks_) paths.push_back(path);
    return Text(404, fmt::format("no webhook at {}; webhooks are at {}\n", request.target,
                                 fmt::join(paths, " and ")));
  }
  if (request.method != "POST") return Text(405, "use POST\n");
  const admission::WebhookResponse response = found->second->Handle(request.body);
  return {response.http_status, "application/json", response.body, {}};
}

bool Manager::CachesSynced() const {
  for (const auto& [name, informer] : caches_) {
    if (!informer->HasSynced()) return false;
  }
  return true;
}

bool Manager::WaitForCacheSync(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (const auto& [name, informer] : caches_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (!informer->WaitForSync(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

bool Manager::Leading() const {
  const std::lock_guard lock(leading_mutex_);
  return leading_;
}

}  // namespace discoblocks::op
