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
class ServerState {
 public:
  ServerState(ServerOptions server_options, Handler request_handler)
      : options(std::move(server_options)), handler(std::move(request_handler)) {}

  const ServerOptions options;
  const Handler handler;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> requests{0};

  [[nodiscard]] bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // From now on Register refuses new connections.
  void BeginStopping();

  // Returns an id for Unregister, or 0 if the server is stopping (the caller
  // then closes the connection).
  std::uint64_t Register(std::weak_ptr<Connection> connection);
  void Unregister(std::uint64_t id);
  std::vector<std::shared_ptr<Connection>> Live();
  // True once no connection is registered; false if `deadline` came first.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline);

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards what follows
  std::condition_variable drained_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> live_;
  std::uint64_t next_id_ = 1;
};

}  // namespace discoblocks::server::internal
