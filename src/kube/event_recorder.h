// Kubernetes Events (events.k8s.io/v1) about our objects, in the shape of
// client-go's tools/events: Record never blocks; one thread sends.
//
// So that a loop cannot flood the API server (or etcd) with Events:
//  - Aggregation. The same (object, type, reason, action, note) seen again
//    within series_window of its last occurrence is not a new Event: it
//    counts into the first one's `series` (count, lastObservedTime). The
//    first repeat is written at once; later ones at most every
//    series_update_interval (and on Flush), each write carrying the latest
//    count.
//  - A token bucket per object (like client-go's spam filter): each new Event
//    (not a repeat) takes a token; burst tokens at first, one more every
//    refill_interval. Events finding the bucket empty are dropped and counted.
//  - A bounded queue of Events waiting to be created; when it is full, new
//    Events are dropped and counted rather than waiting.
// Events are best effort: sending failures are logged and counted as
// dropped; a series update that failed is written with the next occurrence.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "util/result.h"

namespace discoblocks::metrics {
class CounterFamily;
class Registry;
}  // namespace discoblocks::metrics

namespace discoblocks::kube {

// The object an Event is about (core/v1 ObjectReference).
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string field_path;  // optional, e.g. "spec.containers{db}"
};

// The reference to `object`, from its apiVersion, kind and metadata.
ObjectReference ReferenceTo(const nlohmann::json& object);
// The reference to `object` as an object of `api_version` and `kind`, whatever
// its own fields say (a cached list item may lack them), and without its
// resourceVersion: the Event is about the object, not one version of it.
ObjectReference ReferenceTo(const nlohmann::json& object, std::string_view api_version,
                            std::string_view kind);

enum class EventType { kNormal, kWarning };

// The longest prefix of `text` of at most `max_bytes` bytes that does not end
// inside a UTF-8 character.
std::string TruncateUtf8(std::string_view text, std::size_t max_bytes);

struct EventRecorderOptions {
  std::string reporting_controller = "discoblocks";
  // This replica (e.g. the pod's name); at most 128 bytes. Required.
  std::string reporting_instance;
  std::size_t queue_capacity = 1000;          // new Events waiting to be created
  int burst = 25;                             // new Events per object at once...
  std::chrono::seconds refill_interval{300};  // ...and one more each interval
  std::chrono::seconds series_window{600};
  std::chrono::seconds series_update_interval{30};
  // Each call to the API server, retries included, ends within this.
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_tracked = 4096;  // aggregation keys kept; the oldest go first
  // Where discoblocks_events_sent_total{operation} and
  // discoblocks_events_dropped_total{reason} go; none when null. Must outlive
  // the recorder.
  metrics::Registry* registry = nullptr;
};

class EventRecorder {
 public:
  struct Stats {
    std::uint64_t created = 0;         // Events created
    std::uint64_t series_updates = 0;  // series written to existing Events
    std::uint64_t aggregated = 0;      // occurrences counted into a series
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t dropped_spam = 0;     // the object's token bucket was empty
    std::uint64_t dropped_invalid = 0;  // refused by Record (logged)
    std::uint64_t dropped_failed = 0;   // the API server refused or was away
    std::uint64_t dropped_stopped = 0;  // recorded after Stop, or unsent then
  };

  // Starts the sender thread.
  static Result<std::unique_ptr<EventRecorder>> Create(const std::shared_ptr<const Client>& client,
                                                       EventRecorderOptions options);
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;
  ~EventRecorder();  // Stop()

  // Queues an Event about `regarding`. Never blocks on the API server. The
  // note is cut to the API's 1 KiB at a UTF-8 boundary. An empty or longer
  // than 128 bytes reason or action, or a reference without kind or name, is
  // logged and dropped.
  void Record(const ObjectReference& regarding, EventType type, std::string_view reason,
              std::string_view action, std::string_view note);

  // Sends everything queued and every pending series update now; true when
  // all was sent (or dropped) within `timeout`.
  bool Flush(std::chrono::milliseconds timeout);
  // Refuses further Events, flushes for up to `flush_timeout`, and stops the
  // sender; what is still unsent is counted as dropped.
  void Stop(std::chrono::milliseconds flush_timeout = std::chrono::seconds(5));

  [[nodiscard]] Stats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  // object, type, reason, action, note
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;

  struct Series {
    nlohmann::json event;  // as created, without series
    std::int64_t count = 1;
    std::int64_t sent_count = 0;  // the count the server has; 0 until created
    std::chrono::system_clock::time_point last_observed;
    Clock::time_point last_seen;
    Clock::time_point next_update;  // a series update is allowed from then on
    bool queued = false;            // waiting in creates_
    bool in_flight = false;         // being sent
  };

  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };

  // Every call of `client`'s is bounded by options.request_timeout.
  EventRecorder(const std::shared_ptr<const Client>& client, EventRecorderOptions options);
  void Run();
  // Each with mutex_ held; they release it while talking to the API server.
  void SendCreate(std::unique_lock<std::mutex>& lock, const Key& key);
  void SendSeries(std::unique_lock<std::mutex>& lock, const Key& key);
  [[nodiscard]] const Key* DueUpdate(Clock::time_point now, Clock::time_point* next) const;
  bool TakeToken(const std::string& object, Clock::time_point now);
  void Sweep(Clock::time_point now);
  bool MakeRoom();
  void Drop(std::uint64_t Stats::*counter, std::string_view reason);
  [[nodiscard]] std::string NextName(std::string_view regarding_name);
  [[nodiscard]] bool Idle() const;

  std::shared_ptr<const Client> client_;
  EventRecorderOptions options_;
  metrics::CounterFamily* sent_metric_ = nullptr;
  metrics::CounterFamily* dropped_metric_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable work_;  // for the sender
  std::condition_variable idle_;  // for Flush
  std::map<Key, Series> series_;
  std::deque<Key> creates_;
  std::set<Key> dirty_;  // created, with occurrences the server has not seen
  std::map<std::string, Bucket> buckets_;
  Stats stats_;
  int flushing_ = 0;  // Flush calls waiting: every series update is due
  bool busy_ = false;
  bool refusing_ = false;  // after Stop
  bool exiting_ = false;
  Clock::time_point next_sweep_;
  std::uint64_t last_name_suffix_ = 0;

  std::thread thread_;
};

}  // namespace discoblocks::kube
