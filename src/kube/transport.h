// HTTP(S) to the API server over libcurl. Internal to src/kube/; the Client
// above it speaks Kubernetes, this speaks HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/config.h"
#include "kube/errors.h"

namespace discoblocks::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // "/api/v1/...", with its query string
  std::string body;
  std::string content_type;  // for requests with a body
  // Bound on the whole exchange. Send: 0 means the configuration's request
  // timeout. Stream: 0 means unbounded (a watch); connecting is always bounded
  // by the configuration's request timeout.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::chrono::seconds retry_after{0};  // from a Retry-After header
};

class Transport {
 public:
  static Result<std::unique_ptr<Transport>> Create(ClientConfig config);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  // One request, whole. A transport failure (connect, TLS, timeout) is an
  // error; any HTTP status, including errors, is a response. Thread-safe.
  KubeResult<HttpResponse> Send(const HttpRequest& request) const;

  // A streaming request (a watch): `on_data` receives the body as it arrives,
  // until the server ends it, on_data returns false, or `cancel` becomes true
  // (checked at least every second). A non-2xx status is returned as an error
  // built from the body.
  KubeStatus Stream(const HttpRequest& request,
                    const std::function<bool(std::string_view)>& on_data,
                    const std::atomic<bool>& cancel) const;

  [[nodiscard]] const ClientConfig& config() const { return config_; }

 private:
  explicit Transport(ClientConfig config);
  [[nodiscard]] std::string Token() const;
  void* Acquire() const;  // a CURL easy handle, reused for keep-alive
  void Release(void* handle) const;

  ClientConfig config_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<void*> pool_;
  mutable std::mutex token_mutex_;
  mutable std::string token_;
  mutable std::chrono::steady_clock::time_point token_read_at_;
};

}  // namespace discoblocks::kube
