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
    : client_(std::move(client)), type_(std::move(type)), options_(std::move(options)) {
  handler_sets_.push_back(std::move(handlers));
  for (const auto& [name, index] : options_.indexes) indices_[name];
}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(Handlers handlers) {
  const std::lock_guard dispatch(dispatch_mutex_);
  for (const Object& object : List()) Notify(handlers.on_add, *object);
  handler_sets_.push_back(std::move(handlers));
}

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
  Object object = Find(ns, name);
  if (!object) return std::nullopt;
  return *object;
}

Informer::Object Informer::Find(std::string_view ns, std::string_view name) const {
  const std::lock_guard lock(mutex_);
  const auto found = objects_.find(Key(type_.namespaced ? ns : "", name));
  if (found == objects_.end()) return nullptr;
  return found->second;
}

std::vector<Informer::Object> Informer::List() const {
  const std::lock_guard lock(mutex_);
  std::vector<Object> objects;
  objects.reserve(objects_.size());
  for (const auto& [key, object] : objects_) objects.push_back(object);
  return objects;
}

Result<std::vector<Informer::Object>> Informer::ByIndex(std::string_view index,
                                                        std::string_view value) const {
  const std::lock_guard lock(mutex_);
  const auto values = indices_.find(index);
  if (values == indices_.end()) {
    return MakeError(fmt::format("informer {}: no index named \"{}\"", type_.Name(), index));
  }
  std::vector<Object> objects;
  const auto keys = values->second.find(value);
  if (keys == values->second.end()) return objects;
  objects.reserve(keys->second.size());
  for (const std::string& key : keys->second) {
    const auto found = objects_.find(key);
    if (found != objects_.end()) objects.push_back(found->second);
  }
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
  const std::lock_guard lock(mutex_);
  CountErrorLocked(error.message);
}

void Informer::CountErrorLocked(const std::string& message) {
  spdlog::warn("informer {}: {}", type_.Name(), message);
  ++stats_.errors;
  stats_.last_error = message;
}

std::vector<std::string> Informer::IndexValuesLocked(const std::string& index, const json& object) {
  try {
    return options_.indexes.find(index)->second(object);
  } catch (const std::exception& e) {
    CountErrorLocked(fmt::format("index {} failed on {}: {}", index, KeyOf(object), e.what()));
  } catch (...) {
    CountErrorLocked(fmt::format("index {} failed on {}", index, KeyOf(object)));
  }
  return {};
}

void Informer::IndexLocked(const std::string& key, const json& object) {
  for (auto& [index, values] : indices_) {
    for (std::string& value : IndexValuesLocked(index, object)) {
      values[std::move(value)].insert(key);
    }
  }
}

void Informer::UnindexLocked(const std::string& key, const json& object) {
  for (auto& [index, values] : indices_) {
    for (const std::string& value : IndexValuesLocked(index, object)) {
      const auto found = values.find(value);
      if (found == values.end()) continue;
      found->second.erase(key);
      if (found->second.empty()) values.erase(found);
    }
  }
}

Informer::Object Informer::Prepare(json&& object) {
  if (!options_.transform) return std::make_shared<const json>(std::move(object));
  return Prepare(static_cast<const json&>(object));
}

