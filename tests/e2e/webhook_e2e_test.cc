// End to end: the real API server calls `discoblocks serve` for every DiskConfig
// that kubectl applies, and kubectl shows the answer.
#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/pki.h"
#include "support/serve_process.h"

namespace discoblocks {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::ControlPlane;

class WebhookEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Applies `object` (JSON) with kubectl in the test namespace.
  static CommandResult Apply(const json& object);
  static json DiskConfig(const json& spec_patch, const std::string& name = "web");
  static std::string Namespace() { return namespace_->name(); }
  static std::filesystem::path DriversCopy() { return dir_->path() / "drivers"; }

  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::TestNamespace* namespace_ = nullptr;
  static inline testing::ServeProcess* server_ = nullptr;
  static inline int health_port_ = 0;
  static inline int webhook_port_ = 0;
};

CommandResult Curl(const std::string& url) { return testing::RunProgram("curl", {"-sS", url}); }

void WebhookEndToEnd::SetUpTestSuite() {
  const ControlPlane& cluster = ControlPlane::Get();
  dir_ = new testing::TempDir();
  namespace_ = new testing::TestNamespace("e2e");
  const auto serving =
      testing::SelfSignedCertificate("discoblocks-webhook", "IP:127.0.0.1,DNS:localhost");
  testing::WriteTextFile(dir_->path() / "tls.crt", serving.certificate_pem);
  testing::WriteTextFile(dir_->path() / "tls.key", serving.private_key_pem);
  // A copy of the bundled drivers, which the hot-reload test changes.
  for (const char* provisioner :
       {"ebs.csi.aws.com", "csi.storageos.com", "pd.csi.storage.gke.io"}) {
    dir_->CopyDriver(std::string("drivers/") + provisioner,
                     testing::DriversDir() / provisioner / "main.wasm");
  }
  // Ready means: every cache synced (the drivers loaded before serving began).
  testing::ServeOptions options;
  options.kubeconfig = cluster.kubeconfig();
  options.drivers_dir = DriversCopy();
  options.tls_cert_file = dir_->path() / "tls.crt";
  options.tls_key_file = dir_->path() / "tls.key";
  options.log_file = dir_->path() / "serve.log";
  options.extra_flags = {"--driver-settle-time", "100ms", "--driver-rescan-interval", "500ms"};
  server_ = new testing::ServeProcess(std::move(options));
  const int webhook_port = webhook_port_ = server_->port();
  health_port_ = server_->health_port();

  for (const char* file :
       {"ebs-gp3.yaml", "ebs-no-expansion.yaml", "storageos.yaml", "local-no-provisioner.yaml"}) {
    const auto applied = cluster.Kubectl(
        {"apply", "-f", (testing::FixturesDir() / "storageclasses" / file).string()});
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
  }
  const json webhook_configuration = {
      {"apiVersion", "admissionregistration.k8s.io/v1"},
      {"kind", "ValidatingWebhookConfiguration"},
      {"metadata", {{"name", "discoblocks-e2e"}}},
      {"webhooks",
       {{{"name", "vdiskconfig.discoblocks.ondat.io"},
         {"admissionReviewVersions", {"v1"}},
         {"sideEffects", "None"},
         {"failurePolicy", "Fail"},
         {"timeoutSeconds", 10},
         {"clientConfig",
          {{"url", fmt::format("https://127.0.0.1:{}/validate-discoblocks-ondat-io-v1-diskconfig",
                               webhook_port)},
           {"caBundle", testing::Base64(serving.certificate_pem)}}},
         {"rules",
          {{{"apiGroups", {"discoblocks.ondat.io"}},
            {"apiVersions", {"v1"}},
            {"operations", {"CREATE", "UPDATE"}},
            {"resources", {"diskconfigs"}}}}}}}}};
  testing::WriteTextFile(dir_->path() / "webhook.json", webhook_configuration.dump());
  const auto registered =
      cluster.Kubectl({"apply", "-f", (dir_->path() / "webhook.json").string()});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
}

