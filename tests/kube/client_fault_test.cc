// Failures a real API server cannot be made to produce on demand, from a fake
// HTTP server: malformed answers, a stalled server, throttling, server errors,
// and a watch that reports 410 Gone. Each gives an error naming its cause, and
// nothing outlives its timeout.
#include <atomic>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "kube/client.h"
#include "kube/informer.h"
#include "support/fake_http_server.h"

namespace discoblocks::kube {
namespace {

using testing::FakeHttpServer;

std::shared_ptr<Client> ClientFor(
    const FakeHttpServer& server, int attempts = 1,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  ClientConfig config;
  config.server = server.url();
  config.request_timeout = timeout;
  RetryPolicy retry;
  retry.max_attempts = attempts;
  retry.initial_backoff = std::chrono::milliseconds(5);
  retry.max_backoff = std::chrono::milliseconds(20);
  return std::move(Client::Create(config, retry)).value();
}

TEST(ClientFaultTest, AnswerThatIsNotJsonIsMalformed) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(200, "<html>"); });
  auto result = ClientFor(server)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kMalformedResponse);
  EXPECT_NE(result.error().message.find("not JSON"), std::string::npos) << result.error().message;
}

TEST(ClientFaultTest, ErrorWithoutAStatusBodyStillNamesTheStatus) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(403, "nope"); });
  auto result = ClientFor(server)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kForbidden);
  EXPECT_NE(result.error().message.find("nope (403)"), std::string::npos) << result.error().message;
}

TEST(ClientFaultTest, StalledServerTimesOut) {
  FakeHttpServer server([](const std::string&) { return std::string(); });
  auto result = ClientFor(server, 1, std::chrono::milliseconds(300))
                    ->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(result.error().message.find("no answer within 300 ms"), std::string::npos)
      << result.error().message;
}

TEST(ClientFaultTest, ThrottlingAndServerErrorsAreRetried) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const std::string&) {
    const int call = ++calls;
    if (call == 1) return FakeHttpServer::Response(429, "{}", "Retry-After: 0\r\n");
    if (call == 2) return FakeHttpServer::Response(503, "{}");
    return FakeHttpServer::Response(200, R"({"kind":"ConfigMap","metadata":{"name":"x"}})");
  });
  auto result = ClientFor(server, 5)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(calls.load(), 3);
}

TEST(ClientFaultTest, CreateIsNotRepeatedAfterAnAmbiguousServerError) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(500, "{}"); });
  auto result = ClientFor(server, 5)->Create(resources::kConfigMaps, "default",
                                             {{"metadata", {{"name", "x"}}}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kServerError);
  EXPECT_EQ(server.requests(), 1);
}

// A patch may append to a list or be applied twice in another way: after an
// answer that does not say the server did nothing, it is not sent again.
TEST(ClientFaultTest, PatchIsNotRepeatedAfterAnAmbiguousServerError) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::Response(500, "{}"); });
  auto result = ClientFor(server, 5)->MergePatch(resources::kConfigMaps, "default", "x",
                                                 {{"data", {{"k", "v"}}}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kServerError);
  EXPECT_EQ(server.requests(), 1);
}

// The connection drops after the request went out: the server may have acted
// on it, so neither a create nor a patch is sent again (a read is).
TEST(ClientFaultTest, WritesAreNotRepeatedWhenTheConnectionDropsAfterTheRequest) {
  FakeHttpServer server([](const std::string&) { return FakeHttpServer::kHangUp; });
  auto client = ClientFor(server, 5);
  auto created = client->Create(resources::kConfigMaps, "default", {{"metadata", {{"name", "x"}}}});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, ErrorKind::kTransport) << created.error().message;
  EXPECT_EQ(server.requests(), 1);
  auto patched = client->JsonPatch(
      resources::kConfigMaps, "default", "x",
      nlohmann::json::array({{{"op", "add"}, {"path", "/data/k"}, {"value", "v"}}}));
  ASSERT_FALSE(patched.ok());
  EXPECT_EQ(server.requests(), 2);
  auto read = client->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(server.requests(), 7);
}

// libcurl itself repeats a request once, on a new connection, when a
// connection it reused from an earlier request closes without an answer.
// For a write that is a second, blind attempt; writes get a connection of
// their own, so the server sees the create once.
TEST(ClientFaultTest, CreateOnAKeptAliveConnectionIsNotRepeatedByLibcurl) {
  std::atomic<int> creates{0};
  FakeHttpServer::Options options;
  options.keep_alive = true;
  FakeHttpServer server(
      [&](const std::string& request_line) {
        if (request_line.starts_with("GET")) {
          return FakeHttpServer::KeepAliveResponse(200, R"({"kind":"ConfigMap"})");
        }
        ++creates;
        return FakeHttpServer::kHangUp;
      },
      options);
  auto client = ClientFor(server);
  ASSERT_TRUE(client->Get(resources::kConfigMaps, "default", "x").ok());
  auto created = client->Create(resources::kConfigMaps, "default", {{"metadata", {{"name", "x"}}}});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(creates.load(), 1);
}

