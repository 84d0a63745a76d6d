// A minimal HTTP/1.1 server on loopback that answers with canned responses, for
// the states a real API server cannot be made to produce on demand: malformed
// answers, a stalled server, throttling, a watch that reports 410 Gone, a
// connection dropped after the request, a port that refuses connections, a
// certificate from an unexpected CA. Plain HTTP or HTTPS; one request per
// connection unless keep-alive is asked for. One connection at a time.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/pki.h"

namespace discoblocks::testing {

class FakeHttpServer {
 public:
  // Given the request line ("GET /api/v1/... HTTP/1.1"), returns the raw
  // response to write; an empty string never answers (the connection then
  // stays open until the server stops), kHangUp closes the connection without
  // answering.
  using Handler = std::function<std::string(const std::string& request_line)>;

  struct Options {
    std::optional<KeyPair> tls;  // serve HTTPS with this certificate and key
    // Read further requests from a connection after answering one (responses
    // must then not say "Connection: close": see KeepAliveResponse).
    bool keep_alive = false;
    // Bind the port but refuse connections until Listen() is called.
    bool refuse_until_listen = false;
  };

  static const std::string kHangUp;

  explicit FakeHttpServer(Handler handler);
  FakeHttpServer(Handler handler, Options options);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  // Starts accepting connections (see Options::refuse_until_listen).
  void Listen();

  [[nodiscard]] std::string url() const;  // http(s)://127.0.0.1:<port>
  [[nodiscard]] int requests() const { return requests_.load(); }
  [[nodiscard]] int connections() const { return accepted_.load(); }
  // The head (request line and headers) of the last request read, to check
  // what a client sent (e.g. its Authorization header).
  [[nodiscard]] std::string last_request_head() const;

  // A complete response with a JSON body, closing the connection.
  static std::string Response(int status, const std::string& body,
                              const std::string& extra_headers = "");
  // The same, leaving the connection open for the next request.
  static std::string KeepAliveResponse(int status, const std::string& body);

 private:
  void Serve();
  void ServeConnection(int connection);

  Handler handler_;
  Options options_;
  void* tls_context_ = nullptr;  // SSL_CTX*
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> listening_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> accepted_{0};
  mutable std::mutex head_mutex_;
  std::string last_head_;
  std::thread thread_;
};

}  // namespace discoblocks::testing
