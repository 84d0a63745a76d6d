// The webhook's AdmissionReview handling: answers, denials, warnings, metrics,
// and every kind of bad input, each followed by a good request that still works.
#include "admission/webhook.h"

#include <gtest/gtest.h>

#include "admission/diskconfig.h"
#include "support/test_support.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

class WebhookTest : public ::testing::Test {
 protected:
  WebhookTest() : webhook_(Context(), &metrics_) {}

  static RuleContext Context() {
    RuleContext context;
    context.registry = &testing::BundledDrivers();
    context.storage_class = [](std::string_view name) -> std::optional<json> {
      for (const char* file :
           {"storageclasses/ebs-gp3.yaml", "storageclasses/ebs-no-expansion.yaml"}) {
        json storage_class = testing::Fixture(file);
        if (storage_class["metadata"]["name"] == name) return storage_class;
      }
      return std::nullopt;
    };
    return context;
  }

  static json Review(const std::string& operation, const json& object,
                     const json& old_object = nullptr) {
    json request = {
        {"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
        {"kind", {{"group", "discoblocks.ondat.io"}, {"version", "v1"}, {"kind", "DiskConfig"}}},
        {"operation", operation},
        {"namespace", "default"},
        {"name", "nginx"}};
    if (!object.is_null()) request["object"] = object;
    if (!old_object.is_null()) request["oldObject"] = old_object;
    return {
        {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
  }

  json Answer(const json& review) {
    const WebhookResponse response = webhook_.Handle(review.dump());
    EXPECT_EQ(response.http_status, 200) << response.body;
    return json::parse(response.body);
  }

  void ExpectGoodRequestStillWorks() {
    const json answer = Answer(Review("CREATE", testing::Fixture("diskconfigs/nginx-ebs.yaml")));
    EXPECT_EQ(answer["response"]["allowed"], true);
  }

  metrics::Registry metrics_;
  DiskConfigWebhook webhook_;
};

TEST_F(WebhookTest, AllowsAValidDiskConfigEchoingTheUid) {
  const json answer = Answer(Review("CREATE", testing::Fixture("diskconfigs/nginx-ebs.yaml")));
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(answer["response"]["allowed"], true);
  EXPECT_FALSE(answer["response"].contains("status"));
  EXPECT_EQ(metrics_.Render().find("discoblocks_admission_requests_total{endpoint=\"/validate-"
                                   "discoblocks-ondat-io-v1-diskconfig\",operation=\"CREATE\","
                                   "result=\"allowed\"} 1") == std::string::npos,
            false)
      << metrics_.Render();
}

TEST_F(WebhookTest, DeniesWithCodeAndTheDriversMessage) {
  json object = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  object["spec"]["storageClassName"] = "ebs-no-expansion";
  const json answer = Answer(Review("CREATE", object));
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["status"]["code"], 403);
  EXPECT_EQ(answer["response"]["status"]["message"],
            "storage-class-valid: StorageClass \"ebs-no-expansion\" is not valid for "
            "ebs.csi.aws.com: only allowVolumeExpansion true is supported");
}

TEST_F(WebhookTest, UpdateRulesUseTheOldObject) {
  const json before = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  json after = before;
  after["spec"]["capacity"] = "512Mi";
  const json answer = Answer(Review("UPDATE", after, before));
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["status"]["message"],
            "capacity-no-shrink: spec.capacity cannot shrink (from 1Gi to 512Mi)");
}

TEST_F(WebhookTest, DeleteIsAllowed) {
  const json answer =
      Answer(Review("DELETE", nullptr, testing::Fixture("diskconfigs/bad-capacity.yaml")));
  EXPECT_EQ(answer["response"]["allowed"], true);
}

TEST_F(WebhookTest, ObjectThatIsNotADiskConfigIsDeniedWithTheReason) {
  const json answer = Answer(Review("CREATE", {{"apiVersion", "v1"}, {"kind", "Pod"}}));
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_NE(answer["response"]["status"]["message"].get<std::string>().find(
                "well-formed: not a discoblocks.ondat.io/v1 DiskConfig"),
            std::string::npos);
  ExpectGoodRequestStillWorks();
}

struct BadBody {
  std::string description;
  std::string body;
  std::string message;
};

void PrintTo(const BadBody& c, std::ostream* out) { *out << c.description; }

class WebhookBadInputTest : public WebhookTest, public ::testing::WithParamInterface<BadBody> {};

TEST_P(WebhookBadInputTest, Gets400SayingWhatWasWrongAndOthersStillWork) {
  const WebhookResponse response = webhook_.Handle(GetParam().body);
  EXPECT_EQ(response.http_status, 400);
  EXPECT_EQ(json::parse(response.body)["error"], GetParam().message);
  ExpectGoodRequestStillWorks();
}

INSTANTIATE_TEST_SUITE_P(
    Webhook, WebhookBadInputTest,
    ::testing::Values(
        BadBody{"not JSON", "<xml/>", "request body is not JSON"},
        BadBody{"empty", "", "request body is not JSON"},
        BadBody{"not an AdmissionReview", R"({"kind":"Pod"})",
                "request body is not an AdmissionReview"},
        BadBody{
            "wrong version",
            R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}})",
            "AdmissionReview apiVersion admission.k8s.io/v1beta1 is not supported; use "
            "admission.k8s.io/v1"},
        BadBody{"no request", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})",
                "AdmissionReview has no request"},
        BadBody{
            "no uid",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})",
            "AdmissionReview request has no uid"},
        BadBody{
            "unknown operation",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH"}})",
            "unknown operation \"PATCH\""}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST(DriverCallMetricsTest, CountsCallsByOutcome) {
  metrics::Registry registry;
  drivers::CallOptions options;
  options.observer = DriverCallMetrics(registry);
  const auto driver = testing::BundledDrivers().Find("ebs.csi.aws.com");
  drivers::CallInputs inputs;
  inputs.storage_class = testing::Fixture("storageclasses/ebs-immediate.yaml");
  (void)driver->Call(drivers::Function::kIsStorageClassValid, inputs, options);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("discoblocks_driver_calls_total{provisioner=\"ebs.csi.aws.com\",function="
                      "\"IsStorageClassValid\",outcome=\"invalid\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("discoblocks_driver_call_duration_seconds_count{provisioner=\"ebs.csi.aws."
                      "com\",function=\"IsStorageClassValid\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace discoblocks::admission
