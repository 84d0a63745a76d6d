// What the HTTP server shares with its connections: options, handler,
// counters, and the set of live connections that Shutdown works through.
// Internal to src/server/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/http_server.h"

namespace discoblocks::server::internal {

class Connection {
 public:
  virtual ~Connection() = default;
  // Thread-safe. Not forced: closes the connection now if it is between
  // requests, else once the request in progress has been answered (the answer
  // says "Connection: close"). Forced: closes it now.
  virtual void Stop(bool force) = 0;
};

// Each connection holds it by shared_ptr, so it outlives the last of them,
// whichever thread destroys that one.
class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(ServerOptions server_options, Handler request_handler)
      : options(std::move(server_options)), handler(std::move(request_handler)) {}

  const ServerOptions options;
  const Handler handler;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> overloaded{0};
  // Registered connections (they count against max_connections).
  [[nodiscard]] std::size_t live_count() const {
    return live_count_.load(std::memory_order_relaxed);
  }

  [[nodiscard]] bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // From now on Register refuses new connections.
  void BeginStopping();

  // Returns an id for Unregister, or 0 if the server is stopping or already has
  // max_connections (the caller then closes the connection).
  std::uint64_t Register(std::weak_ptr<Connection> connection);
  void Unregister(std::uint64_t id);
  std::vector<std::shared_ptr<Connection>> Live();
  // True once no connection is registered; false if `deadline` came first.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline);

  // A token held by a request handed to the handler pool, for as long as the
  // pool holds it (queued or running): the connection may be gone by then,
  // but the server's I/O must not be, since the answer is posted to it.
  std::shared_ptr<void> PooledRequestToken();
  // Waits, without a bound, for every such token to be released.
  void WaitPooledRequests();

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> live_count_{0};
  std::mutex mutex_;  // guards what follows
  std::condition_variable drained_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> live_;
  std::size_t pooled_requests_ = 0;
  std::condition_variable pooled_done_;
  std::uint64_t next_id_ = 1;
};

}  // namespace discoblocks::server::internal
