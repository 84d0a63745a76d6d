// The pod webhook's AdmissionReview handling: the patch it answers with, what
// it creates (and not on a dry run), a writer that fails, metrics, bad input.
#include "admission/pod_webhook.h"

#include "admission/webhook.h"

#include <gtest/gtest.h>

#include "pod_fixture.h"
#include "util/base64.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;
using testing::Cluster;
using testing::Config;
using testing::WebPod;

// Records what it is asked to create; answers with `existing` when set (as
// for AlreadyExists) or `error`.
class FakeWriter : public ObjectWriter {
 public:
  Result<json> CreatePvcIfAbsent(const json& pvc) override { return Create(pvc); }
  Result<json> CreateStorageClassIfAbsent(const json& storage_class) override {
    return Create(storage_class);
  }

  std::vector<json> created;
  std::optional<json> existing;
  std::optional<std::string> error;

 private:
  Result<json> Create(const json& object) {
    if (error) return MakeError(*error);
    if (existing) return *existing;
    created.push_back(object);
    return object;
  }
};

class PodWebhookTest : public ::testing::Test {
 protected:
  PodWebhookTest() {
    cluster_.configs = {Config(
        "shared", {{"availabilityMode", "ReadWriteSame"}, {"storageClassName", "storageos"}})};
  }

  PodWebhook Webhook() {
    PodWebhookContext context;
    const PodMutationInput input = cluster_.Input(json());
    context.registry = input.registry;
    context.storage_class = input.storage_class;
    context.node = input.node;
    context.pvcs = input.pvcs;
    context.disk_configs = [this](std::string_view ns) {
      std::vector<DiskConfig> in;
      for (const DiskConfig& config : cluster_.configs) {
        if (config.ns == ns) in.push_back(config);
      }
      return in;
    };
    context.writer = &writer_;
    return {std::move(context), &metrics_};
  }

