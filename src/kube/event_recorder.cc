#include "kube/event_recorder.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/micro_time.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;

// The API's limits (k8s.io/kubernetes/pkg/apis/core/validation/events.go).
constexpr std::size_t kNoteLimit = 1024;
constexpr std::size_t kShortFieldLimit = 128;  // reason, action, reportingInstance
constexpr std::size_t kNameLimit = 253;
// How often forgotten series and refilled buckets are swept away.
constexpr std::chrono::seconds kSweepInterval{30};

std::string ObjectKey(const ObjectReference& object) {
  if (!object.uid.empty()) return object.uid;
  return fmt::format("{}/{}/{}", object.kind, object.ns, object.name);
}

json ReferenceJson(const ObjectReference& object) {
  json reference = json::object();
  const std::pair<const char*, const std::string*> fields[] = {
      {"apiVersion", &object.api_version},
      {"kind", &object.kind},
      {"namespace", &object.ns},
      {"name", &object.name},
      {"uid", &object.uid},
      {"resourceVersion", &object.resource_version},
      {"fieldPath", &object.field_path}};
  for (const auto& [key, value] : fields) {
    if (!value->empty()) reference[key] = *value;
  }
  return reference;
}

json SeriesJson(std::int64_t count, std::chrono::system_clock::time_point last_observed) {
  return {{"count", count}, {"lastObservedTime", FormatMicroTime(last_observed)}};
}

// What is wrong with an Event's short fields, or nothing.
std::string Invalid(const ObjectReference& regarding, std::string_view reason,
                    std::string_view action) {
  if (regarding.kind.empty() || regarding.name.empty()) return "the object has no kind or name";
  for (const auto& [field, value] :
       {std::pair<std::string_view, std::string_view>{"reason", reason}, {"action", action}}) {
    if (value.empty()) return fmt::format("the {} is empty", field);
    if (value.size() > kShortFieldLimit) {
      return fmt::format("the {} is {} bytes long; at most {} are allowed", field, value.size(),
                         kShortFieldLimit);
    }
  }
  return {};
}

}  // namespace

ObjectReference ReferenceTo(const json& object) {
  ObjectReference reference;
  reference.api_version = StringOr(object, "apiVersion");
  reference.kind = StringOr(object, "kind");
  const auto metadata = object.is_object() ? object.find("metadata") : object.end();
  if (metadata != object.end()) {
    reference.ns = StringOr(*metadata, "namespace");
    reference.name = StringOr(*metadata, "name");
    reference.uid = StringOr(*metadata, "uid");
    reference.resource_version = StringOr(*metadata, "resourceVersion");
  }
  return reference;
}

ObjectReference ReferenceTo(const json& object, std::string_view api_version,
                            std::string_view kind) {
  ObjectReference reference = ReferenceTo(object);
  reference.api_version = api_version;
  reference.kind = kind;
  reference.resource_version.clear();
  return reference;
}

std::string TruncateUtf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character
  // that would be cut.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

Result<std::unique_ptr<EventRecorder>> EventRecorder::Create(
    const std::shared_ptr<const Client>& client, EventRecorderOptions options) {
  const auto fail = [](const std::string& message) { return MakeError("events: " + message); };
  if (client == nullptr) return fail("no client");
  if (options.reporting_controller.empty()) return fail("the reporting controller is empty");
  if (options.reporting_instance.empty()) return fail("the reporting instance is empty");
  if (options.reporting_instance.size() > kShortFieldLimit) {
    return fail(fmt::format("the reporting instance is {} bytes long; at most {} are allowed",
                            options.reporting_instance.size(), kShortFieldLimit));
  }
  if (options.queue_capacity == 0) return fail("the queue capacity must be at least 1");
  if (options.burst < 1) return fail("the burst must be at least 1");
  if (options.refill_interval.count() <= 0) return fail("the refill interval must be positive");
  if (options.request_timeout.count() <= 0) return fail("the request timeout must be positive");
  if (options.max_tracked == 0) return fail("max_tracked must be at least 1");
  std::unique_ptr<EventRecorder> recorder(new EventRecorder(client, std::move(options)));
  recorder->thread_ = std::thread([raw = recorder.get()] { raw->Run(); });
  return recorder;
}

