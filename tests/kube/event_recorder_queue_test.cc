// The event recorder's local rules, against a fake API server that can be
// held: a full queue drops (and counts) instead of blocking the caller,
// invalid Events are refused, notes are cut at a UTF-8 boundary, and Stop
// counts what it could not send. Events on a real API server (fields,
// aggregation, the spam filter) are in event_recorder_test.cc.
#include <atomic>

#include <gtest/gtest.h>

#include "kube/event_recorder.h"
#include "support/fake_http_server.h"
#include "support/gate.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using testing::FakeHttpServer;
using testing::Gate;

const std::string kCreated = FakeHttpServer::Response(
    201, R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"}})");

std::shared_ptr<Client> ClientFor(const FakeHttpServer& server) {
  ClientConfig config;
  config.server = server.url();
  RetryPolicy retry;
  retry.max_attempts = 1;
  return std::move(Client::Create(config, retry)).value();
}

ObjectReference Pod(const std::string& name) {
  return {"v1", "Pod", "default", name, "uid-" + name, "1", ""};
}

EventRecorderOptions Options(std::size_t capacity) {
  EventRecorderOptions options;
  options.reporting_instance = "replica-1";
  options.queue_capacity = capacity;
  return options;
}

TEST(EventRecorderQueueTest, AFullQueueDropsAndCountsWithoutBlocking) {
  Gate answer;
  FakeHttpServer server([&](const std::string&) {
    answer.Wait();
    return kCreated;
  });
  metrics::Registry registry;
  EventRecorderOptions options = Options(3);
  options.registry = &registry;
  auto recorder = std::move(EventRecorder::Create(ClientFor(server), options)).value();

  // The sender takes the first Event and waits for the server...
  recorder->Record(Pod("p0"), EventType::kNormal, "Provisioned", "Provision", "first");
  while (server.requests() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // ...while three more fill the queue and two find it full. Record returns
  // each time although nothing is being sent.
  for (int i = 1; i <= 5; ++i) {
    recorder->Record(Pod("p" + std::to_string(i)), EventType::kNormal, "Provisioned", "Provision",
                     "next");
  }
  EXPECT_EQ(recorder->stats().dropped_queue_full, 2U);
  EXPECT_NE(registry.Render().find("discoblocks_events_dropped_total{reason=\"queue_full\"} 2\n"),
            std::string::npos)
      << registry.Render();
  // A repeat of a queued Event takes no place in the queue: it is counted
  // into that Event.
  recorder->Record(Pod("p1"), EventType::kNormal, "Provisioned", "Provision", "next");
  EXPECT_EQ(recorder->stats().dropped_queue_full, 2U);
  EXPECT_EQ(recorder->stats().aggregated, 1U);

  answer.Open();
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(30)));
  const auto stats = recorder->stats();
  EXPECT_EQ(stats.created, 4U);
  EXPECT_EQ(stats.dropped_failed, 0U);
  EXPECT_NE(registry.Render().find("discoblocks_events_sent_total{operation=\"create\"} 4\n"),
            std::string::npos)
      << registry.Render();
  recorder->Stop();
}