  static json Review(const std::string& operation, const json& pod, bool dry_run = false) {
    json request = {{"uid", "b1e4c2a0-6f1d-4e8b-9c3a-2d5f7e9a1b3c"},
                    {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                    {"operation", operation},
                    {"namespace", "default"},
                    {"name", ""},
                    {"dryRun", dry_run}};
    if (!pod.is_null()) request["object"] = pod;
    return {
        {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
  }

  json Answer(const json& review) {
    const WebhookResponse response = Webhook().Handle(review.dump());
    EXPECT_EQ(response.http_status, 200) << response.body;
    return json::parse(response.body)["response"];
  }

  static json Patch(const json& response) {
    EXPECT_EQ(response["patchType"], "JSONPatch");
    auto decoded = Base64Decode("patch", response["patch"].get<std::string>());
    EXPECT_TRUE(decoded) << decoded.error().message;
    return json::parse(*decoded);
  }

  Cluster cluster_;
  FakeWriter writer_;
  metrics::Registry metrics_;
};

TEST_F(PodWebhookTest, CreatesThePvcAndAnswersWithThePatch) {
  const json pod = WebPod();
  const json response = Answer(Review("CREATE", pod));
  EXPECT_EQ(response["uid"], "b1e4c2a0-6f1d-4e8b-9c3a-2d5f7e9a1b3c");
  EXPECT_EQ(response["allowed"], true);
  const PodMutation expected = cluster_.Mutate(pod);
  EXPECT_EQ(Patch(response), expected.patch);
  ASSERT_EQ(writer_.created.size(), 1U);
  EXPECT_EQ(writer_.created[0], expected.pvcs.at(0));
  EXPECT_NE(
      metrics_.Render().find(
          R"(discoblocks_admission_requests_total{endpoint="/mutate--v1-pod",operation="CREATE",result="mutated"} 1)"),
      std::string::npos)
      << metrics_.Render();
}

TEST_F(PodWebhookTest, DryRunCreatesNothing) {
  const json response = Answer(Review("CREATE", WebPod(), /*dry_run=*/true));
  EXPECT_EQ(response["allowed"], true);
  EXPECT_FALSE(Patch(response).empty());
  EXPECT_TRUE(writer_.created.empty());
}

TEST_F(PodWebhookTest, AWriterErrorDeniesWithTheReason) {
  writer_.error = "persistentvolumeclaims is forbidden: exceeded quota";
  const json response = Answer(Review("CREATE", WebPod()));
  EXPECT_EQ(response["allowed"], false);
  EXPECT_EQ(response["status"]["code"], 403);
  EXPECT_EQ(response["status"]["message"],
            R"(cannot create PersistentVolumeClaim "default/discoblocks-shared-0": )"
            "persistentvolumeclaims is forbidden: exceeded quota");
  EXPECT_FALSE(response.contains("patch"));
  EXPECT_NE(
      metrics_.Render().find(R"(endpoint="/mutate--v1-pod",operation="CREATE",result="denied"} 1)"),
      std::string::npos)
      << metrics_.Render();
}

// A second replica, or a retry, finds the PVC made a moment ago.
TEST_F(PodWebhookTest, AlreadyExistsIsFineWhenItIsOurs) {
  writer_.existing = cluster_.Mutate(WebPod()).pvcs.at(0);
  (*writer_.existing)["metadata"]["uid"] = "made-by-the-other-replica";
  EXPECT_EQ(Answer(Review("CREATE", WebPod()))["allowed"], true);

  writer_.existing = json::parse(R"({"kind": "PersistentVolumeClaim", "metadata": {
      "name": "discoblocks-shared-0", "namespace": "default", "labels": {"app": "mine"}}})");
  const json response = Answer(Review("CREATE", WebPod()));
  EXPECT_EQ(response["allowed"], false);
  EXPECT_EQ(response["status"]["message"],
            R"(PersistentVolumeClaim "default/discoblocks-shared-0" exists and is not the one )"
            "Discoblocks would make (its Discoblocks labels or annotations differ)");
}

TEST_F(PodWebhookTest, StorageClassesAreCreatedBeforeThePvcs) {
  cluster_.configs = {Config("cache", {{"availabilityMode", "ReadWriteDaemon"}})};
  json pod = testing::DaemonPod();
  EXPECT_EQ(Answer(Review("CREATE", pod))["allowed"], true);
  ASSERT_EQ(writer_.created.size(), 2U);
  EXPECT_EQ(writer_.created[0]["kind"], "StorageClass");
  EXPECT_EQ(writer_.created[1]["kind"], "PersistentVolumeClaim");
}

TEST_F(PodWebhookTest, NoWriterDeniesWhatNeedsCreating) {
  PodWebhookContext context;
  context.disk_configs = [this](std::string_view) { return cluster_.configs; };
  const PodMutationInput input = cluster_.Input(json());
  context.registry = input.registry;
  context.storage_class = input.storage_class;
  const PodWebhook webhook(std::move(context), nullptr);
  const json answer = json::parse(webhook.Handle(Review("CREATE", WebPod()).dump()).body);
  EXPECT_EQ(answer["response"]["status"]["message"],
            "the webhook cannot create objects (no writer)");
}

TEST_F(PodWebhookTest, OtherOperationsAndSubresourcesAreAllowedUnchanged) {
  for (const char* operation : {"UPDATE", "DELETE", "CONNECT"}) {
    const json response = Answer(Review(operation, WebPod()));
    EXPECT_EQ(response["allowed"], true) << operation;
    EXPECT_FALSE(response.contains("patch")) << operation;
  }
  json binding = Review("CREATE", WebPod());
  binding["request"]["subResource"] = "binding";
  EXPECT_FALSE(Answer(binding).contains("patch"));
  EXPECT_TRUE(writer_.created.empty());
}

TEST_F(PodWebhookTest, APodMatchingNothingIsAllowedWithoutPatch) {
  json pod = WebPod();
  pod["metadata"]["labels"] = {{"app", "other"}};
  const json response = Answer(Review("CREATE", pod));
  EXPECT_EQ(response["allowed"], true);
  EXPECT_FALSE(response.contains("patch"));
  EXPECT_NE(metrics_.Render().find(
                R"(endpoint="/mutate--v1-pod",operation="CREATE",result="allowed"} 1)"),
            std::string::npos);
}

TEST_F(PodWebhookTest, WhatIsNotAPodIsDenied) {
  EXPECT_EQ(Answer(Review("CREATE", nullptr))["status"]["message"], "the request carries no pod");
  EXPECT_EQ(Answer(Review("CREATE", {{"kind", "Deployment"}}))["status"]["message"],
            "request.object is a Deployment, not a Pod");
}

TEST_F(PodWebhookTest, MalformedReviewsGet400) {
  const PodWebhook webhook = Webhook();
  EXPECT_EQ(webhook.Handle("{").http_status, 400);
  json review = Review("CREATE", WebPod());
  review["request"]["dryRun"] = "yes";
  const WebhookResponse response = webhook.Handle(review.dump());
  EXPECT_EQ(response.http_status, 400);
  EXPECT_EQ(json::parse(response.body)["error"],
            "request.dryRun: expected a boolean, got a string");
  review["request"]["dryRun"] = false;
  review["request"]["subResource"] = 1;
  EXPECT_EQ(json::parse(webhook.Handle(review.dump()).body)["error"],
            "request.subResource: expected a string, got a number");
  EXPECT_TRUE(writer_.created.empty());
  EXPECT_NE(metrics_.Render().find(
                R"(endpoint="/mutate--v1-pod",operation="CREATE",result="bad_request"} 2)"),
            std::string::npos)
      << metrics_.Render();
}

// `serve` registers both webhooks on one registry: they share the families,
// told apart by the endpoint, with latency by result for both.
TEST_F(PodWebhookTest, SharesTheMetricFamiliesWithTheDiskConfigWebhook) {
  RuleContext rules;
  rules.registry = cluster_.registry;
  const DiskConfigWebhook diskconfigs(rules, &metrics_);
  EXPECT_EQ(diskconfigs.Handle("{").http_status, 400);
  Answer(Review("CREATE", WebPod()));
  const std::string text = metrics_.Render();
  EXPECT_NE(
      text.find(
          R"(discoblocks_admission_requests_total{endpoint="/validate-discoblocks-ondat-io-v1-diskconfig",operation="unknown",result="bad_request"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(discoblocks_admission_duration_seconds_count{endpoint="/mutate--v1-pod",result="mutated"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(discoblocks_admission_duration_seconds_count{endpoint="/validate-discoblocks-ondat-io-v1-diskconfig",result="bad_request"} 1)"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("# HELP discoblocks_admission_requests_total"),
            text.rfind("# HELP discoblocks_admission_requests_total"))
      << "one family";
}

}  // namespace
}  // namespace discoblocks::admission