// A refused connection proves the server never saw the request: even a create
// is tried again, and succeeds once the server listens.
TEST(ClientFaultTest, CreateIsRetriedWhenTheConnectionIsRefused) {
  FakeHttpServer::Options options;
  options.refuse_until_listen = true;
  FakeHttpServer server(
      [](const std::string&) {
        return FakeHttpServer::Response(201, R"({"kind":"ConfigMap","metadata":{"name":"x"}})");
      },
      options);
  ClientConfig config;
  config.server = server.url();
  RetryPolicy retry;
  retry.max_attempts = 50;
  retry.initial_backoff = std::chrono::milliseconds(20);
  retry.max_backoff = std::chrono::milliseconds(100);
  auto client = std::move(Client::Create(config, retry)).value();
  std::thread listener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.Listen();
  });
  auto created = client->Create(resources::kConfigMaps, "default", {{"metadata", {{"name", "x"}}}});
  listener.join();
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(server.requests(), 1);
}

// libcurl's callbacks are C: an exception from a watch handler (or from
// memory running out while reading) must not unwind through them. It ends
// the watch with an error naming it, and the client stays usable.
TEST(ClientFaultTest, WatchHandlerThatThrowsEndsTheWatchWithAnError) {
  FakeHttpServer server([](const std::string& request_line) {
    if (request_line.find("watch=true") == std::string::npos) {
      return FakeHttpServer::Response(200, R"({"kind":"ConfigMap"})");
    }
    return FakeHttpServer::Response(
        200, R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
             "\n");
  });
  auto client = ClientFor(server);
  std::atomic<bool> cancel{false};
  KubeStatus watched;
  EXPECT_NO_THROW(watched = client->Watch(
                      resources::kConfigMaps, "default", {},
                      [](const WatchEvent&) -> bool { throw std::runtime_error("handler broke"); },
                      cancel));
  ASSERT_FALSE(watched.ok());
  EXPECT_NE(watched.error().message.find("handler broke"), std::string::npos)
      << watched.error().message;
  EXPECT_TRUE(client->Get(resources::kConfigMaps, "default", "x").ok());
}

TEST(ClientFaultTest, NotFoundIsNotRetried) {
  FakeHttpServer server([](const std::string&) {
    return FakeHttpServer::Response(
        404,
        R"({"kind":"Status","status":"Failure","reason":"NotFound","message":"gone","code":404})");
  });
  auto result = ClientFor(server, 5)->Get(resources::kConfigMaps, "default", "x");
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(server.requests(), 1);
}

TEST(ClientFaultTest, WatchErrorEventWith410IsGone) {
  FakeHttpServer server([](const std::string&) {
    return FakeHttpServer::Response(
        200,
        R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
        "\n"
        R"j({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}})j"
        "\n");
  });
  std::atomic<bool> cancel{false};
  int events = 0;
  auto watched = ClientFor(server)->Watch(
      resources::kConfigMaps, "default", {}, [&](const WatchEvent&) { return ++events > 0; },
      cancel);
  ASSERT_FALSE(watched.ok());
  EXPECT_EQ(events, 1);
  EXPECT_EQ(watched.error().kind, ErrorKind::kGone) << watched.error().message;
  EXPECT_NE(watched.error().message.find("too old resource version"), std::string::npos);
}

TEST(ClientFaultTest, WatchWithGarbageIsMalformed) {
  FakeHttpServer server(
      [](const std::string&) { return FakeHttpServer::Response(200, "garbage\n"); });
  std::atomic<bool> cancel{false};
  auto watched = ClientFor(server)->Watch(
      resources::kConfigMaps, "default", {}, [](const WatchEvent&) { return true; }, cancel);
  ASSERT_FALSE(watched.ok());
  EXPECT_EQ(watched.error().kind, ErrorKind::kMalformedResponse);
}

