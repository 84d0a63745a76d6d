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
  EXPECT_EQ((*informer.List()[0])["metadata"]["name"], "a");
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

// A relist reads page by page (each transformed as it comes), and afterwards
// the cache, the indexes and the handlers agree with the new list: what
// vanished is deleted, what changed updated, what is new added.
TEST(InformerFaultTest, RelistPagesAndKeepsIndexesAndHandlersInStep) {
  std::atomic<int> lists{0};
  std::mutex mutex;
  std::vector<std::string> list_lines;
  FakeHttpServer server([&](const std::string& line) {
    if (IsWatch(line)) {
      // The first list's version expires at once; the second's is followed quietly.
      if (QueryValue(line, "resourceVersion") == "5") {
        return WatchLines(
            {R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"});
      }
      return std::string();
    }
    {
      const std::lock_guard lock(mutex);
      list_lines.push_back(line);
    }
    const bool second_page = !QueryValue(line, "continue").empty();
    if (lists++ < 2) {  // the first list, in two pages: a (app=x), then b (app=x)
      return FakeHttpServer::Response(
          200,
          second_page
              ? R"({"metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"b","namespace":"default","resourceVersion":"4","labels":{"app":"x"}},"data":{"bulk":"zzz"}}]})"
              : R"({"metadata":{"resourceVersion":"5","continue":"page-2"},"items":[{"metadata":{"name":"a","namespace":"default","resourceVersion":"3","labels":{"app":"x"}},"data":{"bulk":"zzz"}}]})");
    }
    // The relist: a is gone, b moved to app=y, c is new under app=x.
    return FakeHttpServer::Response(
        200,
        R"({"metadata":{"resourceVersion":"9"},"items":[)"
        R"({"metadata":{"name":"b","namespace":"default","resourceVersion":"8","labels":{"app":"y"}},"data":{"bulk":"zzz"}},)"
        R"({"metadata":{"name":"c","namespace":"default","resourceVersion":"7","labels":{"app":"x"}}}]})");
  });
  Informer::Options options = FastOptions();
  options.page_size = 1;
  options.transform = [](const json& object) {
    json kept = object;
    kept.erase("data");
    return kept;
  };
  options.indexes["app"] = [](const json& object) {
    return std::vector<std::string>{object["metadata"]["labels"]["app"].get<std::string>()};
  };
  std::set<std::string> events;
  Informer::Handlers handlers{[&](const json& o) {
                                const std::lock_guard lock(mutex);
                                events.insert("add " + o["metadata"]["name"].get<std::string>());
                              },
                              [&](const json&, const json& o) {
                                const std::lock_guard lock(mutex);
                                events.insert("update " + o["metadata"]["name"].get<std::string>());
                              },
                              [&](const json& o) {
                                const std::lock_guard lock(mutex);
                                events.insert("delete " + o["metadata"]["name"].get<std::string>());
                              }};
  Informer informer(ClientFor(server), resources::kConfigMaps, options, handlers);
  informer.Start();
  for (int i = 0; i < 1000 && informer.stats().lists < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  informer.Stop();
  ASSERT_GE(informer.stats().lists, 2U);

  auto names = [&](const std::string& app) {
    std::vector<std::string> found;
    const auto indexed = informer.ByIndex("app", app);
    EXPECT_TRUE(indexed.ok());
    if (!indexed.ok()) return found;
    for (const auto& object : *indexed) {
      found.push_back((*object)["metadata"]["name"]);
      EXPECT_FALSE(object->contains("data"));  // transformed
    }
    return found;
  };
  EXPECT_EQ(names("x"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(names("y"), (std::vector<std::string>{"b"}));
  EXPECT_EQ(informer.Get("default", "a"), std::nullopt);
  const std::lock_guard lock(mutex);
  EXPECT_EQ(events, (std::set<std::string>{"add a", "add b", "delete a", "update b", "add c"}));
  ASSERT_GE(list_lines.size(), 2U);
  EXPECT_EQ(QueryValue(list_lines[0], "limit"), "1");
  EXPECT_EQ(QueryValue(list_lines[1], "continue"), "page-2");
}

}  // namespace
}  // namespace discoblocks::kube
