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

// Issue "Hardening": metric labels take values from fixed sets only. An
// operation the client makes up is counted as "other", whatever it is.
TEST_F(WebhookTest, MadeUpOperationsShareOneTimeSeries) {
  for (const std::string operation : {"PATCH", "X-1", "X-2", "{\"a\"}"}) {
    json review = Review("CREATE", testing::Fixture("diskconfigs/nginx-ebs.yaml"));
    review["request"]["operation"] = operation;
    EXPECT_EQ(webhook_.Handle(review.dump()).http_status, 400);
  }
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("operation=\"other\",result=\"bad_request\"} 4"), std::string::npos) << text;
  for (const std::string made_up : {"PATCH", "X-1", "X-2"}) {
    EXPECT_EQ(text.find(made_up), std::string::npos) << made_up << " became a label:\n" << text;
  }
}

// Issue "Hardening": one field nested 200,000 arrays deep crashed the process
// (copying the parsed document recursed); now it is a 400 naming the limit.
TEST_F(WebhookTest, DeeplyNestedBodyGets400NamingTheLimit) {
  constexpr std::size_t kDeep = 200'000;
  const json review = Review("CREATE", testing::Fixture("diskconfigs/nginx-ebs.yaml"));
  std::string body = review.dump();
  const std::string placeholder = R"("capacity":")";
  const auto at = body.find(placeholder);
  ASSERT_NE(at, std::string::npos) << body;
  const auto value_end = body.find('"', at + placeholder.size());
  body.replace(at + placeholder.size() - 1, value_end - (at + placeholder.size()) + 2,
               std::string(kDeep, '[') + std::string(kDeep, ']'));
  const WebhookResponse response = webhook_.Handle(body);
  EXPECT_EQ(response.http_status, 400);
  EXPECT_EQ(json::parse(response.body)["error"],
            "admission review: nested deeper than the limit of 100 levels");
  // Objects too, and a body that never closes its brackets.
  EXPECT_EQ(webhook_.Handle(std::string(kDeep, '{')).http_status, 400);
  std::string objects;
  for (std::size_t i = 0; i < kDeep; ++i) objects += R"({"a":)";
  EXPECT_EQ(webhook_.Handle(objects + "1" + std::string(kDeep, '}')).http_status, 400);
  ExpectGoodRequestStillWorks();
}

struct WrongType {
  std::string pointer;  // JSON pointer into a good AdmissionReview
  json value;
  std::string field;  // what the answer must name
};

void PrintTo(const WrongType& c, std::ostream* out) { *out << c.pointer << " = " << c.value; }

class WebhookWrongTypeTest : public WebhookTest, public ::testing::WithParamInterface<WrongType> {};

// A wrong type anywhere is a 400 or a denial that names the field; never a
// 500 (nlohmann's type_error) or a crash.
TEST_P(WebhookWrongTypeTest, Gets400OrADenialNamingTheField) {
  const json good = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  json review = Review("UPDATE", good, good);
  review[json::json_pointer(GetParam().pointer)] = GetParam().value;
  const WebhookResponse response = webhook_.Handle(review.dump());
  ASSERT_TRUE(response.http_status == 200 || response.http_status == 400) << response.body;
  const json answer = json::parse(response.body);
  const std::string message = response.http_status == 400
                                  ? answer["error"].get<std::string>()
                                  : answer["response"]["status"]["message"].get<std::string>();
  if (response.http_status == 200) {
    EXPECT_EQ(answer["response"]["allowed"], false);
  }
  EXPECT_NE(message.find(GetParam().field), std::string::npos) << message;
  ExpectGoodRequestStillWorks();
}