void WebhookEndToEnd::TearDownTestSuite() {
  (void)ControlPlane::Get().Kubectl(
      {"delete", "validatingwebhookconfiguration", "discoblocks-e2e", "--ignore-not-found"});
  if (server_ != nullptr) {
    EXPECT_TRUE(server_->Stop()) << "serve did not shut down cleanly on SIGTERM:\n"
                                 << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  delete namespace_;
  delete dir_;
}

json WebhookEndToEnd::DiskConfig(const json& spec_patch, const std::string& name) {
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", name}, {"namespace", Namespace()}}},
                 {"spec", {{"storageClassName", "ebs-gp3"}, {"podSelector", {{"app", "web"}}}}}};
  object["spec"].merge_patch(spec_patch);
  return object;
}

CommandResult WebhookEndToEnd::Apply(const json& object) {
  static int counter = 0;
  const auto file = dir_->path() / fmt::format("object-{}.json", counter++);
  testing::WriteTextFile(file, object.dump());
  return ControlPlane::Get().Kubectl({"apply", "-f", file.string()});
}

TEST_F(WebhookEndToEnd, ValidDiskConfigIsCreated) {
  json nginx = testing::Fixture("diskconfigs/nginx-ebs.yaml");
  nginx["metadata"]["namespace"] = Namespace();
  const auto applied = Apply(nginx);
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.out.find("diskconfig.discoblocks.ondat.io/nginx created"), std::string::npos)
      << applied.out;
}

struct Refusal {
  std::string description;
  json spec_patch;
  std::string message;  // what kubectl prints
};

void PrintTo(const Refusal& refusal, std::ostream* out) { *out << refusal.description; }

class WebhookRefusalTest : public WebhookEndToEnd, public ::testing::WithParamInterface<Refusal> {};

TEST_P(WebhookRefusalTest, IsRefusedAndKubectlPrintsWhy) {
  const auto applied = Apply(DiskConfig(GetParam().spec_patch, "refused"));
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.err.find(GetParam().message), std::string::npos) << applied.err;
}

