// The server with a handler pool: handlers off the I/O threads, refusals (503
// with a Status) when the pool cannot take a request in time, the connection
// cap, and shutdown while handlers still run on the pool.
#include <atomic>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/test_client.h"
#include "support/gate.h"

namespace discoblocks::server {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Fetch;
using testing::FetchResult;
using testing::RawSocket;

using testing::Gate;

ServerOptions OneIoThread(WorkerPool* pool) {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.threads = 1;
  options.handler_pool = pool;
  return options;
}

WorkerPool::Options PoolOf(unsigned workers, std::size_t queue) {
  WorkerPool::Options options;
  options.name = "handler pool";
  options.workers = workers;
  options.queue_capacity = queue;
  return options;
}

std::string Url(const HttpServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

// Handles "/block" by waiting at the gate, anything else at once.
Handler Blocking(Gate& gate, std::atomic<int>& blocked) {
  return [&gate, &blocked](const HttpRequest& request) {
    if (request.target == "/block") {
      ++blocked;
      gate.Wait();
    }
    return HttpResponse{200, "text/plain", "done " + request.target, {}};
  };
}

void WaitFor(const std::atomic<int>& counter, int value) {
  for (int i = 0; i < 30000 && counter.load() < value; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_GE(counter.load(), value);
}

TEST(HandlerPoolTest, AFullPoolIsRefusedAtOnceWhileTheOnlyIoThreadStaysFree) {
  WorkerPool pool(PoolOf(1, 1));
  Gate gate;
  std::atomic<int> blocked{0};
  auto server = HttpServer::Start(OneIoThread(&pool), Blocking(gate, blocked));
  ASSERT_TRUE(server) << server.error().message;
  std::future<FetchResult> running = std::async([&] { return Fetch(Url(**server, "/block")); });
  WaitFor(blocked, 1);
  std::future<FetchResult> queued = std::async([&] { return Fetch(Url(**server, "/queued")); });
  while (pool.stats().queued < 1) std::this_thread::sleep_for(1ms);

  // With the handler on the only I/O thread this request would wait for the
  // gate; here it is read and refused while the gate is still shut.
  FetchResult refused = Fetch(Url(**server, "/refused"));
  ASSERT_TRUE(refused.ok) << refused.error;
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.headers["retry-after"], "1");
  const json status = json::parse(refused.body);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["code"], 503);
  EXPECT_EQ(status["reason"], "ServiceUnavailable");
  EXPECT_NE(status["message"].get<std::string>().find("queue is full"), std::string::npos)
      << refused.body;

  gate.Open();
  EXPECT_EQ(running.get().body, "done /block");
  EXPECT_EQ(queued.get().body, "done /queued");
  EXPECT_EQ((*server)->stats().overloaded, 1U);
}

TEST(HandlerPoolTest, ARequestThatCannotStartInTimeIsRefusedWithTheReason) {
  WorkerPool pool(PoolOf(1, 8));
  Gate gate;
  std::atomic<int> blocked{0};
  ServerOptions options = OneIoThread(&pool);
  options.queue_wait = [](const HttpRequest& request) {
    return request.target == "/block" ? std::chrono::milliseconds(1h) : 100ms;
  };
  auto server = HttpServer::Start(options, Blocking(gate, blocked));
  ASSERT_TRUE(server) << server.error().message;
  std::future<FetchResult> running = std::async([&] { return Fetch(Url(**server, "/block")); });
  WaitFor(blocked, 1);

  const FetchResult late = Fetch(Url(**server, "/late"));
  ASSERT_TRUE(late.ok) << late.error;
  EXPECT_EQ(late.status, 503);
  EXPECT_NE(late.body.find("no worker was free within 100 ms"), std::string::npos) << late.body;
  gate.Open();
  const FetchResult first = running.get();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(Fetch(Url(**server, "/after")).body, "done /after");
}

TEST(HandlerPoolTest, ConnectionsOverTheCapAreClosedAtOnce) {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.threads = 1;
  options.max_connections = 2;
  auto server = HttpServer::Start(options, [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", "ok", {}};
  });
  ASSERT_TRUE(server) << server.error().message;
  const std::uint16_t port = (*server)->port();
  auto first = std::make_unique<RawSocket>(port);
  RawSocket second(port);
  ASSERT_TRUE(first->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(first->ReadResponse().find("200"), std::string::npos);
  ASSERT_TRUE(second.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(second.ReadResponse().find("200"), std::string::npos);

  RawSocket third(port);
  EXPECT_TRUE(third.WaitClosed(30s));
  EXPECT_EQ((*server)->stats().refused_connections, 1U);
  EXPECT_EQ((*server)->stats().open_connections, 2U);

  first.reset();  // frees a place
  for (int i = 0; i < 3000 && (*server)->stats().open_connections > 1; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  const FetchResult fourth = Fetch(Url(**server, "/"));
  ASSERT_TRUE(fourth.ok) << fourth.error;
  EXPECT_EQ(fourth.status, 200);
}

TEST(HandlerPoolTest, ShutdownWaitsForHandlersStillRunningOnThePool) {
  WorkerPool pool(PoolOf(2, 8));
  std::promise<void> started;
  std::atomic<bool> handler_done{false};
  auto server = HttpServer::Start(OneIoThread(&pool), [&](const HttpRequest& request) {
    started.set_value();
    std::this_thread::sleep_for(300ms);
    handler_done = true;
    return HttpResponse{200, "text/plain", request.target, {}};
  });
  ASSERT_TRUE(server) << server.error().message;
  std::future<FetchResult> slow = std::async([&] { return Fetch(Url(**server, "/slow")); });
  started.get_future().wait();
  (*server)->Shutdown(10ms);
  // The handler's answer goes to I/O that Shutdown had to keep until then.
  EXPECT_TRUE(handler_done);
  server->reset();
  const FetchResult result = slow.get();
  EXPECT_FALSE(result.ok && result.status == 200) << result.body;
}

}  // namespace
}  // namespace discoblocks::server
