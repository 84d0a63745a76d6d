// The informer against a real API server: it sees what another client does,
// loses nothing when the API server goes away and comes back, keeps what its
// transform makes, keeps its indexes up to date, and feeds several handler sets.
#include "kube/informer.h"

#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kube/objects.h"
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
    return seen_changed_.wait_for(lock, limit, [&] { return seen_.contains(event); });
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

json Labelled(json object, const std::string& app) {
  object["metadata"]["labels"]["app"] = app;
  return object;
}

// The names of `objects`, in order.
std::vector<std::string> Names(const std::vector<Informer::Object>& objects) {
  std::vector<std::string> names;
  names.reserve(objects.size());
  for (const auto& object : objects) names.push_back((*object)["metadata"]["name"]);
  return names;
}

// Waits (bounded) until `done` holds.
template <typename Condition>
bool Eventually(Condition done) {
  for (int i = 0; i < 600 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return done();
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

// Listed objects come without kind and apiVersion, watched ones with them:
// cached, both have them, so a cached object compares with one to create.
TEST(InformerTest, ListedAndWatchedObjectsBothCarryKindAndApiVersion) {
  TestNamespace ns("informer-kind");
  auto writer = ControlPlane::Get().AdminClient();
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("listed", "1")).ok());
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps,
                    InNamespace(ns.name()));
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("watched", "1")).ok());
  ASSERT_TRUE(Eventually([&] { return informer.Get(ns.name(), "watched").has_value(); }));
  for (const char* name : {"listed", "watched"}) {
    const json cached = *informer.Get(ns.name(), name);
    EXPECT_EQ(cached.value("kind", ""), "ConfigMap") << name;
    EXPECT_EQ(cached.value("apiVersion", ""), "v1") << name;
  }
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

TEST(InformerTest, CachesWhatItsTransformMakesAndHandlersSeeTheSame) {
  TestNamespace ns("transform");
  auto writer = ControlPlane::Get().AdminClient();
  json big = ConfigMap("a", "1");
  big["data"]["bulk"] = std::string(4096, 'x');
  big["metadata"]["annotations"][std::string(kLastAppliedAnnotation)] = "{}";
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), big).ok());

  Informer::Options options = InNamespace(ns.name());
  options.transform = [](const json& object) {
    json kept = StripManagedFields(object);
    kept["data"].erase("bulk");
    return kept;
  };
  std::mutex mutex;
  std::vector<json> seen;
  Informer::Handlers handlers;
  handlers.on_add = [&](const json& object) {
    const std::lock_guard lock(mutex);
    seen.push_back(object);
  };
  handlers.on_update = [&](const json&, const json& object) {
    const std::lock_guard lock(mutex);
    seen.push_back(object);
  };
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps, options, handlers);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(
      writer->MergePatch(resources::kConfigMaps, ns.name(), "a", {{"data", {{"key", "2"}}}}).ok());
  ASSERT_TRUE(Eventually([&] {
    const std::lock_guard lock(mutex);
    return seen.size() == 2;
  }));
  informer.Stop();

  const auto cached = informer.Find(ns.name(), "a");
  ASSERT_TRUE(cached);
  EXPECT_EQ((*cached)["data"], (json{{"key", "2"}}));
  EXPECT_FALSE((*cached)["metadata"].contains("managedFields"));
  EXPECT_FALSE((*cached)["metadata"].contains("annotations"));
  const std::lock_guard lock(mutex);
  for (const json& object : seen) {
    EXPECT_FALSE(object["data"].contains("bulk")) << "a handler saw the object untransformed";
    EXPECT_FALSE(object["metadata"].contains("managedFields"));
  }
  EXPECT_EQ(seen.back(), *cached);
}

// The informer needs each object's name, namespace and resourceVersion: it
// keeps them even when the transform drops them, and so still tells updates
// apart from adds.
TEST(InformerTest, KeepsTheIdentityOfObjectsATransformStripsBare) {
  TestNamespace ns("bare");
  auto writer = ControlPlane::Get().AdminClient();
  Recorder recorder;
  Informer::Options options = InNamespace(ns.name());
  options.transform = [](const json&) { return json::object(); };
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps, options,
                    recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("a", "1")).ok());
  ASSERT_TRUE(recorder.WaitFor("add a"));
  ASSERT_TRUE(
      writer->MergePatch(resources::kConfigMaps, ns.name(), "a", {{"data", {{"key", "2"}}}}).ok());
  ASSERT_TRUE(recorder.WaitFor("update a"));
  informer.Stop();
  const auto cached = informer.Find(ns.name(), "a");
  ASSERT_TRUE(cached);
  EXPECT_EQ((*cached)["metadata"]["namespace"], ns.name());
  EXPECT_FALSE((*cached)["metadata"].value("resourceVersion", "").empty());
  EXPECT_FALSE(cached->contains("data"));
  EXPECT_EQ(recorder.seen().count("add a"), 1U);
}

