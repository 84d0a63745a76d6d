// The HTTP server over plain HTTP: requests and keep-alive, limits, clients
// that break the rules, failing handlers, graceful shutdown. TLS is in
// https_server_test.cc.
#include "server/http_server.h"

#include <atomic>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/test_client.h"

namespace discoblocks::server {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Fetch;
using testing::FetchOptions;
using testing::HttpClient;
using testing::RawSocket;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ServerOptions LoopbackOptions() {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.threads = 2;
  return options;
}

std::unique_ptr<HttpServer> StartServer(ServerOptions options, Handler handler) {
  auto server = HttpServer::Start(std::move(options), std::move(handler));
  if (!server) {
    ADD_FAILURE() << server.error().message;
    return nullptr;
  }
  return std::move(server).value();
}

std::string Url(const HttpServer& server, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

HttpResponse Echo(const HttpRequest& request) {
  HttpResponse response;
  response.body = json{{"method", request.method},
                       {"target", request.target},
                       {"body", request.body},
                       {"headers", request.headers},
                       {"remote", request.remote_address}}
                      .dump();
  return response;
}

TEST(HttpServerTest, PassesTheRequestAndReturnsTheResponse) {
  auto server = StartServer(LoopbackOptions(), [](const HttpRequest& request) {
    HttpResponse response = Echo(request);
    response.status = 201;
    response.content_type = "text/plain";
    response.headers.emplace_back("X-Served-By", "test");
    return response;
  });
  ASSERT_NE(server, nullptr);
  FetchOptions options;
  options.method = "POST";
  options.body = "hello";
  options.headers = {"X-Custom: a", "X-Custom: b", "Content-Type: text/plain"};
  auto result = Fetch(Url(*server, "/path?q=1"), options);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 201);
  EXPECT_EQ(result.headers["content-type"], "text/plain");
  EXPECT_EQ(result.headers["x-served-by"], "test");
  const json echo = json::parse(result.body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["target"], "/path?q=1");
  EXPECT_EQ(echo["body"], "hello");
  EXPECT_EQ(echo["headers"]["x-custom"], "a, b");
  EXPECT_EQ(echo["headers"]["content-type"], "text/plain");
  EXPECT_TRUE(Contains(echo["remote"].get<std::string>(), "127.0.0.1:")) << echo["remote"];
}

TEST(HttpServerTest, KeepsTheConnectionAlive) {
  auto server = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(server, nullptr);
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto result = client.Fetch(Url(*server, "/" + std::to_string(i)));
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(json::parse(result.body)["target"], "/" + std::to_string(i));
    EXPECT_EQ(result.new_connections, i == 0 ? 1 : 0) << "request " << i;
  }
  EXPECT_EQ(server->stats().connections, 1U);
  EXPECT_EQ(server->stats().requests, 3U);
}

