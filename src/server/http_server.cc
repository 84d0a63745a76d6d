// Threading: one io_context run by `threads` threads. Each connection runs on a
// strand of its own. The handler runs on that strand, on an I/O thread, unless
// the options name a handler pool: then it runs there, and its answer is posted
// back to the strand. Driver calls take milliseconds of CPU and sometimes up to
// their time limit; on the I/O threads a few of them would stall reading and
// writing every other connection, TLS handshakes and health probes included.
#include "server/http_server.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/connection.h"
#include "server/tls_context.h"

namespace discoblocks::server {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using internal::CertificateStore;
using internal::ServerState;

// After a failed accept (out of file descriptors, most likely), wait before the
// next one rather than spin.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// After the grace period, how long closed connections get to unwind.
constexpr auto kForceCloseWait = std::chrono::seconds(1);
// Checking the TLS files more often than this only burns CPU.
constexpr auto kMinCertificateCheck = std::chrono::milliseconds(10);

std::string HostPort(const std::string& address, std::uint16_t port) {
  return address.find(':') == std::string::npos ? fmt::format("{}:{}", address, port)
                                                : fmt::format("[{}]:{}", address, port);
}

}  // namespace

struct HttpServer::Impl {
  Impl(std::shared_ptr<ServerState> server_state, unsigned thread_count)
      : state(std::move(server_state)),
        io(static_cast<int>(thread_count)),
        acceptor(net::make_strand(io)),
        accept_retry(acceptor.get_executor()),
        certificate_timer(net::make_strand(io)),
        work(net::make_work_guard(io)) {}

  void Accept();
  void ScheduleCertificateCheck();
  void Run();

  const std::shared_ptr<ServerState> state;
  std::unique_ptr<CertificateStore> certificates;  // null for plain HTTP
  // Declared before the I/O objects below, which must be destroyed before it.
  net::io_context io;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;  // on the acceptor's strand
  net::steady_timer certificate_timer;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;

  std::mutex shutdown_mutex;  // serialises Shutdown calls
  bool shut_down = false;
};

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(io), [this](const error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open() || state->stopping()) return;
    if (ec) {
      // ECONNABORTED is the client's doing and harmless; the others (EMFILE,
      // ENFILE, ENOBUFS) pass once connections close.
      if (ec == net::error::connection_aborted) {
        Accept();
        return;
      }
      spdlog::warn("http server: cannot accept a connection on port {}: {}", port, ec.message());
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](const error_code& wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    state->connections.fetch_add(1, std::memory_order_relaxed);
    internal::StartConnection(state, std::move(socket),
                              certificates ? certificates->current() : nullptr);
    Accept();
  });
}

void HttpServer::Impl::ScheduleCertificateCheck() {
  certificate_timer.expires_after(std::max<std::chrono::milliseconds>(
      state->options.certificate_check_interval, kMinCertificateCheck));
  certificate_timer.async_wait([this](const error_code& ec) {
    if (ec || state->stopping()) return;
    // Reading two small files blocks this thread for microseconds.
    certificates->Check();
    ScheduleCertificateCheck();
  });
}

