// The informer against a real API server: it sees what another client does,
// and loses nothing when the API server goes away and comes back.
#include "kube/informer.h"

#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/control_plane.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::ControlPlane;
using testing::TestNamespace;

// Records handler calls as "add a", "update a", "delete a".
class Recorder {
 public:
  Informer::Handlers Handlers() {
    return {[this](const json& o) { Record("add", o); },
            [this](const json&, const json& o) { Record("update", o); },
            [this](const json& o) { Record("delete", o); }};
  }
  // Waits (bounded, for containment rather than speed) until `event` was seen.
  bool WaitFor(const std::string& event, std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return seen_changed_.wait_for(lock, limit, [&] { return seen_.count(event) > 0; });
  }
  std::multiset<std::string> seen() {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void Record(const std::string& what, const json& object) {
    {
      const std::lock_guard lock(mutex_);
      seen_.insert(what + " " + object["metadata"]["name"].get<std::string>());
    }
    seen_changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable seen_changed_;
  std::multiset<std::string> seen_;
};

json ConfigMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}}},
          {"data", {{"key", value}}}};
}

Informer::Options InNamespace(const std::string& ns) {
  Informer::Options options;
  options.ns = ns;
  options.initial_backoff = std::chrono::milliseconds(100);
  options.max_backoff = std::chrono::milliseconds(1000);
  return options;
}

TEST(InformerTest, SeesWhatAnotherClientDoes) {
  TestNamespace ns("informer");
  auto writer = ControlPlane::Get().AdminClient();
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("before", "1")).ok());

  Recorder recorder;
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps,
                    InNamespace(ns.name()), recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  EXPECT_TRUE(recorder.WaitFor("add before"));
  ASSERT_TRUE(informer.Get(ns.name(), "before").has_value());

  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("after", "1")).ok());
  EXPECT_TRUE(recorder.WaitFor("add after"));
  ASSERT_TRUE(
      writer->MergePatch(resources::kConfigMaps, ns.name(), "after", {{"data", {{"key", "2"}}}})
          .ok());
  EXPECT_TRUE(recorder.WaitFor("update after"));
  EXPECT_EQ((*informer.Get(ns.name(), "after"))["data"]["key"], "2");
  ASSERT_TRUE(writer->Delete(resources::kConfigMaps, ns.name(), "before").ok());
  EXPECT_TRUE(recorder.WaitFor("delete before"));
  EXPECT_FALSE(informer.Get(ns.name(), "before").has_value());
  EXPECT_EQ(informer.List().size(), 1U);
  informer.Stop();
}

TEST(InformerTest, LosesNothingWhileTheApiServerRestarts) {
  TestNamespace ns("restart");
  auto writer = ControlPlane::Get().AdminClient();
  Recorder recorder;
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps,
                    InNamespace(ns.name()), recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("a", "1")).ok());
  ASSERT_TRUE(recorder.WaitFor("add a"));

  ControlPlane::Get().StopApiServer();
  // The watch breaks; the informer keeps retrying with backoff.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ControlPlane::Get().StartApiServer();

  // Changes made as soon as the API server is back, possibly before the
  // informer has reconnected: it must see every one of them.
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("b", "1")).ok());
  ASSERT_TRUE(
      writer->MergePatch(resources::kConfigMaps, ns.name(), "a", {{"data", {{"key", "2"}}}}).ok());
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("c", "1")).ok());
  ASSERT_TRUE(writer->Delete(resources::kConfigMaps, ns.name(), "c").ok());

  EXPECT_TRUE(recorder.WaitFor("add b"));
  EXPECT_TRUE(recorder.WaitFor("update a"));
  // c may be seen as added then deleted, or (if a relist happened after both)
  // not at all; either way the cache must converge to the server's state.
  auto converged = [&] {
    const auto a = informer.Get(ns.name(), "a");
    return a && (*a)["data"]["key"] == "2" && informer.Get(ns.name(), "b").has_value() &&
           !informer.Get(ns.name(), "c").has_value();
  };
  for (int i = 0; i < 600 && !converged(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ((*informer.Get(ns.name(), "a"))["data"]["key"], "2");
  EXPECT_TRUE(informer.Get(ns.name(), "b").has_value());
  EXPECT_FALSE(informer.Get(ns.name(), "c").has_value());
  EXPECT_GE(informer.stats().errors, 1U);  // it did notice the API server was gone
  informer.Stop();
}

}  // namespace
}  // namespace discoblocks::kube