INSTANTIATE_TEST_SUITE_P(
    EndToEnd, WebhookRefusalTest,
    ::testing::Values(
        Refusal{"StorageClass without allowVolumeExpansion",
                {{"storageClassName", "ebs-no-expansion"}},
                "admission webhook \"vdiskconfig.discoblocks.ondat.io\" denied the request: "
                "storage-class-valid: StorageClass \"ebs-no-expansion\" is not valid for "
                "ebs.csi.aws.com: only allowVolumeExpansion true is supported"},
        Refusal{"missing StorageClass",
                {{"storageClassName", "nope"}},
                "denied the request: storage-class-exists: StorageClass \"nope\" not found"},
        Refusal{"provisioner without a driver",
                {{"storageClassName", "local-storage"}},
                "denied the request: driver-loaded: no driver for provisioner "
                "\"kubernetes.io/no-provisioner\""},
        // The CRD's schema refuses these before the webhook is asked.
        Refusal{"capacity above maximum",
                {{"capacity", "5Gi"}, {"policy", {{"maximumCapacityOfDisk", "2Gi"}}}},
                "spec.capacity"},
        Refusal{"bad mount pattern",
                {{"mountPointPattern", "/data/%d/disk-%d"}},
                "spec.mountPointPattern"},
        Refusal{"cool-down below 10s", {{"policy", {{"coolDown", "5s"}}}}, "spec.policy.coolDown"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST_F(WebhookEndToEnd, UpdatesThatChangeWhatIsFixedAreRefusedAndDeleteIsAllowed) {
  ASSERT_EQ(Apply(DiskConfig({{"capacity", "2Gi"}}, "fixed")).exit_code, 0);
  const auto class_changed =
      Apply(DiskConfig({{"capacity", "2Gi"}, {"storageClassName", "storageos"}}, "fixed"));
  EXPECT_NE(class_changed.exit_code, 0);
  EXPECT_NE(class_changed.err.find("storageClassName"), std::string::npos) << class_changed.err;
  const auto pattern_changed =
      Apply(DiskConfig({{"capacity", "2Gi"}, {"mountPointPattern", "/elsewhere-%d"}}, "fixed"));
  EXPECT_NE(pattern_changed.exit_code, 0);
  EXPECT_NE(pattern_changed.err.find("mountPointPattern"), std::string::npos)
      << pattern_changed.err;
  const auto shrunk = Apply(DiskConfig({{"capacity", "1Gi"}}, "fixed"));
  EXPECT_NE(shrunk.exit_code, 0);
  EXPECT_NE(shrunk.err.find("capacity"), std::string::npos) << shrunk.err;
  EXPECT_EQ(Apply(DiskConfig({{"capacity", "3Gi"}}, "fixed")).exit_code, 0);
  const auto deleted =
      ControlPlane::Get().Kubectl({"delete", "diskconfig", "fixed", "-n", Namespace()});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
}

// What a POST to the running server over HTTPS answered.
struct HttpAnswer {
  int status = 0;
  std::string body;
};

HttpAnswer PostToWebhook(const std::filesystem::path& dir, int port, const std::string& body) {
  static int counter = 0;
  const auto file = dir / fmt::format("body-{}.bin", counter++);
  testing::WriteTextFile(file, body);
  const auto result = testing::RunProgram(
      "curl",
      {"-sS", "--cacert", (dir / "tls.crt").string(), "-H", "Content-Type: application/json",
       "--data-binary", "@" + file.string(), "-w", "\n%{http_code}",
       fmt::format("https://127.0.0.1:{}/validate-discoblocks-ondat-io-v1-diskconfig", port)});
  const auto last_newline = result.out.rfind('\n');
  if (result.exit_code != 0 || last_newline == std::string::npos) return {0, result.err};
  return {std::stoi(result.out.substr(last_newline + 1)), result.out.substr(0, last_newline)};
}

struct BadRequest {
  std::string description;
  std::string body;
  int status;
  std::string message;
};

void PrintTo(const BadRequest& c, std::ostream* out) { *out << c.description; }

class WebhookBadInputEndToEnd : public WebhookEndToEnd,
                                public ::testing::WithParamInterface<BadRequest> {};

// Bad bodies over real HTTPS to the real `serve`: each gets its status and message,
// and a good AdmissionReview right after it is still answered.
TEST_P(WebhookBadInputEndToEnd, GetsStatusAndMessageAndAGoodRequestStillWorks) {
  const HttpAnswer bad = PostToWebhook(dir_->path(), webhook_port_, GetParam().body);
  EXPECT_EQ(bad.status, GetParam().status) << bad.body;
  EXPECT_NE(bad.body.find(GetParam().message), std::string::npos) << bad.body;

  const json review = {{"apiVersion", "admission.k8s.io/v1"},
                       {"kind", "AdmissionReview"},
                       {"request",
                        {{"uid", "e2e-good"},
                         {"operation", "CREATE"},
                         {"object", DiskConfig(json::object(), "after-bad-input")}}}};
  const HttpAnswer good = PostToWebhook(dir_->path(), webhook_port_, review.dump());
  ASSERT_EQ(good.status, 200) << good.body;
  const json answer = json::parse(good.body);
  EXPECT_EQ(answer["response"]["uid"], "e2e-good");
  EXPECT_EQ(answer["response"]["allowed"], true) << good.body;
}

INSTANTIATE_TEST_SUITE_P(
    EndToEnd, WebhookBadInputEndToEnd,
    ::testing::Values(
        BadRequest{"not JSON", "<xml/>", 400, "request body is not JSON"},
        BadRequest{"not an AdmissionReview", R"({"kind":"Pod"})", 400,
                   "request body is not an AdmissionReview"},
        BadRequest{
            "wrong version",
            R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}})",
            400, "admission.k8s.io/v1beta1 is not supported"},
        BadRequest{"no request", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})",
                   400, "AdmissionReview has no request"},
        BadRequest{
            "object is not a DiskConfig",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"kind":"Pod"}}})",
            200, "not a discoblocks.ondat.io/v1 DiskConfig"},
        BadRequest{"larger than the limit", std::string(4 << 20, ' '), 413,
                   "request body exceeds the limit of 3145728 bytes"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

// Polls `condition` every 100 ms for up to a minute.
template <typename Condition>
bool Eventually(Condition condition) {
  for (int i = 0; i < 600; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// A driver broken, removed and restored while serve runs: admissions keep working
// on the old version, then say there is no driver, then work again.
TEST_F(WebhookEndToEnd, DriverChangesTakeEffectWithoutARestart) {
  const ControlPlane& cluster = ControlPlane::Get();
  const auto applied = cluster.Kubectl(
      {"apply", "-f",
       (testing::FixturesDir() / "storageclasses" / "gke-pd-balanced.yaml").string()});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  const json gke_spec = {{"storageClassName", "pd-balanced"}};
  const auto folder = DriversCopy() / "pd.csi.storage.gke.io";
  const auto readyz = [] { return Curl(fmt::format("http://127.0.0.1:{}/readyz", health_port_)); };
  const auto metrics = [] {
    return Curl(fmt::format("http://127.0.0.1:{}/metrics", health_port_)).out;
  };
  ASSERT_TRUE(Eventually([&] { return Apply(DiskConfig(gke_spec, "gke-1")).exit_code == 0; }));

  // A broken replacement: the working version keeps serving, and it is reported.
  testing::WriteTextFile(folder / "main.wasm.new", "not WebAssembly");
  std::filesystem::rename(folder / "main.wasm.new", folder / "main.wasm");
  ASSERT_TRUE(Eventually([&] {
    return readyz().out.find("pd.csi.storage.gke.io: new version did not load") !=
           std::string::npos;
  })) << readyz().out;
  EXPECT_NE(metrics().find(
                "discoblocks_driver_replacement_failed{provisioner=\"pd.csi.storage.gke.io\"} 1"),
            std::string::npos);
  const auto still = Apply(DiskConfig(gke_spec, "gke-2"));
  EXPECT_EQ(still.exit_code, 0) << still.err;
  // The live registry says which version serves, why the new one did not load,
  // and how many calls it answered.
  const json live = json::parse(Curl(fmt::format("http://127.0.0.1:{}/drivers", health_port_)).out);
  const auto gke = std::find_if(live.begin(), live.end(), [](const json& entry) {
    return entry["provisioner"] == "pd.csi.storage.gke.io";
  });
  ASSERT_NE(gke, live.end()) << live.dump();
  EXPECT_EQ((*gke)["state"], "loaded");
  EXPECT_NE((*gke)["last_load_error"].get<std::string>().find("does not compile"),
            std::string::npos);
  EXPECT_EQ((*gke)["load_failures"], 1);
  EXPECT_GE((*gke)["calls"].get<int>(), 2);
  EXPECT_EQ((*gke)["call_failures"], 0);
  // The same through the command line, for people.
  const auto listed = testing::RunDiscoblocks(
      {"drivers", "list", "--server", fmt::format("http://127.0.0.1:{}", health_port_)});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("newest files did not load, this version serves:"), std::string::npos)
      << listed.out;

  // Removed: admissions for its StorageClasses are refused, saying why.
  std::filesystem::remove_all(folder);
  CommandResult refused;
  ASSERT_TRUE(Eventually([&] {
    refused = Apply(DiskConfig(gke_spec, "gke-3"));
    return refused.exit_code != 0;
  }));
  EXPECT_NE(refused.err.find("driver-loaded: no driver for provisioner \"pd.csi.storage.gke.io\""),
            std::string::npos)
      << refused.err;

  // Restored: accepted again, and the module cache served it.
  dir_->CopyDriver("drivers/pd.csi.storage.gke.io",
                   testing::DriversDir() / "pd.csi.storage.gke.io" / "main.wasm");
  ASSERT_TRUE(Eventually([&] { return Apply(DiskConfig(gke_spec, "gke-3")).exit_code == 0; }));
  EXPECT_NE(metrics().find("discoblocks_module_cache_loads_total{result=\"hit\"} 1"),
            std::string::npos)
      << metrics();
  EXPECT_EQ(readyz().exit_code, 0);
  EXPECT_EQ(readyz().out.find("did not load"), std::string::npos) << readyz().out;
}

// Removing a finalizer is an UPDATE that leaves the spec alone; it used to be
// refused once the StorageClass was gone ("storage-class-exists"), so the
// DiskConfig could never finish deleting. Now serve's controllers keep the
// StorageClass (finalizer discoblocks.ondat.io/in-use) while the DiskConfig
// names it: its deletion waits for the DiskConfig's, which still completes.
TEST_F(WebhookEndToEnd, AStorageClassInUseWaitsForItsDiskConfigWhichStillGoes) {
  const ControlPlane& cluster = ControlPlane::Get();
  json storage_class = testing::Fixture("storageclasses/ebs-gp3.yaml");
  storage_class["metadata"]["name"] = "e2e-going-away";
  ASSERT_EQ(Apply(storage_class).exit_code, 0);
  const json spec = {{"storageClassName", "e2e-going-away"}};
  json held = DiskConfig(spec, "held");
  held["metadata"]["finalizers"] = {"discoblocks.ondat.io/e2e"};
  ASSERT_TRUE(Eventually([&] { return Apply(held).exit_code == 0; }));
  const auto get_class = [&] {
    return cluster.Kubectl({"get", "storageclass", "e2e-going-away", "-o", "json"});
  };
  ASSERT_TRUE(Eventually(
      [&] { return get_class().out.find("discoblocks.ondat.io/in-use") != std::string::npos; }));

  const auto class_deleted =
      cluster.Kubectl({"delete", "storageclass", "e2e-going-away", "--wait=false"});
  ASSERT_EQ(class_deleted.exit_code, 0) << class_deleted.err;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(get_class().exit_code, 0) << "deleted while a DiskConfig names it";

  // The DiskConfig being deleted loses its finalizers (ours by the
  // controller), and goes; then so does the StorageClass.
  const auto deleting =
      cluster.Kubectl({"delete", "diskconfig", "held", "-n", Namespace(), "--wait=false"});
  ASSERT_EQ(deleting.exit_code, 0) << deleting.err;
  const auto unfinalized = cluster.Kubectl(
      {"patch", "diskconfig", "held", "-n", Namespace(), "--type=json", "-p",
       R"([{"op":"test","path":"/metadata/finalizers/0","value":"discoblocks.ondat.io/e2e"},)"
       R"({"op":"remove","path":"/metadata/finalizers/0"}])"});
  EXPECT_EQ(unfinalized.exit_code, 0) << unfinalized.err;
  EXPECT_TRUE(Eventually([&] {
    return cluster.Kubectl({"get", "diskconfig", "held", "-n", Namespace()}).err.find("NotFound") !=
           std::string::npos;
  }));
  EXPECT_TRUE(Eventually([&] { return get_class().err.find("NotFound") != std::string::npos; }));
}

TEST_F(WebhookEndToEnd, HealthAndMetrics) {
  EXPECT_EQ(Curl(fmt::format("http://127.0.0.1:{}/healthz", health_port_)).out, "ok\n");
  ASSERT_EQ(Apply(DiskConfig(json::object(), "counted")).exit_code, 0);
  const std::string metrics = Curl(fmt::format("http://127.0.0.1:{}/metrics", health_port_)).out;
  EXPECT_NE(metrics.find("discoblocks_admission_requests_total{endpoint=\"/validate-discoblocks-"
                         "ondat-io-v1-diskconfig\",operation=\"CREATE\",result=\"allowed\"}"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("discoblocks_driver_calls_total{function=\"IsStorageClassValid\","
                         "outcome=\"valid\",provisioner=\"ebs.csi.aws.com\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("discoblocks_drivers{state=\"loaded\"} 3"), std::string::npos);
  // The Go driver serves from its snapshot, as every bundled (v2) driver does.
  EXPECT_NE(metrics.find("discoblocks_driver_info{abi=\"2\",preinitialized=\"true\","
                         "provisioner=\"ebs.csi.aws.com\""),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace discoblocks