TEST(EventRecorderQueueTest, StopCountsWhatWasNotSentAndRefusesMore) {
  Gate answer;
  FakeHttpServer server([&](const std::string&) {
    answer.Wait();
    return kCreated;
  });
  EventRecorderOptions options = Options(10);
  options.request_timeout = std::chrono::milliseconds(500);
  auto recorder = std::move(EventRecorder::Create(ClientFor(server), options)).value();
  recorder->Record(Pod("p0"), EventType::kWarning, "Failed", "Provision", "held");
  while (server.requests() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  recorder->Record(Pod("p1"), EventType::kWarning, "Failed", "Provision", "queued");
  recorder->Record(Pod("p2"), EventType::kWarning, "Failed", "Provision", "queued");

  // The held request times out (500 ms); Stop's flush has too little time
  // for the other two.
  recorder->Stop(std::chrono::milliseconds(1));
  const auto stats = recorder->stats();
  EXPECT_EQ(stats.dropped_stopped + stats.dropped_failed + stats.created, 3U);
  EXPECT_GE(stats.dropped_stopped, 1U);
  recorder->Record(Pod("p3"), EventType::kNormal, "Late", "Provision", "after stop");
  EXPECT_EQ(recorder->stats().dropped_stopped, stats.dropped_stopped + 1);
  answer.Open();
}

TEST(EventRecorderQueueTest, InvalidEventsAreRefusedAndCounted) {
  FakeHttpServer server([](const std::string&) { return kCreated; });
  auto recorder = std::move(EventRecorder::Create(ClientFor(server), Options(10))).value();
  recorder->Record(Pod("p"), EventType::kNormal, "", "Provision", "no reason");
  recorder->Record(Pod("p"), EventType::kNormal, "Reason", "", "no action");
  recorder->Record(Pod("p"), EventType::kNormal, std::string(129, 'r'), "Provision", "long");
  recorder->Record(ObjectReference{}, EventType::kNormal, "Reason", "Provision", "nothing");
  ASSERT_TRUE(recorder->Flush(std::chrono::seconds(30)));
  EXPECT_EQ(recorder->stats().dropped_invalid, 4U);
  EXPECT_EQ(server.requests(), 0);
}

TEST(EventRecorderQueueTest, OptionsThatCannotWorkAreRefused) {
  FakeHttpServer server([](const std::string&) { return kCreated; });
  auto client = ClientFor(server);
  EventRecorderOptions options = Options(10);
  options.reporting_instance.clear();
  EXPECT_NE(EventRecorder::Create(client, options).error().message.find("reporting instance"),
            std::string::npos);
  options = Options(0);
  EXPECT_NE(EventRecorder::Create(client, options).error().message.find("queue capacity"),
            std::string::npos);
  options = Options(10);
  options.reporting_instance = std::string(129, 'i');
  EXPECT_NE(EventRecorder::Create(client, options).error().message.find("at most 128"),
            std::string::npos);
}

TEST(TruncateUtf8Test, CutsAtACharacterBoundary) {
  EXPECT_EQ(TruncateUtf8("short", 10), "short");
  EXPECT_EQ(TruncateUtf8("exactly", 7), "exactly");
  // "é" is two bytes (C3 A9): a cut between them keeps neither.
  EXPECT_EQ(TruncateUtf8("caf\xC3\xA9", 4), "caf");
  EXPECT_EQ(TruncateUtf8("caf\xC3\xA9", 5), "caf\xC3\xA9");
  // A four-byte character (U+1F4BE) cut anywhere inside goes whole.
  const std::string disk = "\xF0\x9F\x92\xBE";
  for (std::size_t limit = 1; limit < 4; ++limit)
    EXPECT_EQ(TruncateUtf8("a" + disk, limit + 1), "a");
  EXPECT_EQ(TruncateUtf8(std::string(1023, 'a') + "\xC3\xA9", 1024), std::string(1023, 'a'));
}

TEST(ReferenceToTest, TakesKindNameNamespaceUidAndVersion) {
  const auto reference = ReferenceTo(
      {{"apiVersion", "discoblocks.ondat.io/v1"},
       {"kind", "DiskConfig"},
       {"metadata",
        {{"name", "db"}, {"namespace", "prod"}, {"uid", "u-1"}, {"resourceVersion", "7"}}}});
  EXPECT_EQ(reference.api_version, "discoblocks.ondat.io/v1");
  EXPECT_EQ(reference.kind, "DiskConfig");
  EXPECT_EQ(reference.ns, "prod");
  EXPECT_EQ(reference.name, "db");
  EXPECT_EQ(reference.uid, "u-1");
  EXPECT_EQ(reference.resource_version, "7");
  EXPECT_EQ(ReferenceTo(nlohmann::json::array()).name, "");
}

}  // namespace
}  // namespace discoblocks::kube
