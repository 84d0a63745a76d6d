// A generic HTTP/1.1 server, plain or TLS, for the operator's webhook and its
// health and metrics port. Requests go to one Handler; everything between the
// socket and the Handler (keep-alive, limits, timeouts, certificate rotation,
// graceful shutdown) is handled here. Built on Boost.Beast, which stays out of
// this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"
#include "util/worker_pool.h"

namespace discoblocks::server {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query string
  std::string body;
  // Lower-case names; a header sent several times has its values joined by ", ".
  std::map<std::string, std::string> headers;
  std::string remote_address;  // "ip:port" of the client
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called once per request, concurrently for different connections: on one of
// the server's I/O threads, or on a worker of ServerOptions::handler_pool when
// there is one. It may block for a while (a driver call takes milliseconds) but
// must return: Shutdown waits for it. An exception becomes a 500 "internal error".
using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct TlsFiles {
  std::filesystem::path certificate;  // PEM: the server certificate, then its chain
  std::filesystem::path private_key;  // PEM
};

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;                // 0 = any free port (see port())
  std::optional<TlsFiles> tls;           // absent = plain HTTP (health/metrics port)
  unsigned threads = 0;                  // 0 = one per core (at least 2)
  std::size_t max_body_bytes = 3 << 20;  // larger bodies: 413 with a message
  // To receive one whole request (headers and body), counted from its first byte
  // (for a connection's first request: from the connection's start, or the end
  // of its TLS handshake): slow or stalled clients are cut off. Also bounds the
  // TLS handshake and the writing of a response.
  std::chrono::milliseconds request_timeout{10000};
  // How long a keep-alive connection may sit idle between requests.
  std::chrono::milliseconds idle_timeout{60000};
  // How often the TLS files are re-read to pick up a rotated certificate.
  std::chrono::milliseconds certificate_check_interval{1000};
  // Connections beyond this many are closed as soon as they are accepted
  // (0: no cap). With max_body_bytes it bounds the memory requests can hold.
  std::size_t max_connections = 0;
  // Where the handler runs. Null: on the I/O thread that read the request,
  // which suits cheap handlers (health, metrics). Set: on this pool, so that
  // CPU-bound handlers (driver calls) never hold up reading and writing other
  // connections; the pool must outlive the server. A request the pool cannot
  // take (queue full, or no worker free within `queue_wait`) is answered 503
  // with a Kubernetes Status that says why.
  WorkerPool* handler_pool = nullptr;
  // How long a request may wait for a worker, counted from when it was read.
  // Null: request_timeout.
  std::function<std::chrono::milliseconds(const HttpRequest&)> queue_wait;
};

class HttpServer {
 public:
  // Binds and listens before returning, so a client may connect as soon as this
  // returns. Errors name the address:port and the reason, or the TLS file and
  // what is wrong with it.
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // calls Shutdown()

  // The port listened on (the one chosen when ServerOptions::port was 0).
  [[nodiscard]] std::uint16_t port() const;

  // Stops accepting, closes idle keep-alive connections, lets requests in flight
  // finish (up to `grace`, after which their connections are closed), and joins
  // the threads. A request whose handler is still running after `grace` keeps
  // Shutdown waiting until the handler returns. Idempotent. Must not be called
  // from a Handler.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(20));

  struct Stats {
    std::uint64_t connections;          // accepted since Start
    std::uint64_t requests;             // complete requests passed to the handler
    std::uint64_t refused_connections;  // closed at once: over max_connections
    std::uint64_t overloaded;           // answered 503: the handler pool could not take them
    std::size_t open_connections;
    std::uint64_t certificate_reloads;
    std::uint64_t certificate_reload_failures;
    std::string last_certificate_error;  // empty if none yet
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace discoblocks::server
