// What the pod webhook reads and writes in `serve`, against a fake API server:
// DiskConfigs of a namespace from the cache (defaults applied; those being
// deleted or malformed left out), claims by labels through the `discoblocks`
// index, and the writer's create, AlreadyExists (returns what is stored) and
// errors, counted in discoblocks_pvc_operations_total.
#include "operator/pod_webhook_sources.h"

#include <gtest/gtest.h>

#include "kube/resource.h"
#include "operator/manager.h"
#include "support/fake_http_server.h"

namespace discoblocks::op {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeHttpServer;

const char* const kDiskConfigs = R"({"kind":"DiskConfigList","metadata":{"resourceVersion":"9"},
  "items":[
   {"metadata":{"namespace":"a","name":"web","resourceVersion":"1"},
    "spec":{"storageClassName":"fast","podSelector":{"app":"web"}}},
   {"metadata":{"namespace":"a","name":"broken","resourceVersion":"2"},
    "spec":{"storageClassName":"fast","capacity":[],"podSelector":{}}},
   {"metadata":{"namespace":"a","name":"going","resourceVersion":"3",
                "deletionTimestamp":"2026-11-29T18:00:00Z"},
    "spec":{"storageClassName":"fast","podSelector":{}}},
   {"metadata":{"namespace":"b","name":"other","resourceVersion":"4"},
    "spec":{"storageClassName":"fast","podSelector":{}}}]})";

const char* const kClaims =
    R"({"kind":"PersistentVolumeClaimList","metadata":{"resourceVersion":"9"},
  "items":[
   {"metadata":{"namespace":"a","name":"discoblocks-web-0","resourceVersion":"5",
                "labels":{"discoblocks":"web","discoblocks-index":"0"}}},
   {"metadata":{"namespace":"b","name":"discoblocks-web-0","resourceVersion":"6",
                "labels":{"discoblocks":"web","discoblocks-index":"0"}}},
   {"metadata":{"namespace":"a","name":"discoblocks-web-1","resourceVersion":"7",
                "labels":{"discoblocks":"web","discoblocks-index":"1"}}},
   {"metadata":{"namespace":"a","name":"unlabelled","resourceVersion":"8","labels":7}}]})";

std::string Lists(const std::string& line) {
  if (line.find("watch=true") != std::string::npos) return FakeHttpServer::Response(200, "");
  if (line.find("/diskconfigs") != std::string::npos) {
    return FakeHttpServer::Response(200, kDiskConfigs);
  }
  return FakeHttpServer::Response(200, kClaims);
}

std::shared_ptr<const kube::Client> ClientFor(const FakeHttpServer& server) {
  kube::ClientConfig config;
  config.server = server.url();
  kube::RetryPolicy once;
  once.max_attempts = 1;
  return std::move(kube::Client::Create(config, once)).value();
}

TEST(PodWebhookSourcesTest, LookupsReadTheCaches) {
  const FakeHttpServer server(Lists);
  const auto client = ClientFor(server);
  kube::Informer configs(client, kube::resources::kDiskConfigs,
                         CacheOptionsFor(kube::resources::kDiskConfigs));
  kube::Informer claims(client, kube::resources::kPersistentVolumeClaims,
                        CacheOptionsFor(kube::resources::kPersistentVolumeClaims));
  configs.Start();
  claims.Start();
  ASSERT_TRUE(configs.WaitForSync(30s));
  ASSERT_TRUE(claims.WaitForSync(30s));

  const auto found = DiskConfigsFromCache(configs)("a");
  ASSERT_EQ(found.size(), 1U);  // not the malformed one, nor the one being deleted
  EXPECT_EQ(found[0].name, "web");
  EXPECT_EQ(found[0].ns, "a");
  EXPECT_EQ(found[0].availability_mode, "ReadWriteOnce");  // the CRD's default
  EXPECT_TRUE(DiskConfigsFromCache(configs)("nowhere").empty());

  const auto lookup = ClaimsFromCache(claims);
  auto family = lookup("a", {{"discoblocks", "web"}, {"discoblocks-index", "0"}});
  ASSERT_EQ(family.size(), 1U);
  EXPECT_EQ(family[0]["metadata"]["namespace"], "a");
  EXPECT_EQ(family[0]["metadata"]["name"], "discoblocks-web-0");
  EXPECT_EQ(lookup("a", {{"discoblocks", "web"}}).size(), 2U);
  EXPECT_TRUE(lookup("a", {{"discoblocks", "web"}, {"discoblocks-index", "2"}}).empty());
  EXPECT_TRUE(lookup("a", {{"discoblocks", "nothing"}}).empty());
  // Without the `discoblocks` label: the namespace's claims, filtered.
  EXPECT_EQ(lookup("a", {{"discoblocks-index", "1"}}).size(), 1U);
  configs.Stop();
  claims.Stop();
}

const char* const kStored = R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
  "metadata":{"namespace":"a","name":"discoblocks-web-0","labels":{"discoblocks":"web"}}})";

TEST(PodWebhookSourcesTest, TheWriterCreatesOrReturnsWhatIsStoredAndCounts) {
  std::string create_answer;
  const FakeHttpServer server([&](const std::string& line) {
    if (line.rfind("POST ", 0) == 0) return create_answer;
    return FakeHttpServer::Response(200, kStored);
  });
  metrics::Registry registry;
  const PvcOperations operations(&registry);
  ClientObjectWriter writer(ClientFor(server), &operations);
  const json pvc = json::parse(kStored);

  create_answer = FakeHttpServer::Response(201, kStored);
  auto created = writer.CreatePvcIfAbsent(pvc);
  ASSERT_TRUE(created.ok()) << created.error().message;

  create_answer = FakeHttpServer::Response(
      409, R"({"kind":"Status","status":"Failure","reason":"AlreadyExists","code":409,
               "message":"persistentvolumeclaims \"discoblocks-web-0\" already exists"})");
  auto existing = writer.CreatePvcIfAbsent(pvc);
  ASSERT_TRUE(existing.ok()) << existing.error().message;
  EXPECT_EQ((*existing)["metadata"]["labels"]["discoblocks"], "web");

  create_answer = FakeHttpServer::Response(
      403, R"({"kind":"Status","status":"Failure","reason":"Forbidden","code":403,
               "message":"no"})");
  EXPECT_FALSE(writer.CreatePvcIfAbsent(pvc).ok());
  // StorageClasses are not claims: not counted.
  EXPECT_FALSE(writer.CreateStorageClassIfAbsent({{"metadata", {{"name", "x"}}}}).ok());

  const std::string text = registry.Render();
  for (const char* result : {"success", "already_exists", "error"}) {
    EXPECT_NE(
        text.find(std::string(R"(discoblocks_pvc_operations_total{operation="create",result=")") +
                  result + "\"} 1"),
        std::string::npos)
        << result << " in\n"
        << text;
  }
}

}  // namespace
}  // namespace discoblocks::op
