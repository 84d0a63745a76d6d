// Writes with a field manager against a real kube-apiserver: server-side
// apply creates, updates, forgets what it no longer states, and stops at
// other managers' fields unless forced; managedFields names us; a
// read-modify-write with concurrent writers loses no update.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/conflict_retry.h"
#include "support/control_plane.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::ControlPlane;
using testing::TestNamespace;

json Intent(const json& data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", data}};
}

std::shared_ptr<Client> ClientAs(const std::string& field_manager) {
  auto config = LoadKubeconfig(ControlPlane::Get().kubeconfig());
  if (!config) throw std::runtime_error(config.error().message);
  config->field_manager = field_manager;
  return std::move(Client::Create(*config)).value();
}

// The managedFields entry of `manager`, or null.
json ManagedBy(const json& object, const std::string& manager) {
  for (const auto& entry : object["metadata"]["managedFields"]) {
    if (entry.value("manager", "") == manager) return entry;
  }
  return nullptr;
}

TEST(ApplyTest, CreatesThenUpdatesAsItsFieldManager) {
  TestNamespace ns("apply");
  auto client = ControlPlane::Get().AdminClient();
  auto created = client->Apply(resources::kConfigMaps, ns.name(), "settings",
                               Intent({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)["data"], json({{"a", "1"}, {"b", "2"}}));
  const json entry = ManagedBy(*created, "discoblocks");
  ASSERT_FALSE(entry.is_null()) << created->dump(2);
  EXPECT_EQ(entry["operation"], "Apply");
  EXPECT_TRUE(entry["fieldsV1"]["f:data"].contains("f:a")) << entry.dump();

  // The same intent again changes nothing.
  auto again = client->Apply(resources::kConfigMaps, ns.name(), "settings",
                             Intent({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)["metadata"]["resourceVersion"], (*created)["metadata"]["resourceVersion"]);

  // A new intent: a changes, b (no longer stated) goes, c comes.
  auto updated = client->Apply(resources::kConfigMaps, ns.name(), "settings",
                               Intent({{"a", "3"}, {"c", "4"}}));
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["data"], json({{"a", "3"}, {"c", "4"}}));
}

TEST(ApplyTest, AnotherManagersFieldIsAConflictUnlessForced) {
  TestNamespace ns("apply-conflict");
  auto ours = ControlPlane::Get().AdminClient();
  auto theirs = ClientAs("someone-else");
  ASSERT_TRUE(
      ours->Apply(resources::kConfigMaps, ns.name(), "shared", Intent({{"size", "1Gi"}})).ok());

  auto refused =
      theirs->Apply(resources::kConfigMaps, ns.name(), "shared", Intent({{"size", "2Gi"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kConflict) << refused.error().message;
  EXPECT_NE(refused.error().message.find("discoblocks"), std::string::npos)
      << refused.error().message;

  auto forced = theirs->Apply(resources::kConfigMaps, ns.name(), "shared",
                              Intent({{"size", "2Gi"}}), /*force=*/true);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ((*forced)["data"]["size"], "2Gi");
  const json entry = ManagedBy(*forced, "someone-else");
  ASSERT_FALSE(entry.is_null()) << forced->dump(2);
  EXPECT_TRUE(entry["fieldsV1"]["f:data"].contains("f:size"));
}

TEST(ApplyTest, UpdatesAndPatchesAreOwnedByTheFieldManager) {
  TestNamespace ns("manager");
  auto client = ClientAs("discoblocks-controller");
  json object = Intent({{"a", "1"}});
  object["metadata"] = {{"name", "owned"}};
  ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), object).ok());
  auto patched =
      client->MergePatch(resources::kConfigMaps, ns.name(), "owned", {{"data", {{"b", "2"}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  const json entry = ManagedBy(*patched, "discoblocks-controller");
  ASSERT_FALSE(entry.is_null()) << patched->dump(2);
  EXPECT_EQ(entry["operation"], "Update");
  EXPECT_TRUE(entry["fieldsV1"]["f:data"].contains("f:b")) << entry.dump();
}

TEST(ApplyTest, ApplyStatusWritesOnlyTheStatus) {
  TestNamespace ns("apply-status");
  auto client = ControlPlane::Get().AdminClient();
  const json config = {
      {"apiVersion", "discoblocks.ondat.io/v1"},
      {"kind", "DiskConfig"},
      {"spec", {{"storageClassName", "ebs-gp3"}, {"podSelector", {{"app", "db"}}}}}};
  ASSERT_TRUE(client->Apply(resources::kDiskConfigs, ns.name(), "db", config).ok());
  const json status = {
      {"apiVersion", "discoblocks.ondat.io/v1"},
      {"kind", "DiskConfig"},
      {"status",
       {{"conditions", json::array({{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "Provisioned"},
                                     {"message", "all disks bound"},
                                     {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}}}};
  auto applied = client->ApplyStatus(resources::kDiskConfigs, ns.name(), "db", status);
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ((*applied)["status"]["conditions"][0]["reason"], "Provisioned");
  EXPECT_EQ((*applied)["spec"]["storageClassName"], "ebs-gp3");
}

TEST(UpdateWithRetryTest, AConcurrentWriteBetweenReadAndWriteIsRetriedFromAFreshRead) {
  TestNamespace ns("conflict");
  auto client = ControlPlane::Get().AdminClient();
  json object = Intent({{"mine", "0"}});
  object["metadata"] = {{"name", "contended"}};
  ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), object).ok());

  int calls = 0;
  auto updated =
      UpdateWithRetry(*client, resources::kConfigMaps, ns.name(), "contended", [&](json& current) {
        if (++calls == 1) {
          // Another writer lands after our read: our write must conflict.
          auto other = ControlPlane::Get().AdminClient()->MergePatch(
              resources::kConfigMaps, ns.name(), "contended", {{"data", {{"theirs", "1"}}}});
          ASSERT_TRUE(other.ok()) << other.error().message;
        }
        current["data"]["mine"] = "1";
      });
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*updated)["data"], json({{"mine", "1"}, {"theirs", "1"}}));

  // A change that changes nothing writes nothing.
  auto unchanged = UpdateWithRetry(*client, resources::kConfigMaps, ns.name(), "contended",
                                   [](json& current) { current["data"]["mine"] = "1"; });
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ((*unchanged)["metadata"]["resourceVersion"], (*updated)["metadata"]["resourceVersion"]);
}

TEST(UpdateWithRetryTest, ConcurrentIncrementsAreAllKept) {
  TestNamespace ns("counter");
  auto client = ControlPlane::Get().AdminClient();
  json object = Intent({{"count", "0"}});
  object["metadata"] = {{"name", "counter"}};
  ASSERT_TRUE(client->Create(resources::kConfigMaps, ns.name(), object).ok());

  constexpr int kWriters = 4;
  constexpr int kIncrements = 5;
  ConflictRetry patient;
  patient.max_attempts = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  writers.reserve(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto result = UpdateWithRetry(
            *client, resources::kConfigMaps, ns.name(), "counter",
            [](json& current) {
              const int count = std::stoi(current["data"]["count"].get<std::string>());
              current["data"]["count"] = std::to_string(count + 1);
            },
            /*status=*/false, patient);
        if (!result) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  auto final_state = client->Get(resources::kConfigMaps, ns.name(), "counter");
  ASSERT_TRUE(final_state.ok());
  EXPECT_EQ((*final_state)["data"]["count"], std::to_string(kWriters * kIncrements));
}

}  // namespace
}  // namespace discoblocks::kube
