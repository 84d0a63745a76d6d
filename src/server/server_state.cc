#include "server/server_state.h"

namespace discoblocks::server::internal {

void ServerState::BeginStopping() {
  std::lock_guard lock(mutex_);
  stopping_.store(true, std::memory_order_release);
}

std::uint64_t ServerState::Register(std::weak_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (stopping_.load(std::memory_order_relaxed)) return 0;
  if (options.max_connections != 0 && live_.size() >= options.max_connections) {
    refused_connections.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  const std::uint64_t id = next_id_++;
  live_.emplace(id, std::move(connection));
  live_count_.store(live_.size(), std::memory_order_relaxed);
  return id;
}

void ServerState::Unregister(std::uint64_t id) {
  if (id == 0) return;
  std::lock_guard lock(mutex_);
  live_.erase(id);
  live_count_.store(live_.size(), std::memory_order_relaxed);
  if (live_.empty()) drained_.notify_all();
}

std::vector<std::shared_ptr<Connection>> ServerState::Live() {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Connection>> live;
  live.reserve(live_.size());
  for (const auto& [id, weak] : live_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

bool ServerState::WaitDrained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return drained_.wait_until(lock, deadline, [this] { return live_.empty(); });
}

std::shared_ptr<void> ServerState::PooledRequestToken() {
  {
    std::lock_guard lock(mutex_);
    ++pooled_requests_;
  }
  // Holds the state alive too: the last token may go after the server.
  return {nullptr, [state = shared_from_this()](void*) {
            std::lock_guard lock(state->mutex_);
            if (--state->pooled_requests_ == 0) state->pooled_done_.notify_all();
          }};
}

void ServerState::WaitPooledRequests() {
  std::unique_lock lock(mutex_);
  pooled_done_.wait(lock, [this] { return pooled_requests_ == 0; });
}

}  // namespace discoblocks::server::internal
