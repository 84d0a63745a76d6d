#include "kube/informer.h"

#include <utility>

#include <spdlog/spdlog.h>

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

void Informer::Run() {
  auto backoff = options_.initial_backoff;
  bool need_list = true;
  while (!stopping_) {
    if (need_list) {
      if (!Relist()) {
        Sleep(backoff);
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      need_list = false;
    }
    WatchOptions watch;
    watch.label_selector = options_.label_selector;
    watch.field_selector = options_.field_selector;
    watch.timeout = options_.watch_timeout;
    {
      const std::lock_guard lock(mutex_);
      watch.resource_version = resource_version_;
      ++stats_.watches;
    }
    bool received = false;
    auto streamed = client_->Watch(
        type_, options_.ns, watch,
        [&](const WatchEvent& event) {
          received = true;
          Apply(event);
          return !stopping_;
        },
        stopping_);
    if (stopping_) break;
    if (streamed) {
      backoff = options_.initial_backoff;  // the server ended it; resume at once
      continue;
    }
    if (streamed.error().kind == ErrorKind::kGone) {
      const std::lock_guard lock(mutex_);
      ++stats_.gone;
      need_list = true;
      continue;
    }
    RecordError(streamed.error());
    if (received) backoff = options_.initial_backoff;
    Sleep(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
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
  for (const json& object : added) {
    if (handlers_.on_add) handlers_.on_add(object);
  }
  for (const auto& [before, after] : updated) {
    if (handlers_.on_update) handlers_.on_update(before, after);
  }
  for (const json& object : deleted) {
    if (handlers_.on_delete) handlers_.on_delete(object);
  }
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
    if (handlers_.on_delete) handlers_.on_delete(before ? *before : event.object);
  } else if (before) {
    if (handlers_.on_update) handlers_.on_update(*before, event.object);
  } else if (handlers_.on_add) {
    handlers_.on_add(event.object);
  }
}

}  // namespace discoblocks::kube
