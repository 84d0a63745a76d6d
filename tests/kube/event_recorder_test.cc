// Events on a real kube-apiserver: the fields of an events.k8s.io/v1 Event,
// repeats aggregated into one Event's series, and a flood on one object cut
// by its token bucket. (The queue and Stop are in event_recorder_queue_test.)
#include "kube/event_recorder.h"

#include <regex>

#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::ControlPlane;
using testing::TestNamespace;

std::unique_ptr<EventRecorder> Recorder(EventRecorderOptions options = {}) {
  options.reporting_instance = "replica-1";
  auto recorder = EventRecorder::Create(ControlPlane::Get().AdminClient(), std::move(options));
  if (!recorder) throw std::runtime_error(recorder.error().message);
  return std::move(recorder).value();
}

// A ConfigMap to have Events about.
json Object(const std::string& ns, const std::string& name) {
  auto created = ControlPlane::Get().AdminClient()->Create(
      resources::kConfigMaps, ns,
      {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}});
  if (!created) throw std::runtime_error(created.error().message);
  return *created;
}

// The Events in `ns` about the object with `uid`.
std::vector<json> EventsAbout(const std::string& ns, const std::string& uid) {
  auto listed = ControlPlane::Get().AdminClient()->List(resources::kEvents, ns);
  if (!listed) throw std::runtime_error(listed.error().message);
  std::vector<json> about;
  for (const auto& event : (*listed)["items"]) {
    if (event["regarding"].value("uid", "") == uid) about.push_back(event);
  }
  return about;
}

const std::regex kMicroTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");

TEST(EventRecorderTest, AnEventCarriesWhatWhyAndAboutWhat) {
  TestNamespace ns("events");
  const json object = Object(ns.name(), "subject");
  const std::string uid = object["metadata"]["uid"];
  auto recorder = Recorder();
  // One byte over the API's limit, the last character two bytes long: it
  // goes whole.
  const std::string long_note = std::string(1023, 'n') + "\xC3\xA9";
  recorder->Record(ReferenceTo(object), EventType::kWarning, "ProvisioningFailed", "Provision",
                   long_note);
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));
  EXPECT_EQ(recorder->stats().created, 1U);

  const auto events = EventsAbout(ns.name(), uid);
  ASSERT_EQ(events.size(), 1U);
  const json& event = events[0];
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["reason"], "ProvisioningFailed");
  EXPECT_EQ(event["action"], "Provision");
  EXPECT_EQ(event["note"], std::string(1023, 'n'));
  EXPECT_EQ(event["reportingController"], "discoblocks");
  EXPECT_EQ(event["reportingInstance"], "replica-1");
  EXPECT_TRUE(std::regex_match(event["eventTime"].get<std::string>(), kMicroTime))
      << event["eventTime"];
  EXPECT_FALSE(event.contains("series"));
  const json& regarding = event["regarding"];
  EXPECT_EQ(regarding["apiVersion"], "v1");
  EXPECT_EQ(regarding["kind"], "ConfigMap");
  EXPECT_EQ(regarding["namespace"], ns.name());
  EXPECT_EQ(regarding["name"], "subject");
  EXPECT_EQ(regarding["uid"], uid);
  EXPECT_EQ(regarding["resourceVersion"], object["metadata"]["resourceVersion"]);
  EXPECT_TRUE(event["metadata"]["name"].get<std::string>().starts_with("subject."));
}

TEST(EventRecorderTest, AnEventAboutAClusterScopedObjectGoesToTheDefaultNamespace) {
  TestNamespace ns("cluster-scoped");
  auto namespace_object =
      ControlPlane::Get().AdminClient()->Get(resources::kNamespaces, "", ns.name());
  ASSERT_TRUE(namespace_object.ok());
  auto recorder = Recorder();
  recorder->Record(ReferenceTo(*namespace_object), EventType::kNormal, "Seen", "Inspect", "hello");
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));
  EXPECT_EQ(recorder->stats().created, 1U);
  const auto events = EventsAbout("default", (*namespace_object)["metadata"]["uid"]);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["regarding"]["kind"], "Namespace");
}

TEST(EventRecorderTest, RepeatsAreCountedIntoOneEventsSeries) {
  TestNamespace ns("series");
  const json object = Object(ns.name(), "looping");
  const std::string uid = object["metadata"]["uid"];
  auto recorder = Recorder();
  const auto reference = ReferenceTo(object);
  for (int i = 0; i < 5; ++i) {
    recorder->Record(reference, EventType::kWarning, "Retrying", "Provision", "driver busy");
  }
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));
  auto events = EventsAbout(ns.name(), uid);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["series"]["count"], 5);
  EXPECT_TRUE(
      std::regex_match(events[0]["series"]["lastObservedTime"].get<std::string>(), kMicroTime));

  // More repeats after the Event exists update its series.
  for (int i = 0; i < 3; ++i) {
    recorder->Record(reference, EventType::kWarning, "Retrying", "Provision", "driver busy");
  }
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));
  events = EventsAbout(ns.name(), uid);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["series"]["count"], 8);

  // A different note, type, reason or action is another Event.
  recorder->Record(reference, EventType::kWarning, "Retrying", "Provision", "driver gone");
  recorder->Record(reference, EventType::kNormal, "Retrying", "Provision", "driver busy");
  recorder->Record(reference, EventType::kWarning, "Waiting", "Provision", "driver busy");
  recorder->Record(reference, EventType::kWarning, "Retrying", "Resize", "driver busy");
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));
  EXPECT_EQ(EventsAbout(ns.name(), uid).size(), 5U);
  const auto stats = recorder->stats();
  EXPECT_EQ(stats.created, 5U);
  EXPECT_EQ(stats.aggregated, 7U);
  EXPECT_EQ(stats.dropped_failed, 0U);
}

TEST(EventRecorderTest, AFloodOfEventsAboutOneObjectIsCutByItsBucket) {
  TestNamespace ns("flood");
  const json noisy = Object(ns.name(), "noisy");
  const json quiet = Object(ns.name(), "quiet");
  metrics::Registry registry;
  EventRecorderOptions options;
  options.burst = 5;
  options.registry = &registry;
  auto recorder = Recorder(options);
  // Each note differs, so none aggregates: every one is a new Event.
  for (int i = 0; i < 12; ++i) {
    recorder->Record(ReferenceTo(noisy), EventType::kNormal, "Tick", "Loop",
                     "tick " + std::to_string(i));
  }
  recorder->Record(ReferenceTo(quiet), EventType::kNormal, "Tick", "Loop", "once");
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(60)));

  EXPECT_EQ(EventsAbout(ns.name(), noisy["metadata"]["uid"]).size(), 5U);
  // Another object has a bucket of its own.
  EXPECT_EQ(EventsAbout(ns.name(), quiet["metadata"]["uid"]).size(), 1U);
  EXPECT_EQ(recorder->stats().dropped_spam, 7U);
  EXPECT_NE(registry.Render().find("discoblocks_events_dropped_total{reason=\"spam\"} 7\n"),
            std::string::npos)
      << registry.Render();
  EXPECT_NE(registry.Render().find("discoblocks_events_sent_total{operation=\"create\"} 6\n"),
            std::string::npos)
      << registry.Render();
}

}  // namespace
}  // namespace discoblocks::kube