void HttpServer::Impl::Run() {
  // Nothing we post throws, but an exception escaping a thread would end the
  // process; log it and carry on serving instead.
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::warn("http server: unexpected exception on an I/O thread: {}", e.what());
    } catch (...) {
      spdlog::warn("http server: unexpected exception on an I/O thread");
    }
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  const unsigned threads =
      options.threads != 0 ? options.threads : std::max(2U, std::thread::hardware_concurrency());
  const std::string where = HostPort(options.address, options.port);
  std::unique_ptr<CertificateStore> certificates;
  if (options.tls) {
    auto loaded = CertificateStore::Load(*options.tls);
    if (!loaded) return loaded.error();
    certificates = std::move(loaded).value();
  }

  auto impl = std::make_unique<Impl>(
      std::make_shared<ServerState>(std::move(options), std::move(handler)), threads);
  impl->certificates = std::move(certificates);
  const ServerOptions& opts = impl->state->options;

  error_code ec;
  const auto address = net::ip::make_address(opts.address, ec);
  if (ec) {
    return MakeError(
        fmt::format("cannot listen on {}: '{}' is not an IP address", where, opts.address));
  }
  const tcp::endpoint endpoint(address, opts.port);
  auto& acceptor = impl->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    // Lets a restarted server bind while connections of the previous one are
    // in TIME_WAIT; it does not allow two listeners on one port.
    if (acceptor.set_option(net::socket_base::reuse_address(true), ec); !ec) {
      if (acceptor.bind(endpoint, ec); !ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
      }
    }
  }
  if (ec) return MakeError(fmt::format("cannot listen on {}: {}", where, ec.message()));
  impl->port = acceptor.local_endpoint(ec).port();
  if (ec) return MakeError(fmt::format("cannot listen on {}: {}", where, ec.message()));

  impl->Accept();
  if (impl->certificates) impl->ScheduleCertificateCheck();
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  try {
    for (unsigned i = 0; i < threads; ++i) {
      Impl* raw = server->impl_.get();
      server->impl_->threads.emplace_back([raw] { raw->Run(); });
    }
  } catch (const std::exception& e) {
    server->Shutdown(std::chrono::milliseconds(0));
    return MakeError(
        fmt::format("cannot start the threads of the server on {}: {}", where, e.what()));
  }
  spdlog::debug("http server: listening on {} ({}, {} threads)",
                HostPort(opts.address, server->impl_->port), opts.tls ? "https" : "http", threads);
  return server;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  std::lock_guard lock(s.shutdown_mutex);
  if (s.shut_down) return;
  s.shut_down = true;
  const auto deadline = std::chrono::steady_clock::now() + grace;

  // No new connections: the acceptor and the timers live on their strands.
  s.state->BeginStopping();
  net::post(s.acceptor.get_executor(), [&s] {
    error_code ignored;
    s.acceptor.close(ignored);
    s.accept_retry.cancel();
  });
  net::post(s.certificate_timer.get_executor(), [&s] { s.certificate_timer.cancel(); });

  for (const auto& connection : s.state->Live()) connection->Stop(/*force=*/false);
  bool drained = s.state->WaitDrained(deadline);
  if (!drained) {
    auto live = s.state->Live();
    spdlog::warn("http server: closing {} connections still busy after the grace period",
                 live.size());
    for (const auto& connection : live) connection->Stop(/*force=*/true);
    live.clear();
    drained = s.state->WaitDrained(std::chrono::steady_clock::now() + kForceCloseWait);
  }
  // A handler on the pool posts its answer to the I/O threads when it returns,
  // so they must outlive it: the unbounded wait the header promises.
  s.state->WaitPooledRequests();
  // With the acceptor, the timers and every connection closed, the threads run
  // out of work and return. If something still holds on, stop() makes them
  // return anyway; what is left is destroyed with the io_context.
  s.work.reset();
  if (!drained) s.io.stop();
  for (auto& thread : s.threads) {
    if (thread.joinable()) thread.join();
  }
  s.threads.clear();
  // The posts above may not have run (no threads yet, or stop()).
  error_code ignored;
  s.acceptor.close(ignored);
  s.accept_retry.cancel();
  s.certificate_timer.cancel();
}

HttpServer::Stats HttpServer::stats() const {
  Stats stats{};
  stats.connections = impl_->state->connections.load(std::memory_order_relaxed);
  stats.requests = impl_->state->requests.load(std::memory_order_relaxed);
  stats.refused_connections = impl_->state->refused_connections.load(std::memory_order_relaxed);
  stats.overloaded = impl_->state->overloaded.load(std::memory_order_relaxed);
  stats.open_connections = impl_->state->live_count();
  if (impl_->certificates) {
    auto counters = impl_->certificates->counters();
    stats.certificate_reloads = counters.reloads;
    stats.certificate_reload_failures = counters.failures;
    stats.last_certificate_error = std::move(counters.last_error);
  }
  return stats;
}

}  // namespace discoblocks::server