// Copying or dumping a document recurses; one nested 200,000 levels deep is
// refused before it is parsed.
TEST(ClientFaultTest, AnswerNestedTooDeeplyIsMalformed) {
  const std::string deep = R"({"kind":"ConfigMap","data":)" + std::string(200'000, '[') +
                           std::string(200'000, ']') + "}";
  FakeHttpServer server([&](const std::string&) { return FakeHttpServer::Response(200, deep); });
  auto result = ClientFor(server)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kMalformedResponse);
  EXPECT_EQ(result.error().message,
            "get configmaps default/x: nested deeper than the limit of 100 levels");

  FakeHttpServer watch_server(
      [&](const std::string&) { return FakeHttpServer::Response(200, deep + "\n"); });
  std::atomic<bool> cancel{false};
  auto watched = ClientFor(watch_server)
                     ->Watch(
                         resources::kConfigMaps, "default", {},
                         [](const WatchEvent&) { return true; }, cancel);
  ASSERT_FALSE(watched.ok());
  EXPECT_EQ(watched.error().kind, ErrorKind::kMalformedResponse);
  EXPECT_NE(watched.error().message.find("nested deeper than the limit of 100 levels"),
            std::string::npos)
      << watched.error().message;

  FakeHttpServer error_server(
      [&](const std::string&) { return FakeHttpServer::Response(500, deep); });
  auto failed = ClientFor(error_server)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().http_status, 500);
}

// nlohmann's value() and get<>() throw on a wrong type; an answer with one is
// read as absent or malformed, never as an exception.
TEST(ClientFaultTest, WrongTypesInAnswersAreNotExceptions) {
  FakeHttpServer list_server([](const std::string&) {
    return FakeHttpServer::Response(200, R"({"kind":"ConfigMapList","metadata":"x","items":5})");
  });
  auto listed = ClientFor(list_server)->ListAll(resources::kConfigMaps, "default", {});
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ((*listed)["items"], nlohmann::json::array());

  FakeHttpServer status_server([](const std::string&) {
    return FakeHttpServer::Response(
        409, R"({"kind":"Status","message":7,"reason":["x"],"details":{"causes":[{"field":1}]}})");
  });
  auto conflict = ClientFor(status_server)->Get(resources::kConfigMaps, "default", "x");
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict);

  FakeHttpServer watch_server([](const std::string&) {
    return FakeHttpServer::Response(200, R"({"type":5,"object":{}})"
                                         "\n");
  });
  std::atomic<bool> cancel{false};
  auto watched = ClientFor(watch_server)
                     ->Watch(
                         resources::kConfigMaps, "default", {},
                         [](const WatchEvent&) { return true; }, cancel);
  ASSERT_FALSE(watched.ok());
  EXPECT_EQ(watched.error().kind, ErrorKind::kMalformedResponse);

  FakeHttpServer error_event_server([](const std::string&) {
    return FakeHttpServer::Response(200,
                                    R"({"type":"ERROR","object":{"kind":"Status","code":"410"}})"
                                    "\n");
  });
  auto errored = ClientFor(error_event_server)
                     ->Watch(
                         resources::kConfigMaps, "default", {},
                         [](const WatchEvent&) { return true; }, cancel);
  ASSERT_FALSE(errored.ok());
  EXPECT_EQ(errored.error().http_status, 500);
}

TEST(ClientFaultTest, StalledWatchIsCancelledPromptly) {
  FakeHttpServer server([](const std::string&) { return std::string(); });
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto watched = ClientFor(server)->Watch(
      resources::kConfigMaps, "default", {}, [](const WatchEvent&) { return true; }, cancel);
  canceller.join();
  EXPECT_TRUE(watched.ok());  // cancelled by the caller: not an error
}

}  // namespace
}  // namespace discoblocks::kube

namespace discoblocks::kube {
namespace {

TEST(InformerFaultTest, RelistsWhenTheWatchIsGone) {
  std::atomic<int> lists{0};
  FakeHttpServer server([&](const std::string& request_line) {
    if (request_line.find("watch=true") == std::string::npos) {
      ++lists;
      return FakeHttpServer::Response(
          200, R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"5"},"items":[)"
               R"({"metadata":{"name":"a","namespace":"default","resourceVersion":"5"}}]})");
    }
    return FakeHttpServer::Response(
        200,
        R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})"
        "\n");
  });
  ClientConfig config;
  config.server = server.url();
  Informer::Options options;
  options.ns = "default";
  options.initial_backoff = std::chrono::milliseconds(10);
  Informer informer(std::move(Client::Create(config)).value(), resources::kConfigMaps, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  for (int i = 0; i < 500 && lists.load() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  informer.Stop();
  EXPECT_GE(lists.load(), 3);
  EXPECT_GE(informer.stats().gone, 2U);
  EXPECT_TRUE(informer.Get("default", "a").has_value());
}

}  // namespace
}  // namespace discoblocks::kube
