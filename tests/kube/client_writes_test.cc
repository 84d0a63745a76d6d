// What the client puts on the wire for writes, from a fake HTTP server: the
// field manager on every create, update, patch and apply; server-side apply's
// query and its client-side refusals; which writes are sent again after an
// ambiguous failure; and calls bounded as a whole by WithCallTimeout.
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kube/client.h"
#include "support/fake_http_server.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::FakeHttpServer;

const json kConfigMap = {{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", "settings"}}},
                         {"data", {{"key", "value"}}}};

// Remembers every request line and answers each with `answer`.
class RecordingServer {
 public:
  explicit RecordingServer(std::string answer = FakeHttpServer::Response(200, kConfigMap.dump()))
      : answer_(std::move(answer)), server_([this](const std::string& line) {
          const std::lock_guard lock(mutex_);
          lines_.push_back(line);
          return answer_;
        }) {}
  std::vector<std::string> lines() const {
    const std::lock_guard lock(mutex_);
    return lines_;
  }
  FakeHttpServer& server() { return server_; }

 private:
  std::string answer_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  FakeHttpServer server_;
};

std::shared_ptr<Client> ClientFor(const FakeHttpServer& server, std::string field_manager,
                                  int attempts = 1,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  ClientConfig config;
  config.server = server.url();
  config.request_timeout = timeout;
  config.field_manager = std::move(field_manager);
  RetryPolicy retry;
  retry.max_attempts = attempts;
  retry.initial_backoff = std::chrono::milliseconds(5);
  retry.max_backoff = std::chrono::milliseconds(20);
  auto client = Client::Create(config, retry);
  if (!client) throw std::runtime_error(client.error().message);
  return std::move(client).value();
}

TEST(ClientWritesTest, EveryWriteCarriesTheFieldManager) {
  RecordingServer recording;
  auto client = ClientFor(recording.server(), "disco-test");
  const auto& cms = resources::kConfigMaps;
  ASSERT_TRUE(client->Create(cms, "ns", kConfigMap).ok());
  ASSERT_TRUE(client->Update(cms, "ns", kConfigMap).ok());
  ASSERT_TRUE(client->UpdateStatus(cms, "ns", kConfigMap).ok());
  ASSERT_TRUE(client->MergePatch(cms, "ns", "settings", {{"data", {{"k", "v"}}}}).ok());
  ASSERT_TRUE(client->MergePatch(cms, "ns", "settings", {{"status", {}}}, true).ok());
  ASSERT_TRUE(client->JsonPatch(cms, "ns", "settings", json::array()).ok());
  ASSERT_TRUE(client->Apply(cms, "ns", "settings", kConfigMap).ok());
  ASSERT_TRUE(client->ApplyStatus(cms, "ns", "settings", kConfigMap, /*force=*/true).ok());
  ASSERT_TRUE(client->Get(cms, "ns", "settings").ok());

  const auto lines = recording.lines();
  const std::string cm = "/api/v1/namespaces/ns/configmaps";
  const std::string manager = "?fieldManager=disco-test";
  const std::vector<std::string> expected = {
      "POST " + cm + manager, "PUT " + cm + "/settings" + manager,
      "PUT " + cm + "/settings/status" + manager, "PATCH " + cm + "/settings" + manager,
      "PATCH " + cm + "/settings/status" + manager, "PATCH " + cm + "/settings" + manager,
      "PATCH " + cm + "/settings" + manager,
      "PATCH " + cm + "/settings/status" + manager + "&force=true",
      // Reads carry no field manager.
      "GET " + cm + "/settings"};
  ASSERT_EQ(lines.size(), expected.size());
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], expected[i] + " HTTP/1.1");
}

TEST(ClientWritesTest, TheDefaultFieldManagerIsDiscoblocks) {
  EXPECT_EQ(ClientConfig().field_manager, "discoblocks");
  RecordingServer recording;
  ClientConfig config;
  config.server = recording.server().url();
  auto client = std::move(Client::Create(config)).value();
  ASSERT_TRUE(client->Create(resources::kConfigMaps, "ns", kConfigMap).ok());
  EXPECT_EQ(recording.lines().at(0),
            "POST /api/v1/namespaces/ns/configmaps?fieldManager=discoblocks HTTP/1.1");
}

