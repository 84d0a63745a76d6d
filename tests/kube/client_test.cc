// The client against a real kube-apiserver: CRUD, selectors, pagination,
// patches, status, conflicts, watches, the DiskConfig CRD's schema and
// defaults, and failures that must name their cause.
#include "kube/client.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "admission/diskconfig.h"
#include "support/control_plane.h"
#include "support/pki.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::ControlPlane;
using testing::TestNamespace;

json ConfigMap(const std::string& name, const json& labels = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"key", "value"}}}};
}

class ClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<Client> client_ = ControlPlane::Get().AdminClient();
};

TEST_F(ClientTest, ConfigMapLifecycle) {
  TestNamespace ns("crud");
  auto created = client_->Create(resources::kConfigMaps, ns.name(), ConfigMap("settings"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto fetched = client_->Get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ((*fetched)["data"]["key"], "value");

  json changed = *fetched;
  changed["data"]["key"] = "changed";
  auto updated = client_->Update(resources::kConfigMaps, ns.name(), changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["data"]["key"], "changed");

  // Updating from the stale copy is a conflict.
  json stale = *fetched;
  stale["data"]["key"] = "stale";
  auto conflict = client_->Update(resources::kConfigMaps, ns.name(), stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict) << conflict.error().message;

  auto merged = client_->MergePatch(resources::kConfigMaps, ns.name(), "settings",
                                    {{"data", {{"extra", "1"}}}});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ((*merged)["data"]["extra"], "1");
  EXPECT_EQ((*merged)["data"]["key"], "changed");

  auto patched = client_->JsonPatch(
      resources::kConfigMaps, ns.name(), "settings",
      json::array({{{"op", "replace"}, {"path", "/data/key"}, {"value", "patched"}}}));
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ((*patched)["data"]["key"], "patched");

  auto again = client_->Create(resources::kConfigMaps, ns.name(), ConfigMap("settings"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);

  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns.name(), "settings").ok());
  auto gone = client_->Get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(gone.error().http_status, 404);
  EXPECT_NE(gone.error().message.find("get configmaps"), std::string::npos);
  EXPECT_EQ(client_->Delete(resources::kConfigMaps, ns.name(), "settings").error().kind,
            ErrorKind::kNotFound);
}

TEST_F(ClientTest, ListWithSelectorsAndPagination) {
  TestNamespace ns("list");
  for (int i = 0; i < 7; ++i) {
    const json labels = {{"tier", i % 2 == 0 ? "even" : "odd"}};
    ASSERT_TRUE(client_
                    ->Create(resources::kConfigMaps, ns.name(),
                             ConfigMap("cm-" + std::to_string(i), labels))
                    .ok());
  }
  ListOptions even;
  even.label_selector = "tier=even";
  auto listed = client_->List(resources::kConfigMaps, ns.name(), even);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ((*listed)["items"].size(), 4U);

  ListOptions by_name;
  by_name.field_selector = "metadata.name=cm-3";
  EXPECT_EQ((*client_->List(resources::kConfigMaps, ns.name(), by_name))["items"].size(), 1U);

  ListOptions paged;
  paged.label_selector = "tier in (even,odd)";
  paged.limit = 3;
  auto first = client_->List(resources::kConfigMaps, ns.name(), paged);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["items"].size(), 3U);
  EXPECT_FALSE((*first)["metadata"].value("continue", "").empty());
  auto all = client_->ListAll(resources::kConfigMaps, ns.name(), paged);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ((*all)["items"].size(), 7U);
}