Informer::Object Informer::Prepare(const json& object) {
  if (!options_.transform) return std::make_shared<const json>(object);
  std::string failure;
  try {
    json transformed = options_.transform(object);
    if (transformed.is_object()) {
      // What the informer itself needs, kept whatever the transform did.
      const auto metadata = object.find("metadata");
      if (metadata != object.end() && metadata->is_object()) {
        json& kept = transformed["metadata"];
        if (!kept.is_object()) kept = json::object();
        for (const char* field : {"name", "namespace", "resourceVersion"}) {
          const auto value = metadata->find(field);
          if (value != metadata->end() && !kept.contains(field)) kept[field] = *value;
        }
      }
      return std::make_shared<const json>(std::move(transformed));
    }
    failure = fmt::format("the transform made {} of {}", JsonTypeName(transformed), KeyOf(object));
  } catch (const std::exception& e) {
    failure = fmt::format("the transform failed on {}: {}", KeyOf(object), e.what());
  } catch (...) {
    failure = fmt::format("the transform failed on {}", KeyOf(object));
  }
  RecordError(MakeApiError(ErrorKind::kOther, failure));
  return std::make_shared<const json>(object);
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

template <typename Member, typename... Args>
void Informer::NotifyAll(Member member, const Args&... args) {
  for (const Handlers& handlers : handler_sets_) Notify(handlers.*member, args...);
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
  // Page by page, each transformed before the next is read (see the header).
  std::map<std::string, Object> fresh;
  std::string list_version;
  while (true) {
    auto page = client_->List(type_, options_.ns, list);
    if (page && !page->is_object()) {
      page = MakeApiError(ErrorKind::kMalformedResponse,
                          fmt::format("list {}: the answer is {}, not an object", type_.Name(),
                                      JsonTypeName(*page)));
    }
    if (!page) {
      RecordError(page.error());
      return false;
    }
    // A list's items come without apiVersion and kind (the list says them),
    // a watch's objects with them: cached objects look the same whichever
    // way they came, so that comparing one with an object to create works.
    const std::string list_kind = StringOr(*page, "kind");
    const std::string item_kind =
        list_kind.ends_with("List") ? list_kind.substr(0, list_kind.size() - 4) : std::string();
    const std::string api_version = StringOr(*page, "apiVersion");
    if (const auto items = page->find("items"); items != page->end() && items->is_array()) {
      for (json& item : *items) {
        if (item.is_object() && !item_kind.empty() && !api_version.empty()) {
          if (!item.contains("kind")) item["kind"] = item_kind;
          if (!item.contains("apiVersion")) item["apiVersion"] = api_version;
        }
        std::string key = KeyOf(item);
        fresh.insert_or_assign(std::move(key), Prepare(std::move(item)));
      }
    }
    const json metadata = page->value("metadata", json::object());
    list_version = StringOr(metadata, "resourceVersion");
    list.continue_token = StringOr(metadata, "continue");
    if (list.continue_token.empty()) break;
    if (stopping_) return false;
  }

  const std::lock_guard dispatch(dispatch_mutex_);
  // What changed while we were not watching, for the handlers.
  std::vector<Object> added;
  std::vector<std::pair<Object, Object>> updated;
  std::vector<Object> deleted;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [key, object] : fresh) {
      const auto old = objects_.find(key);
      if (old == objects_.end()) {
        added.push_back(object);
      } else if (VersionOf(*old->second) != VersionOf(*object)) {
        updated.emplace_back(old->second, object);
      }
    }
    for (const auto& [key, object] : objects_) {
      if (fresh.find(key) == fresh.end()) deleted.push_back(object);
    }
    objects_ = std::move(fresh);
    for (auto& [index, values] : indices_) values.clear();
    for (const auto& [key, object] : objects_) IndexLocked(key, *object);
    resource_version_ = list_version;
    ++stats_.lists;
    synced_ = true;
  }
  changed_.notify_all();
  for (const Object& object : added) NotifyAll(&Handlers::on_add, *object);
  for (const auto& [before, after] : updated) NotifyAll(&Handlers::on_update, *before, *after);
  for (const Object& object : deleted) NotifyAll(&Handlers::on_delete, *object);
  return true;
}

void Informer::Apply(const WatchEvent& event) {
  if (event.type == WatchEvent::Type::kBookmark) {
    const std::string version = VersionOf(event.object);
    const std::lock_guard lock(mutex_);
    if (!version.empty()) resource_version_ = version;
    return;
  }
  const std::string key = KeyOf(event.object);
  const std::string version = VersionOf(event.object);
  const bool deleted = event.type == WatchEvent::Type::kDeleted;
  Object after = Prepare(event.object);

  const std::lock_guard dispatch(dispatch_mutex_);
  Object before;
  {
    const std::lock_guard lock(mutex_);
    if (!version.empty()) resource_version_ = version;
    const auto found = objects_.find(key);
    if (found != objects_.end()) {
      before = found->second;
      UnindexLocked(key, *before);
    }
    if (deleted) {
      objects_.erase(key);
    } else {
      IndexLocked(key, *after);
      objects_.insert_or_assign(key, after);
    }
  }
  changed_.notify_all();
  if (deleted) {
    // The last state cached, which the handlers saw; the event's if there was none.
    NotifyAll(&Handlers::on_delete, before ? *before : *after);
  } else if (before) {
    NotifyAll(&Handlers::on_update, *before, *after);
  } else {
    NotifyAll(&Handlers::on_add, *after);
  }
}

}  // namespace discoblocks::kube