TEST(ClientWritesTest, AFieldManagerTheServerWouldRefuseIsRefusedAtCreate) {
  ClientConfig config;
  config.server = "https://127.0.0.1:1";
  for (const auto& [manager, says] : std::vector<std::pair<std::string, std::string>>{
           {"", "field manager is empty"},
           {std::string(129, 'm'), "129 bytes long; at most 128"},
           {"tab\there", "control character"}}) {
    config.field_manager = manager;
    auto client = Client::Create(config);
    ASSERT_FALSE(client.ok()) << manager;
    EXPECT_NE(client.error().message.find(says), std::string::npos) << client.error().message;
  }
  config.field_manager = std::string(128, 'm');
  EXPECT_TRUE(Client::Create(config).ok());
}

TEST(ClientWritesTest, ApplyRefusesWhatTheServerWouldMisreadWithoutSendingIt) {
  RecordingServer recording;
  auto client = ClientFor(recording.server(), "discoblocks");
  struct Case {
    std::string name;
    json object;
    std::string says;
  };
  json renamed = kConfigMap;
  renamed["metadata"]["name"] = "other";
  json managed = kConfigMap;
  managed["metadata"]["managedFields"] = json::array();
  json kindless = kConfigMap;
  kindless.erase("kind");
  const std::vector<Case> cases = {{"settings", renamed, R"(named "other", not "settings")"},
                                   {"settings", managed, "managedFields must be absent"},
                                   {"settings", kindless, "needs apiVersion and kind"},
                                   {"settings", json::array(), "not a JSON object"},
                                   {"", kConfigMap, "no name given"}};
  for (const auto& c : cases) {
    auto applied = client->Apply(resources::kConfigMaps, "ns", c.name, c.object);
    ASSERT_FALSE(applied.ok()) << c.says;
    EXPECT_EQ(applied.error().kind, ErrorKind::kBadRequest);
    EXPECT_NE(applied.error().message.find(c.says), std::string::npos) << applied.error().message;
    EXPECT_NE(applied.error().message.find("apply configmaps ns/"), std::string::npos)
        << applied.error().message;
  }
  EXPECT_EQ(recording.server().requests(), 0);

  // An object without a name gets the one asked for.
  json nameless = kConfigMap;
  nameless["metadata"].erase("name");
  EXPECT_TRUE(client->Apply(resources::kConfigMaps, "ns", "settings", nameless).ok());
}

TEST(ClientWritesTest, ApplyIsSentAgainAfterAnAmbiguousFailureAndAMergePatchIsNot) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const std::string&) {
    // Every other request fails after the server may have acted on it.
    return ++calls % 2 == 1 ? FakeHttpServer::Response(503, "{}")
                            : FakeHttpServer::Response(200, kConfigMap.dump());
  });
  auto client = ClientFor(server, "discoblocks", /*attempts=*/3);
  auto applied = client->Apply(resources::kConfigMaps, "ns", "settings", kConfigMap);
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(calls.load(), 2);

  auto patched = client->MergePatch(resources::kConfigMaps, "ns", "settings", {{"data", {}}});
  ASSERT_FALSE(patched.ok());
  EXPECT_EQ(patched.error().kind, ErrorKind::kServerError);
  EXPECT_EQ(calls.load(), 3);
}

TEST(ClientWritesTest, ACallTimeoutBoundsTheCallRetriesIncluded) {
  // Never answers: each attempt would wait the full request timeout (20 s),
  // and five attempts are allowed.
  FakeHttpServer server([](const std::string&) { return std::string(); });
  auto client = ClientFor(server, "discoblocks", /*attempts=*/5, std::chrono::seconds(20));
  auto bounded = client->WithCallTimeout(std::chrono::milliseconds(300));
  auto result = bounded->Get(resources::kConfigMaps, "ns", "settings");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTimeout) << result.error().message;
  // The attempt was given what was left of the 300 ms, not 20 s...
  std::smatch waited;
  const std::string& message = result.error().message;
  ASSERT_TRUE(std::regex_search(message, waited, std::regex("no answer within (\\d+) ms")))
      << message;
  EXPECT_LE(std::stoi(waited[1]), 300) << message;
  // ...and after it no time was left for a second one.
  EXPECT_EQ(server.requests(), 1);

  // No time at all: nothing is sent.
  auto none = client->WithCallTimeout(std::chrono::milliseconds(0))
                  ->Get(resources::kConfigMaps, "ns", "settings");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(none.error().message.find("not sent"), std::string::npos) << none.error().message;
  EXPECT_EQ(server.requests(), 1);
}

}  // namespace
}  // namespace discoblocks::kube
