#include "kube/informer.h"

#include <exception>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/backoff.h"
#include "util/json_fields.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;

std::string Key(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

std::string KeyOf(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end()) return Key("", "");
  return Key(StringOr(*metadata, "namespace"), StringOr(*metadata, "name"));
}

std::string VersionOf(const json& object) {
  const auto metadata = object.find("metadata");
  return metadata != object.end() ? StringOr(*metadata, "resourceVersion") : std::string();
}

}  // namespace

Informer::Informer(std::shared_ptr<const Client> client, ResourceType type, Options options,
                   Handlers handlers)
    : client_(std::move(client)),
      type_(std::move(type)),
      options_(std::move(options)),
      handlers_(std::move(handlers)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::HasSynced() const {
  const std::lock_guard lock(mutex_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return synced_; });
}

std::optional<json> Informer::Get(std::string_view ns, std::string_view name) const {
  const std::lock_guard lock(mutex_);
  const auto found = objects_.find(Key(type_.namespaced ? ns : "", name));
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

std::vector<json> Informer::List() const {
  const std::lock_guard lock(mutex_);
  std::vector<json> objects;
  objects.reserve(objects_.size());
  for (const auto& [key, object] : objects_) objects.push_back(object);
  return objects;
}

Informer::Stats Informer::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

void Informer::Sleep(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

void Informer::RecordError(const ApiError& error) {
  spdlog::warn("informer {}: {}", type_.Name(), error.message);
  const std::lock_guard lock(mutex_);
  ++stats_.errors;
  stats_.last_error = error.message;
}

template <typename Handler, typename... Args>
void Informer::Notify(const Handler& handler, const Args&... args) {
  if (!handler) return;
  try {
    handler(args...);
  } catch (const std::exception& e) {
    RecordError(MakeApiError(ErrorKind::kOther, fmt::format("a handler failed: {}", e.what())));
  } catch (...) {
    RecordError(MakeApiError(ErrorKind::kOther, "a handler failed with a non-standard exception"));
  }
}

void Informer::Run() {
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  bool need_list = true;
  while (!stopping_) {
    if (need_list) {
      if (!Relist()) {
        Sleep(backoff.Next());
        continue;
      }
      need_list = false;
    }
    WatchOptions watch;
    watch.label_selector = options_.label_selector;
    watch.field_selector = options_.field_selector;
    watch.allow_bookmarks = true;
    // In [watch_timeout, 2 * watch_timeout), whole seconds: informers started
    // together (every replica after a rollout) do not all reconnect together.
    const std::chrono::seconds shortest = std::max(options_.watch_timeout, std::chrono::seconds(1));
    watch.timeout = std::chrono::duration_cast<std::chrono::seconds>(
        RandomBetween(shortest, 2 * shortest - std::chrono::seconds(1)));
    {
      const std::lock_guard lock(mutex_);
      watch.resource_version = resource_version_;
      ++stats_.watches;
    }
    bool received = false;
    const auto started = std::chrono::steady_clock::now();
    auto streamed = client_->Watch(
        type_, options_.ns, watch,
        [&](const WatchEvent& event) {
          received = true;
          Apply(event);
          return !stopping_;
        },
        stopping_);
    if (stopping_) break;
    if (streamed && std::chrono::steady_clock::now() - started >= watch.timeout) {
      backoff.Reset();  // it lasted its term: resume at once
      continue;
    }
    if (!streamed && streamed.error().kind == ErrorKind::kGone) {
      // Not a failure, but a list is expensive: waited for like one, so that a
      // server that keeps answering 410 is not listed in a loop.
      const std::lock_guard lock(mutex_);
      ++stats_.gone;
      need_list = true;
    } else if (!streamed) {
      RecordError(streamed.error());
    } else {
      spdlog::debug("informer {}: the server ended the watch early", type_.Name());
    }
    // Progress was made: the next wait starts short again.
    if (received) backoff.Reset();
    Sleep(backoff.Next());
  }
}

bool Informer::Relist() {
  ListOptions list;
  list.label_selector = options_.label_selector;
  list.field_selector = options_.field_selector;
  list.limit = options_.page_size;
  auto listed = client_->ListAll(type_, options_.ns, list);
  if (!listed) {
    RecordError(listed.error());
    return false;
  }
  std::map<std::string, json> fresh;
  for (auto& item : (*listed)["items"]) fresh.emplace(KeyOf(item), std::move(item));

  // What changed while we were not watching, for the handlers.
  std::vector<json> added;
  std::vector<std::pair<json, json>> updated;
  std::vector<json> deleted;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [key, object] : fresh) {
      const auto old = objects_.find(key);
      if (old == objects_.end()) {
        added.push_back(object);
      } else if (VersionOf(old->second) != VersionOf(object)) {
        updated.emplace_back(old->second, object);
      }
    }
    for (const auto& [key, object] : objects_) {
      if (fresh.find(key) == fresh.end()) deleted.push_back(object);
    }
    objects_ = std::move(fresh);
    resource_version_ = StringOr((*listed)["metadata"], "resourceVersion");
    ++stats_.lists;
    synced_ = true;
  }
  changed_.notify_all();
  for (const json& object : added) Notify(handlers_.on_add, object);
  for (const auto& [before, after] : updated) Notify(handlers_.on_update, before, after);
  for (const json& object : deleted) Notify(handlers_.on_delete, object);
  return true;
}

void Informer::Apply(const WatchEvent& event) {
  const std::string version = VersionOf(event.object);
  std::optional<json> before;
  {
    const std::lock_guard lock(mutex_);
    if (!version.empty()) resource_version_ = version;
    if (event.type == WatchEvent::Type::kBookmark) return;
    const std::string key = KeyOf(event.object);
    const auto found = objects_.find(key);
    if (found != objects_.end()) before = found->second;
    if (event.type == WatchEvent::Type::kDeleted) {
      objects_.erase(key);
    } else {
      objects_[key] = event.object;
    }
  }
  changed_.notify_all();
  if (event.type == WatchEvent::Type::kDeleted) {
    Notify(handlers_.on_delete, before ? *before : event.object);
  } else if (before) {
    Notify(handlers_.on_update, *before, event.object);
  } else {
    Notify(handlers_.on_add, event.object);
  }
}

}  // namespace discoblocks::kube