INSTANTIATE_TEST_SUITE_P(
    Webhook, WebhookWrongTypeTest,
    ::testing::Values(
        WrongType{"/kind", 5, "kind: expected a string, got a number"},
        WrongType{"/apiVersion", json::array({1}), "apiVersion: expected a string, got an array"},
        WrongType{"/request", "CREATE", "request: expected an object, got a string"},
        WrongType{"/request/uid", 42, "request.uid: expected a string, got a number"},
        WrongType{"/request/operation", 1, "request.operation: expected a string, got a number"},
        WrongType{"/request/name", 7, "request.name: expected a string, got a number"},
        WrongType{"/request/namespace", true, "request.namespace: expected a string"},
        WrongType{"/request/object", "x", "request.object: expected an object, got a string"},
        WrongType{"/request/oldObject", 3, "request.oldObject: expected an object"},
        WrongType{"/request/object/apiVersion", 1, "apiVersion: expected a string"},
        WrongType{"/request/object/kind", json::object(), "kind: expected a string"},
        WrongType{"/request/object/metadata", "m", "metadata: expected an object"},
        WrongType{"/request/object/metadata/name", 5,
                  "metadata.name: expected a string, got a number"},
        WrongType{"/request/object/metadata/namespace", json::array(),
                  "metadata.namespace: expected a string"},
        WrongType{"/request/object/spec", 5, "spec: expected an object, got a number"},
        WrongType{"/request/object/spec/capacity", json::array({"1Gi"}),
                  "spec.capacity: expected a quantity string such as 1Gi, got an array"},
        WrongType{"/request/object/spec/capacity", json::object({{"a", 1}}), "spec.capacity"},
        WrongType{"/request/object/spec/storageClassName", json::object(),
                  "spec.storageClassName: expected a string, got an object"},
        WrongType{"/request/object/spec/mountPointPattern", 1, "spec.mountPointPattern"},
        WrongType{"/request/object/spec/availabilityMode", false, "spec.availabilityMode"},
        WrongType{"/request/object/spec/accessModes", "ReadWriteOnce",
                  "spec.accessModes: expected an array, got a string"},
        WrongType{"/request/object/spec/accessModes", json::array({1}), "spec.accessModes"},
        WrongType{"/request/object/spec/policy", json::array(), "spec.policy: expected an object"},
        WrongType{"/request/object/spec/policy/upscaleTriggerPercentage", "80",
                  "spec.policy.upscaleTriggerPercentage: must be an integer, got a string"},
        WrongType{"/request/object/spec/policy/maximumNumberOfDisks", 1e300,
                  "spec.policy.maximumNumberOfDisks"},
        WrongType{"/request/object/spec/policy/maximumNumberOfDisks", 99999999999,
                  "spec.policy.maximumNumberOfDisks: 99999999999 is out of range"},
        WrongType{"/request/object/spec/policy/maximumCapacityOfDisk", true,
                  "spec.policy.maximumCapacityOfDisk"},
        WrongType{"/request/object/spec/policy/extendCapacity", json::array(),
                  "spec.policy.extendCapacity"},
        WrongType{"/request/object/spec/policy/coolDown", 300, "spec.policy.coolDown"},
        WrongType{"/request/object/spec/policy/pause", "yes", "spec.policy.pause"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

// The previous object comes from storage; one that does not parse cannot
// constrain an update (rules.cc), but must not break the answer either.
TEST_F(WebhookTest, WrongTypesInTheOldObjectNeverFailTheRequest) {
  const json good = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  for (const auto& [pointer, value] :
       std::vector<std::pair<std::string, json>>{{"/spec/capacity", json::array({1})},
                                                 {"/spec/storageClassName", json::object()},
                                                 {"/spec/mountPointPattern", 5},
                                                 {"/spec/policy", "x"},
                                                 {"/spec", 1},
                                                 {"/metadata/name", 5},
                                                 {"/kind", 5},
                                                 {"/apiVersion", nullptr}}) {
    json old_object = good;
    old_object[json::json_pointer(pointer)] = value;
    const WebhookResponse response = webhook_.Handle(Review("UPDATE", good, old_object).dump());
    EXPECT_EQ(response.http_status, 200) << pointer << ": " << response.body;
    EXPECT_EQ(json::parse(response.body)["response"]["allowed"], true) << pointer;
  }
  ExpectGoodRequestStillWorks();
}

TEST(DriverCallMetricsTest, CountsCallsByOutcome) {
  metrics::Registry registry;
  drivers::CallOptions options;
  options.observer = DriverCallMetrics(registry);
  const auto driver = testing::BundledDrivers().Find("ebs.csi.aws.com");
  drivers::CallInputs inputs;
  inputs.storage_class = testing::Fixture("storageclasses/ebs-immediate.yaml");
  (void)driver->Call(drivers::Function::kIsStorageClassValid, inputs, options);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("discoblocks_driver_calls_total{function=\"IsStorageClassValid\",outcome="
                      "\"invalid\",provisioner=\"ebs.csi.aws.com\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("discoblocks_driver_call_duration_seconds_count{function=\"IsStorageClass"
                      "Valid\",provisioner=\"ebs.csi.aws.com\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace discoblocks::admission
