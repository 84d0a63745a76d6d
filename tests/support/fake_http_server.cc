#include "support/fake_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace discoblocks::testing {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr MemoryBio(const std::string& text) {
  return {BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free};
}

SSL_CTX* MakeTlsContext(const KeyPair& pair) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  BioPtr cert_bio = MemoryBio(pair.certificate_pem);
  BioPtr key_bio = MemoryBio(pair.private_key_pem);
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const bool ok = context != nullptr && cert != nullptr && key != nullptr &&
                  SSL_CTX_use_certificate(context, cert) == 1 &&
                  SSL_CTX_use_PrivateKey(context, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    SSL_CTX_free(context);
    throw std::runtime_error("fake server: cannot use the TLS certificate");
  }
  return context;
}

// One accepted connection, plain or TLS. Waits for data at most 50 ms at a
// time, so that the server notices when it is stopped.
class Stream {
 public:
  Stream(int fd, SSL_CTX* tls) : fd_(fd) {
    if (tls != nullptr) {
      ssl_ = SSL_new(tls);
      SSL_set_fd(ssl_, fd);
    }
  }
  ~Stream() { SSL_free(ssl_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // False when the client gave up (e.g. it does not trust the certificate).
  bool Handshake() { return ssl_ == nullptr || SSL_accept(ssl_) == 1; }

  // > 0: bytes read; 0: nothing yet; < 0: the client closed the connection.
  long Read(char* buffer, int size) {
    if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
      pollfd ready{fd_, POLLIN, 0};
      const int polled = ::poll(&ready, 1, 50);
      if (polled <= 0) return polled;
    }
    const long got = ssl_ != nullptr ? SSL_read(ssl_, buffer, size)
                                     : ::recv(fd_, buffer, static_cast<std::size_t>(size), 0);
    return got > 0 ? got : -1;
  }

  void Write(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const long wrote =
          ssl_ != nullptr
              ? SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent))
              : ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) return;
      sent += static_cast<std::size_t>(wrote);
    }
  }

  // Ends our side: the client reads the end of the stream.
  void Finish() {
    if (ssl_ != nullptr) SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
  }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
};

// The Content-Length of a request head, 0 when absent.
std::size_t ContentLength(const std::string& head) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

}  // namespace

const std::string FakeHttpServer::kHangUp = "\x01hang up";

FakeHttpServer::FakeHttpServer(Handler handler) : FakeHttpServer(std::move(handler), Options{}) {}

FakeHttpServer::FakeHttpServer(Handler handler, Options options)
    : handler_(std::move(handler)), options_(std::move(options)) {
  if (options_.tls) {
    // SSL_write would raise SIGPIPE on a connection the client dropped.
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
      throw std::runtime_error("fake server: cannot ignore SIGPIPE");
    }
    tls_context_ = MakeTlsContext(*options_.tls);
  }
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("fake server: cannot bind on loopback");
  }
  port_ = ntohs(address.sin_port);
  // Bound but not listening: connecting is refused (RST), as on a closed port.
  if (!options_.refuse_until_listen) Listen();
  thread_ = std::thread([this] { Serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
  SSL_CTX_free(static_cast<SSL_CTX*>(tls_context_));
}

void FakeHttpServer::Listen() {
  if (listening_.exchange(true)) return;
  if (::listen(listener_, 16) != 0) throw std::runtime_error("fake server: cannot listen");
}

std::string FakeHttpServer::url() const {
  return fmt::format("{}://127.0.0.1:{}", options_.tls ? "https" : "http", port_);
}

std::string FakeHttpServer::last_request_head() const {
  const std::lock_guard lock(head_mutex_);
  return last_head_;
}

std::string FakeHttpServer::Response(int status, const std::string& body,
                                     const std::string& extra_headers) {
  return fmt::format(
      "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n{}\r\n{}",
      status, body.size(), extra_headers, body);
}

std::string FakeHttpServer::KeepAliveResponse(int status, const std::string& body) {
  return fmt::format(
      "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", status,
      body.size(), body);
}

void FakeHttpServer::Serve() {
  // A thread per connection, so that a connection kept alive (or stalled)
  // does not hold up the next one. The handler may run on several at once.
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers;
  while (!stopping_) {
    // Reap the finished ones: a client that reconnects in a loop must not
    // pile up threads.
    std::erase_if(workers, [](Worker& worker) {
      if (!worker.done->load()) return false;
      worker.thread.join();
      return true;
    });
    if (!listening_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    pollfd ready{listener_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;
    const int connection = ::accept(listener_, nullptr, nullptr);
    if (connection < 0) continue;
    ++accepted_;
    // As Go's servers (the API server's, the kubelet's) do: with Nagle's
    // algorithm on, TLS 1.3's session tickets and then the answer wait for the
    // client's delayed ACK, about 40 ms on every new connection.
    const int no_delay = 1;
    ::setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof(no_delay));
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers.push_back({std::thread([this, connection, done] {
                         ServeConnection(connection);
                         *done = true;
                       }),
                       done});
  }
  for (auto& worker : workers) worker.thread.join();
}

void FakeHttpServer::ServeConnection(int connection) {
  {
    Stream stream(connection, static_cast<SSL_CTX*>(tls_context_));
    if (stream.Handshake()) {
      std::string pending;
      char buffer[4096];
      bool open = true;
      while (open && !stopping_) {
        // A whole request: its head, then as much body as it announces.
        const auto head_end = pending.find("\r\n\r\n");
        const bool complete =
            head_end != std::string::npos &&
            pending.size() >= head_end + 4 + ContentLength(pending.substr(0, head_end + 2));
        if (!complete) {
          const long got = stream.Read(buffer, sizeof(buffer));
          if (got < 0) break;
          pending.append(buffer, static_cast<std::size_t>(got));
          continue;
        }
        const std::size_t length = head_end + 4 + ContentLength(pending.substr(0, head_end + 2));
        const std::string request_line = pending.substr(0, pending.find("\r\n"));
        {
          const std::lock_guard lock(head_mutex_);
          last_head_ = pending.substr(0, head_end + 2);  // with its last line's CRLF
        }
        pending.erase(0, length);
        ++requests_;
        const std::string response = handler_(request_line);
        if (response.empty()) {
          // Stall: never answer; the connection stays open until we stop.
          while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          break;
        }
        if (response == kHangUp) {
          stream.Finish();
          break;
        }
        stream.Write(response);
        open = options_.keep_alive;
        if (!open) stream.Finish();
      }
      // Wait for the client to close, so that it reads everything we sent.
      char drain[256];
      while (!stopping_ && stream.Read(drain, sizeof(drain)) >= 0) {
      }
    }
  }
  ::close(connection);
}

}  // namespace discoblocks::testing
