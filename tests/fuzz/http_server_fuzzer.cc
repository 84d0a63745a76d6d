// Fuzzes the HTTP server's request path (server/http_server.h): each input is
// written raw, as one client's bytes, to a plain-HTTP HttpServer on
// 127.0.0.1, started once per process with a trivial handler. Requests are
// parsed, limited and answered by the server's own connection code on its
// threads; this drives all of it (request head and body limits, pipelining,
// Expect: 100-continue, HEAD, keep-alive and close) rather than the parser
// alone.
//
// The handler answers with the status a request asks for in X-Fuzz-Status and
// echoes X-Fuzz-Header ("name: value") as a response header, so that the
// server's checks of what a handler returns are fuzzed too.
//
// Checked besides "no crash, hang or leak in the server": after the client's
// bytes and a half close, the server answers and closes within a few seconds,
// and what it sends starts with a well-formed HTTP/1 status line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "server/http_server.h"

namespace {

namespace server = discoblocks::server;
using discoblocks::fuzz::Fail;
using discoblocks::fuzz::Require;

// The server gives up on a request after this; the client waits longer.
constexpr auto kRequestTimeout = std::chrono::milliseconds(1000);
constexpr int kClientWaitSeconds = 5;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

server::HttpResponse Answer(const server::HttpRequest& request) {
  server::HttpResponse response;
  response.body = nlohmann::json{{"method", request.method},
                                 {"target", request.target},
                                 {"headers", request.headers.size()},
                                 {"body_bytes", request.body.size()}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (const auto status = request.headers.find("x-fuzz-status"); status != request.headers.end()) {
    const std::string& text = status->second;
    int value = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), value).ec == std::errc()) {
      response.status = value;
    }
  }
  if (const auto header = request.headers.find("x-fuzz-header"); header != request.headers.end()) {
    const std::string& text = header->second;
    const auto colon = text.find(':');
    response.headers.emplace_back(text.substr(0, colon),
                                  colon == std::string::npos ? "" : text.substr(colon + 1));
  }
  return response;
}

std::unique_ptr<server::HttpServer> StartServer() {
  spdlog::set_level(spdlog::level::off);  // malformed requests are logged at debug and warn
  server::ServerOptions options;
  options.address = "127.0.0.1";
  options.threads = 2;
  options.max_body_bytes = 1024;  // so that short inputs reach the 413 path
  options.request_timeout = kRequestTimeout;
  options.idle_timeout = kRequestTimeout;
  auto started = server::HttpServer::Start(options, Answer);
  if (!started) Fail("the server does not start", started.error().message);
  return std::move(started).value();
}

std::uint16_t ServerPort() {
  static const std::unique_ptr<server::HttpServer> instance = StartServer();
  return instance->port();
}

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    Require(fd_ >= 0, "a socket", ErrnoText(errno));
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

// Everything the server sends until it closes; fails if it does neither
// within kClientWaitSeconds.
std::string Exchange(std::string_view request) {
  Socket socket;
  timeval wait{kClientWaitSeconds, 0};
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(ServerPort());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's timer (SIGALRM) may interrupt connect; the connection then
  // completes on its own, and poll says when.
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    Require(errno == EINTR, "the server accepts a connection", ErrnoText(errno));
    pollfd ready{socket.fd(), POLLOUT, 0};
    while (::poll(&ready, 1, kClientWaitSeconds * 1000) < 0) {
      Require(errno == EINTR, "poll", ErrnoText(errno));
    }
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
    Require((ready.revents & POLLOUT) != 0 && error == 0, "the server accepts a connection",
            ErrnoText(error));
  }

  // The server may answer and close before reading everything (a 413, a
  // malformed head): a failed send then is the server's right.
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(socket.fd(), SHUT_WR);

  std::string received;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n > 0) {
      received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Fail("the server neither answers nor closes within 5 s", received);
    }
    Fail("recv", ErrnoText(errno));
  }
  return received;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string answer = Exchange(discoblocks::fuzz::AsText(data, size));
  if (answer.empty()) return 0;  // e.g. the client sent nothing, or half a request head
  // "HTTP/1.1 200 OK\r\n": a version, a three-digit status from 100 to 599.
  Require(answer.size() >= 13 && answer.starts_with("HTTP/") && IsDigit(answer[5]) &&
              answer[6] == '.' && IsDigit(answer[7]) && answer[8] == ' ' && IsDigit(answer[9]) &&
              IsDigit(answer[10]) && IsDigit(answer[11]) && answer[9] >= '1' && answer[9] <= '5',
          "the answer starts with a status line", answer.substr(0, 64));
  Require(answer.find("\r\n\r\n") != std::string::npos, "the answer has a complete head",
          answer.substr(0, 256));
  return 0;
}
