#include "server/connection.h"

#include <atomic>
#include <cctype>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

namespace discoblocks::server::internal {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using ResponseMessage = http::response<http::string_body>;

// The first read of a request, which only waits for it to begin.
constexpr std::size_t kFirstReadBytes = 4096;
// The API server sends a few hundred bytes of headers; a bearer token or a long
// query string may add a few kilobytes.
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
// A connection we close after an error response may still be receiving the
// rest of a request body. Closing a socket with unread data makes the kernel
// send a reset, which some clients' stacks act on by discarding the response
// they have not read yet (RFC 9112, 9.6), so we stop sending and discard what
// arrives until the client closes too, for this long at most.
constexpr auto kLinger = std::chrono::seconds(2);

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

std::string RemoteOf(const tcp::socket& socket) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : FormatEndpoint(endpoint);
}

// Beast 1.74 has Boost's string_view, not the standard one.
std::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

bool IsHttpError(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// A handler-supplied header must not be able to smuggle in a second header or
// a second response (CR, LF) or break the syntax.
bool IsValidHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool token = std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  HttpResponse response;
  response.status = status;
  response.body = nlohmann::json{{"error", message}}.dump();
  return response;
}

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(std::shared_ptr<ServerState> state, tcp::socket socket, SslContextPtr tls)
      : state_(std::move(state)),
        tls_(std::move(tls)),
        executor_(socket.get_executor()),
        remote_(RemoteOf(socket)),
        stream_(MakeStream(std::move(socket), tls_)) {}

  ~Session() override { state_->Unregister(id_); }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // On the connection's strand.
  void Begin() {
    id_ = state_->Register(this->weak_from_this());
    if (id_ == 0) {
      Close();
      return;
    }
    spdlog::debug("http server: connection from {}", remote_);
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Lowest().expires_after(options().request_timeout);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          [self = this->shared_from_this()](const error_code& ec) { self->OnHandshake(ec); });
    } else {
      WaitForRequest();
    }
  }

  void Stop(bool force) override {
    // A handler runs on the connection's strand, so OnStop waits for it; the
    // flag makes sure its late answer is not sent either.
    if (force) force_stopped_.store(true, std::memory_order_relaxed);
    net::post(executor_, [self = this->shared_from_this(), force] { self->OnStop(force); });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  static Stream MakeStream(tcp::socket socket, const SslContextPtr& tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  [[nodiscard]] const ServerOptions& options() const { return state_->options; }

  void OnStop(bool force) {
    // A connection reading, handling or answering a request is left to finish:
    // its answer goes out with "Connection: close" since the server is stopping.
    if (force || phase_ == Phase::kHandshake || phase_ == Phase::kIdle) Close();
  }

  void OnHandshake(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      spdlog::debug("http server: TLS handshake with {} failed: {}", remote_, ec.message());
      Close();
      return;
    }
    WaitForRequest();
  }

  // Waits for the first bytes of the next request. A connection's first request
  // must arrive within request_timeout; later ones within idle_timeout, after
  // which request_timeout applies to the rest of the request.
  void WaitForRequest() {
    if (state_->stopping()) {
      Close();
      return;
    }
    phase_ = Phase::kIdle;
    if (buffer_.size() > 0) {  // the client sent the next request already (pipelining)
      Lowest().expires_after(options().request_timeout);
      ReadHeader();
      return;
    }
    Lowest().expires_after(first_request_ ? options().request_timeout : options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                              self->OnFirstBytes(ec, n);
                            });
  }

  void OnFirstBytes(const error_code& ec, std::size_t bytes) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      spdlog::debug("http server: connection from {} closed: {}", remote_, ec.message());
      Close();
      return;
    }
    buffer_.commit(bytes);
    if (!first_request_) Lowest().expires_after(options().request_timeout);
    ReadHeader();
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(options().max_body_bytes);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(const error_code& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      OnReadError(ec);
      return;
    }
    // A client that asks before sending its body (curl does for large ones)
    // would otherwise wait a second or more before sending it anyway.
    if (!parser_->is_done() &&
        beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      interim_.emplace(http::status::continue_, 11);
      http::async_write(stream_, *interim_,
                        [self = this->shared_from_this()](const error_code& write_ec, std::size_t) {
                          if (self->phase_ == Phase::kClosed) return;
                          if (write_ec) {
                            self->Close();
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                       if (self->phase_ == Phase::kClosed) return;
                       if (ec) {
                         self->OnReadError(ec);
                         return;
                       }
                       self->OnRequest();
                     });
  }

  void OnReadError(const error_code& ec) {
    if (ec == http::error::body_limit) {
      Reject(413,
             fmt::format("request body exceeds the limit of {} bytes", options().max_body_bytes));
    } else if (ec == http::error::header_limit) {
      Reject(431, fmt::format("request header exceeds the limit of {} bytes", kMaxHeaderBytes));
    } else if (IsHttpError(ec) && ec != http::error::end_of_stream &&
               ec != http::error::partial_message) {
      spdlog::debug("http server: malformed request from {}: {}", remote_, ec.message());
      Reject(400, "malformed request: " + ec.message());
    } else {
      // The client went away, stalled past request_timeout, or broke TLS.
      spdlog::debug("http server: connection from {} closed: {}", remote_, ec.message());
      Close();
    }
  }

  void Reject(int status, const std::string& message) {
    version_ = 11;
    head_ = false;
    Respond(ErrorResponse(status, message), /*close=*/true);
  }

  void OnRequest() {
    phase_ = Phase::kHandling;
    Lowest().expires_never();  // the handler's time is not the client's
    auto message = parser_->release();
    parser_.reset();
    version_ = message.version();
    head_ = message.method() == http::verb::head;
    const bool keep_alive = message.keep_alive();

    HttpRequest request;
    request.method = std::string(View(message.method_string()));
    request.target = std::string(View(message.target()));
    for (const auto& field : message) {
      auto [it, inserted] =
          request.headers.emplace(Lower(View(field.name_string())), View(field.value()));
      if (!inserted) it->second.append(", ").append(View(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_;

    state_->requests.fetch_add(1, std::memory_order_relaxed);
    if (options().handler_pool == nullptr) {
      Respond(Invoke(request), !keep_alive);
    } else {
      HandOver(std::move(request), !keep_alive);
    }
  }

  // Runs the handler on the pool and posts its answer back to this
  // connection's strand.
  void HandOver(HttpRequest request, bool close) {
    const auto wait =
        options().queue_wait ? options().queue_wait(request) : options().request_timeout;
    // What the pool holds, shared by its two callbacks. Members are destroyed in
    // reverse order: the connection (its stream and timers live on the server's
    // I/O) goes before the token, whose release lets the server's shutdown go on
    // and destroy that I/O. Two captures in one lambda have no such order.
    struct Pooled {
      std::shared_ptr<void> token;
      std::shared_ptr<Session> self;
      HttpRequest request;
    };
    auto pooled = std::make_shared<Pooled>(
        Pooled{state_->PooledRequestToken(), this->shared_from_this(), std::move(request)});
    const auto submitted = options().handler_pool->Submit(
        [pooled, close] {
          const auto& self = pooled->self;
          HttpResponse response = self->Invoke(pooled->request);
          net::post(self->executor_, [self, response = std::move(response), close]() mutable {
            self->Respond(std::move(response), close);
          });
        },
        [pooled, wait, close] {
          const auto& self = pooled->self;
          net::post(self->executor_, [self, wait, close] {
            self->Overloaded(
                fmt::format("no worker was free within {} ms (the request's time to start)",
                            wait.count()),
                close);
          });
        },
        WorkerPool::Clock::now() + wait);
    switch (submitted) {
      case WorkerPool::SubmitStatus::kQueued:
        return;
      case WorkerPool::SubmitStatus::kQueueFull:
        Overloaded("every worker is busy and the queue is full", close);
        return;
      case WorkerPool::SubmitStatus::kStopped:
        Overloaded("the server is shutting down", close);
        return;
    }
  }

  // A 503 the API server understands: a Status, whose message it passes on.
  void Overloaded(const std::string& why, bool close) {
    state_->overloaded.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("http server: refused a request from {}: {}", remote_, why);
    HttpResponse response;
    response.status = 503;
    response.body = nlohmann::json{{"kind", "Status"},
                                   {"apiVersion", "v1"},
                                   {"metadata", nlohmann::json::object()},
                                   {"status", "Failure"},
                                   {"reason", "ServiceUnavailable"},
                                   {"code", 503},
                                   {"message", "overloaded, try again: " + why}}
                        .dump();
    response.headers.emplace_back("Retry-After", "1");
    Respond(std::move(response), close);
  }

  HttpResponse Invoke(const HttpRequest& request) {
    try {
      return state_->handler(request);
    } catch (const std::exception& e) {
      spdlog::warn("http server: handler failed on {} {}: {}", request.method, request.target,
                   e.what());
    } catch (...) {
      spdlog::warn("http server: handler failed on {} {}: unknown exception", request.method,
                   request.target);
    }
    return ErrorResponse(500, "internal error");
  }

  std::unique_ptr<ResponseMessage> BuildMessage(HttpResponse response, bool close) {
    if (response.status < 200 || response.status > 599) {
      spdlog::warn("http server: handler answered with status {}; sending 500 instead",
                   response.status);
      response = ErrorResponse(500, "internal error");
    }
    auto message = std::make_unique<ResponseMessage>();
    message->version(version_);
    message->result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) {
      if (!IsValidHeader(name, value)) {
        spdlog::warn("http server: dropping the invalid response header '{}'", name);
        continue;
      }
      message->insert(name, value);
    }
    if (!response.content_type.empty()) {
      message->set(http::field::content_type, response.content_type);
    }
    message->keep_alive(!close);
    if (response.status == 204 || response.status == 304) response.body.clear();
    message->body() = std::move(response.body);
    message->prepare_payload();
    if (head_) message->body().clear();  // Content-Length stays that of the GET
    return message;
  }

  void Respond(HttpResponse response, bool close) {
    if (force_stopped_.load(std::memory_order_relaxed)) {
      Close();
      return;
    }
    close = close || state_->stopping();
    try {
      response_ = BuildMessage(std::move(response), close);
    } catch (const std::exception& e) {
      spdlog::warn("http server: cannot build a response for {}: {}", remote_, e.what());
      Close();
      return;
    }
    phase_ = Phase::kWriting;
    Lowest().expires_after(options().request_timeout);
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this(), close](const error_code& ec, std::size_t) {
                        self->OnWritten(ec, close);
                      });
  }

  void OnWritten(const error_code& ec, bool close) {
    response_.reset();
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      spdlog::debug("http server: cannot answer {}: {}", remote_, ec.message());
      Close();
    } else if (close) {
      CloseGracefully();
    } else {
      first_request_ = false;
      WaitForRequest();
    }
  }

  // After a final response: tells the client we are done, then waits (briefly)
  // for it to finish too, so that it reads the response before the socket goes.
  void CloseGracefully() {
    phase_ = Phase::kClosing;
    Lowest().expires_after(kLinger);
    if constexpr (kTls) {
      // Sends close_notify and waits for the client's; OpenSSL discards any
      // application data that arrives meanwhile.
      stream_.async_shutdown(
          [self = this->shared_from_this()](const error_code&) { self->Close(); });
    } else {
      error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Drain();
    }
  }

  void Drain() {
    buffer_.consume(buffer_.size());
    Lowest().async_read_some(buffer_.prepare(kFirstReadBytes),
                             [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                               if (self->phase_ == Phase::kClosed) return;
                               if (ec) {  // the client closed too, or kLinger passed
                                 self->Close();
                                 return;
                               }
                               self->Drain();
                             });
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  const std::shared_ptr<ServerState> state_;
  const SslContextPtr tls_;  // kept alive for the stream, which refers to it
  const net::any_io_executor executor_;
  const std::string remote_;
  Stream stream_;
  std::uint64_t id_ = 0;
  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> interim_;  // 100 Continue
  std::unique_ptr<ResponseMessage> response_;
  unsigned version_ = 11;  // of the request being answered
  bool head_ = false;
  std::atomic<bool> force_stopped_{false};
};

}  // namespace

void StartConnection(std::shared_ptr<ServerState> state, tcp::socket socket, SslContextPtr tls) {
  const auto executor = socket.get_executor();
  if (tls) {
    auto session =
        std::make_shared<Session<TlsStream>>(std::move(state), std::move(socket), std::move(tls));
    net::dispatch(executor, [session] { session->Begin(); });
  } else {
    auto session =
        std::make_shared<Session<PlainStream>>(std::move(state), std::move(socket), nullptr);
    net::dispatch(executor, [session] { session->Begin(); });
  }
}

}  // namespace discoblocks::server::internal