TEST(InformerTest, IndexesFollowAddsUpdatesAndDeletes) {
  TestNamespace ns("index");
  auto writer = ControlPlane::Get().AdminClient();
  ASSERT_TRUE(
      writer->Create(resources::kConfigMaps, ns.name(), Labelled(ConfigMap("a", "1"), "x")).ok());
  ASSERT_TRUE(
      writer->Create(resources::kConfigMaps, ns.name(), Labelled(ConfigMap("b", "1"), "x")).ok());

  Informer::Options options = InNamespace(ns.name());
  options.indexes["app"] = [](const json& object) -> std::vector<std::string> {
    const json& labels = object["metadata"].value("labels", json::object());
    if (!labels.contains("app")) return {};
    return {labels["app"].get<std::string>()};
  };
  // An index with several values per object, and one that throws.
  options.indexes["data"] = [](const json& object) {
    std::vector<std::string> values;
    const json data = object.value("data", json::object());
    for (const auto& [key, value] : data.items()) {
      values.push_back(key + "=" + value.get<std::string>());
    }
    return values;
  };
  options.indexes["broken"] = [](const json&) -> std::vector<std::string> {
    throw std::runtime_error("index broke");
  };
  Recorder recorder;
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps, options,
                    recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  EXPECT_EQ(Names(*informer.ByIndex("app", "x")), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(informer.ByIndex("app", "y")->empty());
  EXPECT_TRUE(informer.ByIndex("broken", "anything")->empty());
  EXPECT_GE(informer.stats().errors, 2U);

  ASSERT_TRUE(
      writer->Create(resources::kConfigMaps, ns.name(), Labelled(ConfigMap("c", "1"), "y")).ok());
  ASSERT_TRUE(
      writer
          ->MergePatch(resources::kConfigMaps, ns.name(), "b",
                       {{"metadata", {{"labels", {{"app", "y"}}}}}, {"data", {{"more", "1"}}}})
          .ok());
  ASSERT_TRUE(writer->Delete(resources::kConfigMaps, ns.name(), "a").ok());
  ASSERT_TRUE(recorder.WaitFor("delete a"));
  ASSERT_TRUE(recorder.WaitFor("add c"));
  ASSERT_TRUE(recorder.WaitFor("update b"));

  EXPECT_TRUE(informer.ByIndex("app", "x")->empty());
  EXPECT_EQ(Names(*informer.ByIndex("app", "y")), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Names(*informer.ByIndex("data", "key=1")), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Names(*informer.ByIndex("data", "more=1")), (std::vector<std::string>{"b"}));
  const auto unknown = informer.ByIndex("no such index", "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("no index named \"no such index\""), std::string::npos)
      << unknown.error().message;
  informer.Stop();
}

TEST(InformerTest, FeedsSeveralHandlerSetsAndTellsALateOneWhatIsCached) {
  TestNamespace ns("handlers");
  auto writer = ControlPlane::Get().AdminClient();
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("a", "1")).ok());
  Recorder first;
  Recorder second;
  Recorder late;
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps,
                    InNamespace(ns.name()), first.Handlers());
  informer.AddHandlers(second.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(first.WaitFor("add a"));
  informer.AddHandlers(late.Handlers());
  EXPECT_TRUE(late.WaitFor("add a"));  // told at once, from the cache

  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("b", "1")).ok());
  ASSERT_TRUE(writer->Delete(resources::kConfigMaps, ns.name(), "a").ok());
  for (Recorder* recorder : {&first, &second, &late}) {
    EXPECT_TRUE(recorder->WaitFor("add b"));
    EXPECT_TRUE(recorder->WaitFor("delete a"));
  }
  informer.Stop();
  const std::multiset<std::string> expected{"add a", "add b", "delete a"};
  EXPECT_EQ(first.seen(), expected);
  EXPECT_EQ(second.seen(), expected);
  EXPECT_EQ(late.seen(), expected);
}

// Objects are shared, not copied: a reader keeps the version it was given,
// unchanged, while the cache moves on.
TEST(InformerTest, ObjectsHandedOutAreSharedAndNeverChangeUnderTheReader) {
  TestNamespace ns("shared");
  auto writer = ControlPlane::Get().AdminClient();
  ASSERT_TRUE(writer->Create(resources::kConfigMaps, ns.name(), ConfigMap("a", "1")).ok());
  Recorder recorder;
  Informer informer(ControlPlane::Get().AdminClient(), resources::kConfigMaps,
                    InNamespace(ns.name()), recorder.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(30)));
  const Informer::Object before = informer.Find(ns.name(), "a");
  ASSERT_TRUE(before);
  EXPECT_EQ(informer.List().at(0).get(), before.get());  // the same object, not a copy
  ASSERT_TRUE(
      writer->MergePatch(resources::kConfigMaps, ns.name(), "a", {{"data", {{"key", "2"}}}}).ok());
  ASSERT_TRUE(recorder.WaitFor("update a"));
  informer.Stop();
  EXPECT_EQ((*before)["data"]["key"], "1");
  EXPECT_EQ((*informer.Find(ns.name(), "a"))["data"]["key"], "2");
  EXPECT_EQ(informer.Find(ns.name(), "missing"), nullptr);
}

}  // namespace
}  // namespace discoblocks::kube
