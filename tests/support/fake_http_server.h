// A minimal HTTP/1.1 server on loopback that answers with canned responses, for
// the states a real API server cannot be made to produce on demand: malformed
// answers, a stalled server, throttling, a watch that reports 410 Gone. Plain
// HTTP; one request per connection.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace discoblocks::testing {

class FakeHttpServer {
 public:
  // Given the request line ("GET /api/v1/... HTTP/1.1"), returns the raw
  // response to write, or std::nullopt-like empty string to never answer
  // (the connection then stays open until the server stops).
  using Handler = std::function<std::string(const std::string& request_line)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  [[nodiscard]] std::string url() const;  // http://127.0.0.1:<port>
  [[nodiscard]] int requests() const { return requests_.load(); }

  // A complete response with a JSON body.
  static std::string Response(int status, const std::string& body,
                              const std::string& extra_headers = "");

 private:
  void Serve();

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex connections_mutex_;
  std::vector<int> connections_;
  std::thread thread_;
};

}  // namespace discoblocks::testing
