// The informer against a fake API server, for what a real one does not do on
// demand: watches that end at once, bookmarks, handlers that throw; and the
// spread of its watch timeouts.
#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kube/informer.h"
#include "support/fake_http_server.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::FakeHttpServer;

// The value of `key` in a request line's query, empty when absent.
std::string QueryValue(const std::string& request_line, const std::string& key) {
  const std::string needle = key + "=";
  auto at = request_line.find("?" + needle);
  if (at == std::string::npos) at = request_line.find("&" + needle);
  if (at == std::string::npos) return {};
  const auto start = at + 1 + needle.size();
  return request_line.substr(start, request_line.find_first_of("& ", start) - start);
}

bool IsWatch(const std::string& request_line) {
  return QueryValue(request_line, "watch") == "true";
}

const std::string kListOfA =
    R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"5"},"items":[)"
    R"({"metadata":{"name":"a","namespace":"default","resourceVersion":"5"}}]})";

std::string WatchLines(const std::vector<std::string>& events) {
  std::string body;
  for (const auto& event : events) body += event + "\n";
  return FakeHttpServer::Response(200, body);
}

// Records the request lines of watches, and how many lists there were.
class Requests {
 public:
  void Record(const std::string& line) {
    const std::lock_guard lock(mutex_);
    if (IsWatch(line)) {
      watches_.push_back(line);
    } else {
      ++lists_;
    }
  }
  std::vector<std::string> watches() const {
    const std::lock_guard lock(mutex_);
    return watches_;
  }
  int lists() const {
    const std::lock_guard lock(mutex_);
    return lists_;
  }
  // Waits (bounded, for containment rather than speed) for `count` watches.
  bool WaitForWatches(std::size_t count) const {
    for (int i = 0; i < 1000 && watches().size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return watches().size() >= count;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> watches_;
  int lists_ = 0;
};

std::shared_ptr<const Client> ClientFor(const FakeHttpServer& server) {
  ClientConfig config;
  config.server = server.url();
  return std::move(Client::Create(config)).value();
}

Informer::Options FastOptions() {
  Informer::Options options;
  options.ns = "default";
  options.initial_backoff = std::chrono::milliseconds(10);
  options.max_backoff = std::chrono::milliseconds(40);
  return options;
}

// Like client-go's reflector: each watch asks the server to end it after a
// random time in [watch_timeout, 2 * watch_timeout), so that informers started
// together (every replica after a rollout) do not all reconnect together.
TEST(InformerFaultTest, WatchTimeoutsAreSpread) {
  Requests requests;
  FakeHttpServer server([&](const std::string& line) {
    requests.Record(line);
    if (!IsWatch(line)) return FakeHttpServer::Response(200, kListOfA);
    return WatchLines({R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"6"}}})"});
  });
  Informer::Options options = FastOptions();
  options.watch_timeout = std::chrono::seconds(10);
  Informer informer(ClientFor(server), resources::kConfigMaps, options);
  informer.Start();
  ASSERT_TRUE(requests.WaitForWatches(12));
  informer.Stop();
  std::set<int> timeouts;
  for (const auto& line : requests.watches()) {
    const int seconds = std::stoi(QueryValue(line, "timeoutSeconds"));
    EXPECT_GE(seconds, 10) << line;
    EXPECT_LT(seconds, 20) << line;
    timeouts.insert(seconds);
  }
  EXPECT_GT(timeouts.size(), 1U) << "every watch asked for the same timeout";
}

// A bookmark moves the resourceVersion the next watch resumes from, and
// nothing else: no handler is called, the cache is unchanged.
TEST(InformerFaultTest, BookmarksMoveTheResourceVersionOnly) {
  Requests requests;
  FakeHttpServer server([&](const std::string& line) {
    requests.Record(line);
    if (!IsWatch(line)) return FakeHttpServer::Response(200, kListOfA);
    return WatchLines(
        {R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"9"}}})"});
  });
  std::atomic<int> handler_calls{0};
  Informer::Handlers handlers{[&](const json&) { ++handler_calls; },
                              [&](const json&, const json&) { ++handler_calls; },
                              [&](const json&) { ++handler_calls; }};
  Informer informer(ClientFor(server), resources::kConfigMaps, FastOptions(), handlers);
  informer.Start();
  ASSERT_TRUE(requests.WaitForWatches(2));
  informer.Stop();
  const auto watches = requests.watches();
  EXPECT_EQ(QueryValue(watches[0], "resourceVersion"), "5");
  EXPECT_EQ(QueryValue(watches[1], "resourceVersion"), "9");
  for (const auto& line : watches) EXPECT_EQ(QueryValue(line, "allowWatchBookmarks"), "true");
  EXPECT_EQ(handler_calls.load(), 1);  // the add of "a", from the list
  ASSERT_EQ(informer.List().size(), 1U);
  EXPECT_EQ(informer.List()[0]["metadata"]["name"], "a");
  EXPECT_EQ(requests.lists(), 1);
}

// A server (or a proxy in front of it) that ends every watch at once, with no
// error and no event, must not be asked again in a tight loop: the informer
// waits, longer each time. Counted over a fixed time: a loop makes hundreds
// of watches in it, backing off from 200 ms makes a handful.
TEST(InformerFaultTest, WatchThatEndsAtOnceIsNotReopenedInALoop) {
  Requests requests;
  FakeHttpServer server([&](const std::string& line) {
    requests.Record(line);
    if (!IsWatch(line)) return FakeHttpServer::Response(200, kListOfA);
    return FakeHttpServer::Response(200, "");
  });
  Informer::Options options = FastOptions();
  options.initial_backoff = std::chrono::milliseconds(200);
  options.max_backoff = std::chrono::milliseconds(1000);
  Informer informer(ClientFor(server), resources::kConfigMaps, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  informer.Stop();
  EXPECT_GE(requests.watches().size(), 1U);
  EXPECT_LT(requests.watches().size(), 20U);
  EXPECT_EQ(requests.lists(), 1);  // ending early is not a reason to list again
}

// Handlers run on the informer's thread, during a list or inside a watch
// (within libcurl's callbacks): one that throws is logged and counted, and
// the informer goes on with the next event.
TEST(InformerFaultTest, HandlerThatThrowsDoesNotStopTheInformer) {
  FakeHttpServer server([&](const std::string& line) {
    if (!IsWatch(line)) return FakeHttpServer::Response(200, kListOfA);
    if (QueryValue(line, "resourceVersion") != "5") return FakeHttpServer::Response(200, "");
    return WatchLines(
        {R"({"type":"ADDED","object":{"metadata":{"name":"b","namespace":"default","resourceVersion":"6"}}})",
         R"({"type":"ADDED","object":{"metadata":{"name":"c","namespace":"default","resourceVersion":"7"}}})"});
  });
  std::mutex mutex;
  std::set<std::string> added;
  Informer::Handlers handlers;
  handlers.on_add = [&](const json& object) {
    const std::string name = object["metadata"]["name"];
    {
      const std::lock_guard lock(mutex);
      added.insert(name);
    }
    if (name != "c") throw std::runtime_error("handler broke on " + name);
  };
  Informer informer(ClientFor(server), resources::kConfigMaps, FastOptions(), handlers);
  informer.Start();
  for (int i = 0; i < 1000 && !informer.Get("default", "c"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  informer.Stop();
  EXPECT_EQ(added, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(informer.List().size(), 3U);
  EXPECT_GE(informer.stats().errors, 2U);
  EXPECT_NE(informer.stats().last_error.find("handler broke on"), std::string::npos)
      << informer.stats().last_error;
}

}  // namespace
}  // namespace discoblocks::kube