EventRecorder::EventRecorder(const std::shared_ptr<const Client>& client,
                             EventRecorderOptions options)
    : client_(client->WithCallTimeout(options.request_timeout)),
      options_(std::move(options)),
      next_sweep_(Clock::now() + kSweepInterval) {
  if (options_.registry != nullptr) {
    sent_metric_ = &options_.registry->Counter(
        "discoblocks_events_sent_total",
        "Writes of Events to the API server, by operation (create, update_series).");
    dropped_metric_ = &options_.registry->Counter(
        "discoblocks_events_dropped_total",
        "Events not sent, by reason (queue_full, spam, invalid, failed, stopped).");
  }
}

EventRecorder::~EventRecorder() { Stop(); }

void EventRecorder::Drop(std::uint64_t Stats::*counter, std::string_view reason) {
  ++(stats_.*counter);
  if (dropped_metric_ != nullptr) dropped_metric_->Increment({{"reason", std::string(reason)}});
}

void EventRecorder::Record(const ObjectReference& regarding, EventType type,
                           std::string_view reason, std::string_view action,
                           std::string_view note) {
  const std::string why = Invalid(regarding, reason, action);
  const std::lock_guard lock(mutex_);
  if (!why.empty()) {
    spdlog::warn("event {} about {} {}/{} not recorded: {}", reason, regarding.kind, regarding.ns,
                 regarding.name, why);
    Drop(&Stats::dropped_invalid, "invalid");
    return;
  }
  if (refusing_) {
    Drop(&Stats::dropped_stopped, "stopped");
    return;
  }
  const std::string type_name = type == EventType::kWarning ? "Warning" : "Normal";
  std::string truncated = TruncateUtf8(note, kNoteLimit);
  Key key{ObjectKey(regarding), type_name, std::string(reason), std::string(action),
          std::move(truncated)};
  const auto now = Clock::now();
  const auto observed = std::chrono::system_clock::now();

  if (auto found = series_.find(key); found != series_.end()) {
    Series& series = found->second;
    const bool pending = series.queued || series.in_flight;
    if (pending || now - series.last_seen < options_.series_window) {
      ++series.count;
      ++stats_.aggregated;
      series.last_seen = now;
      series.last_observed = observed;
      if (series.sent_count > 0) dirty_.insert(key);
      work_.notify_one();
      return;
    }
    dirty_.erase(key);  // a final count not yet written is lost with it
    series_.erase(found);
  }

  if (creates_.size() >= options_.queue_capacity || !MakeRoom()) {
    Drop(&Stats::dropped_queue_full, "queue_full");
    return;
  }
  if (!TakeToken(std::get<0>(key), now)) {
    Drop(&Stats::dropped_spam, "spam");
    return;
  }
  Series series;
  series.event = {{"apiVersion", "events.k8s.io/v1"},
                  {"kind", "Event"},
                  {"metadata",
                   {{"name", NextName(regarding.name)},
                    // Events about cluster-scoped objects live in "default",
                    // as the API requires.
                    {"namespace", regarding.ns.empty() ? "default" : regarding.ns}}},
                  {"eventTime", FormatMicroTime(observed)},
                  {"reportingController", options_.reporting_controller},
                  {"reportingInstance", options_.reporting_instance},
                  {"action", std::get<3>(key)},
                  {"reason", std::get<2>(key)},
                  {"note", std::get<4>(key)},
                  {"type", type_name},
                  {"regarding", ReferenceJson(regarding)}};
  series.last_seen = now;
  series.last_observed = observed;
  series.queued = true;
  series_.emplace(key, std::move(series));
  creates_.push_back(std::move(key));
  work_.notify_one();
}