TEST(HttpServerTest, ServesManyConnectionsAtOnce) {
  auto server = StartServer(LoopbackOptions(), [](const HttpRequest& request) {
    std::this_thread::sleep_for(2ms);  // a driver call
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 16;
  constexpr int kRequests = 10;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client;
      for (int r = 0; r < kRequests; ++r) {
        const std::string path = "/" + std::to_string(c) + "/" + std::to_string(r);
        auto result = client.Fetch(Url(*server, path));
        if (result.ok && result.status == 200 && json::parse(result.body)["target"] == path) {
          ++succeeded;
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(succeeded, kClients * kRequests);
  EXPECT_EQ(server->stats().requests, static_cast<std::uint64_t>(kClients * kRequests));
  EXPECT_EQ(server->stats().connections, static_cast<std::uint64_t>(kClients));
}

TEST(HttpServerTest, AnswersHeadWithTheLengthOfGet) {
  auto server = StartServer(LoopbackOptions(), [](const HttpRequest&) {
    HttpResponse response;
    response.body = "0123456789";
    return response;
  });
  ASSERT_NE(server, nullptr);
  RawSocket socket(server->port());
  ASSERT_TRUE(socket.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Two heads, then the one body (the GET's).
  const std::string received = socket.ReadUntil("0123456789");
  const auto second_head = received.find("HTTP/1.1 200", 1);
  EXPECT_TRUE(received.starts_with("HTTP/1.1 200") && second_head != std::string::npos &&
              Contains(received.substr(0, second_head), "Content-Length: 10") &&
              received.ends_with("\r\n\r\n0123456789"))
      << received;
}

TEST(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  auto server = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(server, nullptr);
  RawSocket socket(server->port());
  ASSERT_TRUE(socket.connected());
  ASSERT_TRUE(socket.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = socket.ReadResponse();
  const std::string second = socket.ReadResponse();
  EXPECT_TRUE(Contains(first, "HTTP/1.1 200") && Contains(first, "\"/a\"")) << first;
  EXPECT_TRUE(Contains(second, "HTTP/1.1 200") && Contains(second, "\"/b\"")) << second;
}

TEST(HttpServerTest, AnswersContinueToAClientThatWaitsForIt) {
  auto server = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(server, nullptr);
  RawSocket socket(server->port());
  ASSERT_TRUE(socket.Send(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const std::string interim = socket.ReadResponse();
  EXPECT_TRUE(Contains(interim, "HTTP/1.1 100 Continue")) << interim;
  ASSERT_TRUE(socket.Send("hello"));
  const std::string response = socket.ReadResponse();
  EXPECT_TRUE(Contains(response, "HTTP/1.1 200") && Contains(response, "\"hello\"")) << response;
}

TEST(HttpServerTest, RefusesABodyOverTheLimitAndServesTheNextRequest) {
  ServerOptions options = LoopbackOptions();
  options.max_body_bytes = 1024;
  std::atomic<std::size_t> largest_body{0};
  auto server = StartServer(options, [&](const HttpRequest& request) {
    if (request.body.size() > largest_body) largest_body = request.body.size();
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);

  FetchOptions too_large;
  too_large.method = "POST";
  too_large.body = std::string(2000, 'x');
  auto refused = Fetch(Url(*server), too_large);
  ASSERT_TRUE(refused.ok) << refused.error;
  EXPECT_EQ(refused.status, 413);
  EXPECT_TRUE(Contains(refused.body, "1024")) << refused.body;

  FetchOptions fits = too_large;
  fits.body = std::string(1024, 'y');
  auto accepted = Fetch(Url(*server), fits);
  ASSERT_TRUE(accepted.ok) << accepted.error;
  EXPECT_EQ(accepted.status, 200);

  // A client that sends the whole body anyway still reads the refusal, and a
  // chunked body (no length announced) is cut at the limit too.
  for (const std::string& request :
       {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n" + std::string(4000, 'z'),
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
            std::string(2048, 'z') + "\r\n0\r\n\r\n"}) {
    RawSocket socket(server->port());
    ASSERT_TRUE(socket.Send(request));
    const std::string response = socket.ReadResponse();
    EXPECT_TRUE(Contains(response, "HTTP/1.1 413") && Contains(response, "1024")) << response;
    EXPECT_TRUE(socket.WaitClosed(30s));
  }
  // A client still sending a large body when the refusal comes reads it too
  // (curl stops sending when it sees the response).
  FetchOptions much_too_large = too_large;
  much_too_large.body = std::string(std::size_t{8} << 20, 'x');
  much_too_large.headers = {"Expect:"};  // no 100-continue: the body follows the headers
  for (int i = 0; i < 3; ++i) {
    auto result = Fetch(Url(*server), much_too_large);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.status, 413);
  }
  EXPECT_EQ(largest_body, 1024U);
  EXPECT_EQ(Fetch(Url(*server)).status, 200);
}

TEST(HttpServerTest, AnswersMalformedRequestsWith400AndCloses) {
  auto server = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(server, nullptr);
  for (const std::string request :
       {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n"}) {
    RawSocket socket(server->port());
    ASSERT_TRUE(socket.Send(request));
    const std::string response = socket.ReadResponse();
    EXPECT_TRUE(Contains(response, "HTTP/1.1 400") && Contains(response, "malformed"))
        << request << " -> " << response;
    EXPECT_TRUE(socket.WaitClosed(30s)) << request;
  }
  EXPECT_EQ(server->stats().requests, 0U);
  EXPECT_EQ(Fetch(Url(*server)).status, 200);
}

TEST(HttpServerTest, RefusesAnOversizedHeader) {
  auto server = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(server, nullptr);
  RawSocket socket(server->port());
  ASSERT_TRUE(socket.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " +
                          std::string(std::size_t{64} << 10, 'b') + "\r\n\r\n"));
  const std::string response = socket.ReadResponse();
  EXPECT_TRUE(Contains(response, "HTTP/1.1 431")) << response;
  EXPECT_EQ(server->stats().requests, 0U);
}

TEST(HttpServerTest, CutsOffStalledClientsWithoutDisturbingOthers) {
  ServerOptions options = LoopbackOptions();
  options.request_timeout = 300ms;
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);
  const auto start = std::chrono::steady_clock::now();
  RawSocket half_headers(server->port());
  RawSocket half_body(server->port());
  RawSocket silent(server->port());
  ASSERT_TRUE(half_headers.Send("GET / HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(half_body.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123"));

  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    auto result = client.Fetch(Url(*server));
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.status, 200);
  }
  EXPECT_TRUE(half_headers.WaitClosed(30s));
  // Timers never fire early: closed no sooner than the timeout.
  EXPECT_GE(std::chrono::steady_clock::now() - start, options.request_timeout);
  EXPECT_TRUE(half_body.WaitClosed(30s));
  EXPECT_TRUE(silent.WaitClosed(30s));
  EXPECT_EQ(server->stats().requests, 5U);
}

TEST(HttpServerTest, AppliesTheIdleTimeoutBetweenRequests) {
  // Idle longer than request_timeout but within idle_timeout: still open.
  ServerOptions options = LoopbackOptions();
  options.request_timeout = 200ms;
  auto patient = StartServer(options, Echo);
  ASSERT_NE(patient, nullptr);
  RawSocket socket(patient->port());
  ASSERT_TRUE(socket.Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(Contains(socket.ReadResponse(), "HTTP/1.1 200"));
  std::this_thread::sleep_for(700ms);
  ASSERT_TRUE(socket.Send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(Contains(socket.ReadResponse(), "\"/2\""));

  options.request_timeout = 10s;
  options.idle_timeout = 300ms;
  auto impatient = StartServer(options, Echo);
  ASSERT_NE(impatient, nullptr);
  RawSocket idle(impatient->port());
  ASSERT_TRUE(idle.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(Contains(idle.ReadResponse(), "HTTP/1.1 200"));
  EXPECT_TRUE(idle.WaitClosed(30s));
}

TEST(HttpServerTest, AnswersAThrowingHandlerWith500AndKeepsServing) {
  auto server = StartServer(LoopbackOptions(), [](const HttpRequest& request) -> HttpResponse {
    if (request.target == "/throw") throw std::runtime_error("boom");
    if (request.target == "/throw-int") throw 42;
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  HttpClient client;
  for (const char* path : {"/throw", "/throw-int"}) {
    auto failed = client.Fetch(Url(*server, path));
    ASSERT_TRUE(failed.ok) << failed.error;
    EXPECT_EQ(failed.status, 500);
    EXPECT_TRUE(Contains(failed.body, "internal error")) << failed.body;
    EXPECT_FALSE(Contains(failed.body, "boom")) << "internal details leaked: " << failed.body;
  }
  auto next = client.Fetch(Url(*server));
  ASSERT_TRUE(next.ok) << next.error;
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.new_connections, 0) << "the connection should have been kept";
}

TEST(HttpServerTest, ShutdownFinishesRequestsInFlightAndClosesIdleConnections) {
  std::promise<void> started;
  auto server = StartServer(LoopbackOptions(), [&](const HttpRequest& request) {
    if (request.target == "/slow") {
      started.set_value();
      std::this_thread::sleep_for(500ms);
    }
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  const std::uint16_t port = server->port();
  RawSocket idle(port);
  ASSERT_TRUE(idle.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Contains(idle.ReadResponse(), "HTTP/1.1 200"));

  testing::FetchResult slow;
  std::thread requester([&] { slow = Fetch(Url(*server, "/slow")); });
  started.get_future().wait();
  std::thread stopper([&] { server->Shutdown(std::chrono::minutes(10)); });
  // Long before the grace period ends, the idle connection is closed.
  EXPECT_TRUE(idle.WaitClosed(30s));
  requester.join();
  stopper.join();
  ASSERT_TRUE(slow.ok) << slow.error;
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.headers["connection"], "close");

  EXPECT_FALSE(RawSocket(port).connected()) << "still accepting after Shutdown";
  server->Shutdown();  // idempotent
}

TEST(HttpServerTest, ShutdownClosesConnectionsStillBusyAfterTheGracePeriod) {
  std::promise<void> started;
  std::atomic<bool> handler_done{false};
  auto server = StartServer(LoopbackOptions(), [&](const HttpRequest& request) {
    started.set_value();
    std::this_thread::sleep_for(1s);
    handler_done = true;
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  testing::FetchResult result;
  std::thread requester([&] { result = Fetch(Url(*server, "/slow")); });
  started.get_future().wait();
  server->Shutdown(50ms);
  // Shutdown waited for the handler (it cannot be interrupted), but its
  // connection was closed at the end of the grace period, before the answer.
  EXPECT_TRUE(handler_done);
  requester.join();
  EXPECT_FALSE(result.ok && result.status == 200) << result.body;
}

TEST(HttpServerTest, ReportsWhyItCannotListen) {
  auto first = StartServer(LoopbackOptions(), Echo);
  ASSERT_NE(first, nullptr);
  ServerOptions taken = LoopbackOptions();
  taken.port = first->port();
  auto second = HttpServer::Start(taken, Echo);
  ASSERT_FALSE(second.ok());
  const std::string where = "127.0.0.1:" + std::to_string(first->port());
  EXPECT_TRUE(Contains(second.error().message, where)) << second.error().message;
  EXPECT_TRUE(Contains(second.error().message, "in use")) << second.error().message;

  ServerOptions bad = LoopbackOptions();
  bad.address = "not-an-address";
  auto third = HttpServer::Start(bad, Echo);
  ASSERT_FALSE(third.ok());
  EXPECT_TRUE(Contains(third.error().message, "'not-an-address' is not an IP address"))
      << third.error().message;
}

}  // namespace
}  // namespace discoblocks::server