TEST_F(ClientTest, ClusterScopedStorageClassesAndNamespacedClaims) {
  TestNamespace ns("storage");
  auto sc = testing::Fixture("storageclasses/ebs-gp3.yaml");
  sc["metadata"]["name"] = ns.name() + "-gp3";
  auto created = client_->Create(resources::kStorageClasses, "", sc);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*client_->Get(resources::kStorageClasses, "", ns.name() + "-gp3"))["provisioner"],
            "ebs.csi.aws.com");

  const json pvc = {{"apiVersion", "v1"},
                    {"kind", "PersistentVolumeClaim"},
                    {"metadata", {{"name", "data"}}},
                    {"spec",
                     {{"storageClassName", ns.name() + "-gp3"},
                      {"accessModes", {"ReadWriteOnce"}},
                      {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  ASSERT_TRUE(client_->Create(resources::kPersistentVolumeClaims, ns.name(), pvc).ok());
  auto grown = client_->MergePatch(resources::kPersistentVolumeClaims, ns.name(), "data",
                                   {{"metadata", {{"labels", {{"discoblocks", "x"}}}}}});
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  ASSERT_TRUE(client_->Delete(resources::kPersistentVolumeClaims, ns.name(), "data").ok());
  ASSERT_TRUE(client_->Delete(resources::kStorageClasses, "", ns.name() + "-gp3").ok());
}

TEST_F(ClientTest, DiskConfigDefaultsFillAMinimalObject) {
  TestNamespace ns("defaults");
  const json minimal = {
      {"apiVersion", "discoblocks.ondat.io/v1"},
      {"kind", "DiskConfig"},
      {"metadata", {{"name", "minimal"}}},
      {"spec", {{"storageClassName", "ebs-gp3"}, {"podSelector", {{"app", "db"}}}}}};
  auto created = client_->Create(resources::kDiskConfigs, ns.name(), minimal);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const json& spec = (*created)["spec"];
  EXPECT_EQ(spec["capacity"], "1Gi");
  EXPECT_EQ(spec["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(spec["availabilityMode"], "ReadWriteOnce");
  // Not stored: it is derived from the name (/media/discoblocks/<name>-%d).
  EXPECT_FALSE(spec.contains("mountPointPattern"));
  // The binary applies the very defaults the API server applies (one source).
  EXPECT_EQ(admission::WithDefaults(minimal)["spec"], spec);
  const json& policy = spec["policy"];
  EXPECT_EQ(policy["upscaleTriggerPercentage"], 80);
  EXPECT_EQ(policy["maximumCapacityOfDisk"], "1000Gi");
  EXPECT_EQ(policy["maximumNumberOfDisks"], 1);
  EXPECT_EQ(policy["extendCapacity"], "1Gi");
  EXPECT_EQ(policy["coolDown"], "5m");
  EXPECT_EQ(policy["pause"], false);

  // The original's example is accepted unchanged.
  json nginx = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  nginx["metadata"].erase("namespace");
  auto accepted = client_->Create(resources::kDiskConfigs, ns.name(), nginx);
  EXPECT_TRUE(accepted.ok()) << accepted.error().message;

  // The status subresource.
  json status_update = *client_->Get(resources::kDiskConfigs, ns.name(), "minimal");
  status_update["status"] = {
      {"conditions", json::array({{{"type", "Bound"},
                                   {"status", "True"},
                                   {"message", "minimal-disk-0"},
                                   {"reason", "PersistentVolumeClaimBound"},
                                   {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}};
  auto with_status = client_->UpdateStatus(resources::kDiskConfigs, ns.name(), status_update);
  ASSERT_TRUE(with_status.ok()) << with_status.error().message;
  EXPECT_EQ((*with_status)["status"]["conditions"][0]["message"], "minimal-disk-0");
}

struct SchemaViolation {
  std::string description;
  json spec_patch;
  std::string field;  // named in the API server's refusal
};

class DiskConfigSchemaTest : public ::testing::TestWithParam<SchemaViolation> {};

TEST_P(DiskConfigSchemaTest, IsRefusedWithTheFieldNamed) {
  TestNamespace ns("schema");
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", "bad"}}},
                 {"spec", {{"storageClassName", "ebs-gp3"}, {"podSelector", {{"app", "db"}}}}}};
  object["spec"].merge_patch(GetParam().spec_patch);
  auto created =
      ControlPlane::Get().AdminClient()->Create(resources::kDiskConfigs, ns.name(), object);
  ASSERT_FALSE(created.ok()) << GetParam().description;
  EXPECT_EQ(created.error().kind, ErrorKind::kInvalid) << created.error().message;
  EXPECT_NE(created.error().message.find(GetParam().field), std::string::npos)
      << created.error().message;
  bool named = false;
  for (const auto& cause : created.error().causes) {
    named = named || cause.field.find(GetParam().field) != std::string::npos;
  }
  EXPECT_TRUE(named) << created.error().message;
}

void PrintTo(const SchemaViolation& violation, std::ostream* out) { *out << violation.description; }

INSTANTIATE_TEST_SUITE_P(
    Crd, DiskConfigSchemaTest,
    ::testing::Values(
        SchemaViolation{
            "missing storageClassName", {{"storageClassName", nullptr}}, "spec.storageClassName"},
        SchemaViolation{
            "two %d", {{"mountPointPattern", "/data/%d/disk-%d"}}, "spec.mountPointPattern"},
        SchemaViolation{
            "relative mount point", {{"mountPointPattern", "data"}}, "spec.mountPointPattern"},
        SchemaViolation{"forbidden character",
                        {{"mountPointPattern", "/data/<name>"}},
                        "spec.mountPointPattern"},
        SchemaViolation{"trigger below 50",
                        {{"policy", {{"upscaleTriggerPercentage", 20}}}},
                        "spec.policy.upscaleTriggerPercentage"},
        SchemaViolation{"no disks",
                        {{"policy", {{"maximumNumberOfDisks", 0}}}},
                        "spec.policy.maximumNumberOfDisks"},
        SchemaViolation{
            "unknown availability mode", {{"availabilityMode", "Foo"}}, "spec.availabilityMode"},
        SchemaViolation{"capacity above the largest disk (fixture bad-capacity.yaml)",
                        {{"capacity", "5Gi"}, {"policy", {{"maximumCapacityOfDisk", "2Gi"}}}},
                        "spec.capacity"},
        SchemaViolation{
            "cool-down below 10s", {{"policy", {{"coolDown", "5s"}}}}, "spec.policy.coolDown"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST_F(ClientTest, WatchResumesFromAResourceVersion) {
  TestNamespace ns("watch");
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns.name(), ConfigMap("a")).ok());
  auto listed = client_->List(resources::kConfigMaps, ns.name());
  ASSERT_TRUE(listed.ok());
  const std::string version = (*listed)["metadata"]["resourceVersion"];
  // Changes after the list, before the watch starts: a watch from `version`
  // must still deliver them, in order.
  ASSERT_TRUE(client_->Create(resources::kConfigMaps, ns.name(), ConfigMap("b")).ok());
  ASSERT_TRUE(
      client_->MergePatch(resources::kConfigMaps, ns.name(), "a", {{"data", {{"k", "2"}}}}).ok());
  ASSERT_TRUE(client_->Delete(resources::kConfigMaps, ns.name(), "b").ok());

  std::vector<std::string> seen;
  std::atomic<bool> cancel{false};
  WatchOptions options;
  options.resource_version = version;
  options.timeout = std::chrono::seconds(10);
  auto watched = client_->Watch(
      resources::kConfigMaps, ns.name(), options,
      [&](const WatchEvent& event) {
        if (event.type == WatchEvent::Type::kBookmark) return true;
        const char* type = event.type == WatchEvent::Type::kAdded      ? "ADDED"
                           : event.type == WatchEvent::Type::kModified ? "MODIFIED"
                                                                       : "DELETED";
        seen.push_back(std::string(type) + " " +
                       event.object["metadata"]["name"].get<std::string>());
        return seen.size() < 3;
      },
      cancel);
  ASSERT_TRUE(watched.ok()) << watched.error().message;
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED b", "MODIFIED a", "DELETED b"}));
}

TEST(ClientFailureTest, WrongCredentialsAreUnauthorized) {
  auto config = LoadKubeconfig(ControlPlane::Get().kubeconfig());
  ASSERT_TRUE(config.ok());
  // A client certificate from a CA the API server does not trust.
  const auto stranger = testing::SelfSignedCertificate("intruder");
  config->client_cert_pem = stranger.certificate_pem;
  config->client_key_pem = stranger.private_key_pem;
  auto client = std::move(Client::Create(*config)).value();
  auto result = client->Get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUnauthorized) << result.error().message;

  // An unknown bearer token.
  auto token_config = LoadKubeconfig(ControlPlane::Get().token_kubeconfig());
  ASSERT_TRUE(token_config.ok()) << token_config.error().message;
  auto good = std::move(Client::Create(*token_config)).value();
  EXPECT_TRUE(good->Get(resources::kNamespaces, "", "default").ok());
  token_config->bearer_token = "expired-or-wrong";
  auto bad = std::move(Client::Create(*token_config)).value();
  EXPECT_EQ(bad->Get(resources::kNamespaces, "", "default").error().kind, ErrorKind::kUnauthorized);
}

TEST(ClientFailureTest, ServerWithAnUntrustedCertificateIsATransportErrorSayingSo) {
  auto config = LoadKubeconfig(ControlPlane::Get().kubeconfig());
  ASSERT_TRUE(config.ok());
  config->ca_pem = testing::SelfSignedCertificate("other-ca").certificate_pem;
  auto client = std::move(Client::Create(*config)).value();
  auto result = client->Get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_NE(result.error().message.find("certificate"), std::string::npos)
      << result.error().message;
}

TEST(ClientFailureTest, UnreachableServerFailsWithinItsTimeout) {
  ClientConfig config;
  config.server = "https://127.0.0.1:1";  // nothing listens on port 1
  config.request_timeout = std::chrono::milliseconds(2000);
  RetryPolicy retry;
  retry.max_attempts = 2;
  retry.initial_backoff = std::chrono::milliseconds(10);
  auto client = std::move(Client::Create(config, retry)).value();
  auto result = client->Get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_NE(result.error().message.find("127.0.0.1"), std::string::npos) << result.error().message;
}

}  // namespace
}  // namespace discoblocks::kube