std::string EventRecorder::NextName(std::string_view regarding_name) {
  // As client-go: the object's name and a timestamp, here made unique even
  // within one nanosecond.
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  last_name_suffix_ = std::max(now, last_name_suffix_ + 1);
  const std::string suffix = fmt::format(".{:x}", last_name_suffix_);
  return std::string(regarding_name.substr(0, kNameLimit - suffix.size())) + suffix;
}

bool EventRecorder::TakeToken(const std::string& object, Clock::time_point now) {
  auto [found, added] =
      buckets_.try_emplace(object, Bucket{static_cast<double>(options_.burst), now});
  Bucket& bucket = found->second;
  const std::chrono::duration<double> elapsed = now - bucket.updated;
  bucket.tokens =
      std::min<double>(options_.burst, bucket.tokens + elapsed / options_.refill_interval);
  bucket.updated = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

bool EventRecorder::MakeRoom() {
  if (series_.size() < options_.max_tracked) return true;
  Sweep(Clock::now());
  if (series_.size() < options_.max_tracked) return true;
  // Forget the series seen longest ago (not one waiting to be sent).
  auto oldest = series_.end();
  for (auto it = series_.begin(); it != series_.end(); ++it) {
    if (it->second.queued || it->second.in_flight) continue;
    if (oldest == series_.end() || it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest == series_.end()) return false;
  dirty_.erase(oldest->first);
  series_.erase(oldest);
  return true;
}

void EventRecorder::Sweep(Clock::time_point now) {
  for (auto it = series_.begin(); it != series_.end();) {
    const Series& series = it->second;
    const bool forgotten = !series.queued && !series.in_flight && !dirty_.contains(it->first) &&
                           now - series.last_seen >= options_.series_window;
    it = forgotten ? series_.erase(it) : std::next(it);
  }
  // A bucket that has filled up again is the same as none.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const std::chrono::duration<double> elapsed = now - it->second.updated;
    const bool full = it->second.tokens + elapsed / options_.refill_interval >= options_.burst;
    it = full ? buckets_.erase(it) : std::next(it);
  }
  next_sweep_ = now + kSweepInterval;
}

bool EventRecorder::Idle() const { return creates_.empty() && dirty_.empty() && !busy_; }

const EventRecorder::Key* EventRecorder::DueUpdate(Clock::time_point now,
                                                   Clock::time_point* next) const {
  for (const Key& key : dirty_) {
    const auto found = series_.find(key);
    if (found == series_.end() || found->second.in_flight) continue;
    if (flushing_ > 0 || found->second.next_update <= now) return &key;
    *next = std::min(*next, found->second.next_update);
  }
  return nullptr;
}

void EventRecorder::Run() {
  std::unique_lock lock(mutex_);
  while (!exiting_) {
    const auto now = Clock::now();
    if (now >= next_sweep_) Sweep(now);
    if (!creates_.empty()) {
      const Key key = creates_.front();
      creates_.pop_front();
      SendCreate(lock, key);
      continue;
    }
    Clock::time_point next = next_sweep_;
    if (const Key* due = DueUpdate(now, &next); due != nullptr) {
      const Key key = *due;
      SendSeries(lock, key);
      continue;
    }
    idle_.notify_all();
    work_.wait_until(lock, next);
  }
  idle_.notify_all();
}

void EventRecorder::SendCreate(std::unique_lock<std::mutex>& lock, const Key& key) {
  auto found = series_.find(key);
  if (found == series_.end()) return;
  Series& series = found->second;
  series.queued = false;
  series.in_flight = true;
  busy_ = true;
  json event = series.event;
  const std::int64_t count = series.count;
  // Repeats seen before the Event was created go in with it.
  if (count >= 2) event["series"] = SeriesJson(count, series.last_observed);
  const std::string ns = StringOr(event["metadata"], "namespace");

  lock.unlock();
  auto created = client_->Create(resources::kEvents, ns, event);
  lock.lock();

  busy_ = false;
  found = series_.find(key);  // nothing erases a series in flight, but be sure
  if (found == series_.end()) return;
  Series& after = found->second;
  after.in_flight = false;
  if (!created) {
    spdlog::warn("event {} not created: {}", std::get<2>(key), created.error().message);
    Drop(&Stats::dropped_failed, "failed");
    dirty_.erase(key);
    series_.erase(found);
    return;
  }
  ++stats_.created;
  if (sent_metric_ != nullptr) sent_metric_->Increment({{"operation", "create"}});
  after.sent_count = count;
  // The first repeat after the creation is written at once, as client-go
  // does; later ones wait for series_update_interval.
  after.next_update = Clock::now();
  if (after.count > after.sent_count) dirty_.insert(key);
}

void EventRecorder::SendSeries(std::unique_lock<std::mutex>& lock, const Key& key) {
  auto found = series_.find(key);
  if (found == series_.end()) {
    dirty_.erase(key);
    return;
  }
  Series& series = found->second;
  series.in_flight = true;
  busy_ = true;
  const std::int64_t count = series.count;
  const json patch = {{"series", SeriesJson(count, series.last_observed)}};
  const std::string name = StringOr(series.event["metadata"], "name");
  const std::string ns = StringOr(series.event["metadata"], "namespace");

  lock.unlock();
  auto patched = client_->MergePatch(resources::kEvents, ns, name, patch);
  lock.lock();

  busy_ = false;
  found = series_.find(key);
  if (found == series_.end()) {
    dirty_.erase(key);
    return;
  }
  Series& after = found->second;
  after.in_flight = false;
  after.next_update = Clock::now() + options_.series_update_interval;
  if (!patched) {
    if (patched.error().kind == ErrorKind::kNotFound) {
      // The Event expired on the server (its TTL): the series starts a new
      // one, which takes a place in the queue like any new Event.
      after.event["metadata"]["name"] = NextName(ReferenceTo(after.event["regarding"]).name);
      after.sent_count = 0;
      after.queued = true;
      dirty_.erase(key);
      creates_.push_back(key);
      return;
    }
    // Not tried again by itself (a refusal would be refused again, in a
    // loop while flushing): the next occurrence writes the count it missed.
    spdlog::warn("event {}: series not updated: {}", std::get<2>(key), patched.error().message);
    Drop(&Stats::dropped_failed, "failed");
    dirty_.erase(key);
    return;
  }
  ++stats_.series_updates;
  if (sent_metric_ != nullptr) sent_metric_->Increment({{"operation", "update_series"}});
  after.sent_count = count;
  if (after.count <= after.sent_count) dirty_.erase(key);
}

bool EventRecorder::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ++flushing_;
  work_.notify_one();
  const bool done = idle_.wait_for(lock, timeout, [this] { return Idle() || exiting_; });
  --flushing_;
  return done && Idle();
}

void EventRecorder::Stop(std::chrono::milliseconds flush_timeout) {
  {
    const std::lock_guard lock(mutex_);
    if (refusing_ && !thread_.joinable()) return;
    refusing_ = true;
  }
  if (thread_.joinable()) (void)Flush(flush_timeout);
  {
    const std::lock_guard lock(mutex_);
    exiting_ = true;
    // Whatever is left is not sent: the sender ends after its current call.
    for (std::size_t i = 0; i < creates_.size(); ++i) Drop(&Stats::dropped_stopped, "stopped");
    for (const Key& key : creates_) series_.erase(key);
    creates_.clear();
    dirty_.clear();
  }
  work_.notify_one();
  if (thread_.joinable()) thread_.join();
}

EventRecorder::Stats EventRecorder::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace discoblocks::kube
