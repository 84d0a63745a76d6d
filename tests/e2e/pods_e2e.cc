#include "e2e/pods_e2e.h"

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/pki.h"
#include "util/sha256.h"

namespace discoblocks::e2e {
namespace {

struct Shared {
  testing::TempDir dir;
  std::string ca_bundle;
  std::vector<std::unique_ptr<ServeProcess>> replicas;
  ServeProcess* serving = nullptr;
};

Shared* shared = nullptr;

constexpr std::string_view kOptOutLabel = "discoblocks.ondat.io/pod-webhook";

void Check(const testing::CommandResult& result, const std::string& what) {
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("{} failed: {}{}", what, result.out, result.err));
  }
}

json WebhookConfigurations(int port, const std::string& ca_bundle) {
  const auto client = [&](std::string_view path) {
    return json{{"url", fmt::format("https://127.0.0.1:{}{}", port, path)},
                {"caBundle", ca_bundle}};
  };
  const json pod_webhook = {
      {"name", "mpod.discoblocks.ondat.io"},
      {"admissionReviewVersions", {"v1"}},
      {"sideEffects", "NoneOnDryRun"},
      {"failurePolicy", "Fail"},
      {"timeoutSeconds", 10},
      {"reinvocationPolicy", "IfNeeded"},
      {"namespaceSelector",
       {{"matchExpressions",
         {{{"key", "kubernetes.io/metadata.name"},
           {"operator", "NotIn"},
           {"values", {"kube-system"}}},
          {{"key", kOptOutLabel}, {"operator", "NotIn"}, {"values", {"disabled"}}}}}}},
      {"clientConfig", client("/mutate--v1-pod")},
      {"rules",
       {{{"apiGroups", {""}},
         {"apiVersions", {"v1"}},
         {"operations", {"CREATE"}},
         {"resources", {"pods"}},
         {"scope", "Namespaced"}}}}};
  const json diskconfig_webhook = {
      {"name", "vdiskconfig.discoblocks.ondat.io"},
      {"admissionReviewVersions", {"v1"}},
      {"sideEffects", "None"},
      {"failurePolicy", "Fail"},
      {"timeoutSeconds", 10},
      {"clientConfig", client("/validate-discoblocks-ondat-io-v1-diskconfig")},
      {"rules",
       {{{"apiGroups", {"discoblocks.ondat.io"}},
         {"apiVersions", {"v1"}},
         {"operations", {"CREATE", "UPDATE"}},
         {"resources", {"diskconfigs"}}}}}};
  return {{"apiVersion", "v1"},
          {"kind", "List"},
          {"items",
           {{{"apiVersion", "admissionregistration.k8s.io/v1"},
             {"kind", "MutatingWebhookConfiguration"},
             {"metadata", {{"name", "discoblocks-pods-e2e"}}},
             {"webhooks", {pod_webhook}}},
            {{"apiVersion", "admissionregistration.k8s.io/v1"},
             {"kind", "ValidatingWebhookConfiguration"},
             {"metadata", {{"name", "discoblocks-pods-e2e"}}},
             {"webhooks", {diskconfig_webhook}}}}}};
}

// The namespace serve is installed in, and its ServiceAccount (deploy/).
constexpr const char* kServeNamespace = "discoblocks-system";
constexpr const char* kServeAccount = "discoblocks-webhook";

// deploy/discoblocks.yaml's ServiceAccount, ClusterRole, Roles and their
// bindings applied as they are, a token of that account, and a kubeconfig of
// it in `dir` (kubeconfig, kubelet.token): what the tests pass, an install is
// allowed to do.
void RunAsTheChartsServiceAccount(const std::filesystem::path& dir) {
  const auto deploy = testing::SourceDir() / "deploy";
  Check(PodsE2e::Cluster().Kubectl({"apply", "-f", (deploy / "namespace.yaml").string()}),
        "deploy/namespace.yaml");
  const std::string manifests = testing::ReadBytes(deploy / "discoblocks.yaml");
  std::string rbac;
  std::size_t start = 0;
  while (start < manifests.size()) {
    std::size_t end = manifests.find("\n---", start);
    if (end == std::string::npos) end = manifests.size();
    const std::string document = manifests.substr(start, end - start);
    for (const char* kind :
         {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}) {
      if (document.find(fmt::format("\nkind: {}\n", kind)) != std::string::npos) {
        rbac += "---\n" + document + "\n";
      }
    }
    start = end + 4;
  }
  testing::WriteTextFile(dir / "rbac.yaml", rbac);
  Check(PodsE2e::Cluster().Kubectl({"apply", "-f", (dir / "rbac.yaml").string()}),
        "the chart's ServiceAccount and RBAC");
  const auto token = PodsE2e::Cluster().Kubectl(
      {"create", "token", kServeAccount, "-n", kServeNamespace, "--duration", "4h"});
  Check(token, "kubectl create token");
  std::string value = token.out;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  testing::WriteTextFile(dir / "kubelet.token", value);
  // The admin token kubeconfig with the account's token instead.
  std::string kubeconfig = testing::ReadBytes(PodsE2e::Cluster().data_dir() / "kubeconfig-token");
  std::string admin = testing::ReadBytes(PodsE2e::Cluster().data_dir() / "token");
  while (!admin.empty() && (admin.back() == '\n' || admin.back() == '\r')) admin.pop_back();
  const auto at = kubeconfig.find(admin);
  if (admin.empty() || at == std::string::npos) {
    throw std::runtime_error("no admin token in the cluster's kubeconfig-token");
  }
  kubeconfig.replace(at, admin.size(), value);
  testing::WriteTextFile(dir / "kubeconfig", kubeconfig);
}

class PodsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const LocalCluster& cluster = LocalCluster::Get();
    shared = new Shared();
    const auto serving =
        testing::SelfSignedCertificate("discoblocks-webhook", "IP:127.0.0.1,DNS:localhost");
    testing::WriteTextFile(shared->dir.path() / "tls.crt", serving.certificate_pem);
    testing::WriteTextFile(shared->dir.path() / "tls.key", serving.private_key_pem);
    shared->ca_bundle = testing::Base64(serving.certificate_pem);
    // A copy of the bundled drivers, which the broken-driver test changes.
    for (const char* provisioner :
         {"ebs.csi.aws.com", "csi.storageos.com", "pd.csi.storage.gke.io"}) {
      shared->dir.CopyDriver(std::string("drivers/") + provisioner,
                             testing::DriversDir() / provisioner / "main.wasm");
    }
    for (const char* file : {"ebs-gp3.yaml", "storageos.yaml", "storageos-wffc.yaml"}) {
      Check(cluster.Kubectl(
                {"apply", "-f", (testing::FixturesDir() / "storageclasses" / file).string()}),
            file);
    }
    // serve runs as the chart's ServiceAccount with the chart's RBAC, and
    // reads the kubelets with its token, as it does when installed.
    RunAsTheChartsServiceAccount(shared->dir.path());
    PodsE2e::ServeWebhooksFrom(PodsE2e::StartReplica());
  }

  void TearDown() override {
    if (shared != nullptr) {
      for (auto& replica : shared->replicas) {
        if (replica->pid() > 0 && !replica->Stop()) {
          ADD_FAILURE() << "serve did not stop cleanly on SIGTERM:\n" << replica->Log();
        }
      }
    }
    delete shared;
    shared = nullptr;
    LocalCluster::Shutdown();
  }
};

}  // namespace

ServeProcess& PodsE2e::StartReplica(const std::vector<std::string>& env) {
  const auto index = shared->replicas.size();
  testing::ServeOptions options;
  options.kubeconfig = shared->dir.path() / "kubeconfig";
  options.drivers_dir = shared->dir.path() / "drivers";
  options.tls_cert_file = shared->dir.path() / "tls.crt";
  options.tls_key_file = shared->dir.path() / "tls.key";
  options.log_file = shared->dir.path() / fmt::format("serve-{}.log", index);
  options.extra_flags = {
      "--leader-elect", "--leader-election-namespace", kServeNamespace, "--leader-election-id",
      "discoblocks-e2e", "--driver-settle-time", "100ms", "--driver-rescan-interval", "500ms",
      "--mount-job-namespace", kServeNamespace,
      // The autoscaler, quick: pods_autoscale_test.cc.
      "--usage-poll-interval", "1s", "--expansion-stuck-after", "5s", "--kubelet-timeout", "3s",
      "--kubelet-ca-file", (Cluster().data_dir() / "pki" / "ca.crt").string(),
      "--kubelet-token-file", (shared->dir.path() / "kubelet.token").string()};
  options.env = env;
  shared->replicas.push_back(std::make_unique<ServeProcess>(std::move(options)));
  return *shared->replicas.back();
}

std::vector<std::unique_ptr<ServeProcess>>& PodsE2e::Replicas() { return shared->replicas; }

ServeProcess& PodsE2e::Serving() { return *shared->serving; }

void PodsE2e::ServeWebhooksFrom(ServeProcess& replica) {
  Check(Cluster().Apply(WebhookConfigurations(replica.port(), shared->ca_bundle)),
        "registering the webhooks");
  shared->serving = &replica;
}

void PodsE2e::ReplaceDriver(const std::string& provisioner, const std::filesystem::path& module) {
  const auto folder = shared->dir.path() / "drivers" / provisioner;
  const std::string bytes = testing::ReadBytes(module);
  // A rename, so that serve never reads half a file.
  testing::WriteTextFile(folder / "main.wasm.new", bytes);
  std::filesystem::rename(folder / "main.wasm.new", folder / "main.wasm");
  const std::string sha256 = Sha256Hex(bytes);
  WaitFor(
      provisioner + " replaced", std::chrono::seconds(60),
      [&] { return Serving().Health("/drivers").find(sha256) != std::string::npos; },
      [&] { return Serving().Health("/drivers"); });
}

ServeProcess* PodsE2e::WaitForLeader(std::chrono::seconds timeout) {
  ServeProcess* leader = nullptr;
  WaitFor(
      "a replica holds the Lease", timeout,
      [&] {
        for (auto& replica : shared->replicas) {
          if (replica->pid() > 0 && replica->IsLeader()) leader = replica.get();
        }
        return leader != nullptr;
      },
      [] {
        return Cluster()
            .Kubectl({"get", "lease", "-n", kServeNamespace, "discoblocks-e2e", "-o", "yaml"})
            .out;
      });
  return leader;
}

void PodsE2e::Apply(const json& object) {
  Check(Cluster().Apply(object), fmt::format("applying {} {}", object.value("kind", "?"),
                                             object["metadata"].value("name", "?")));
}

std::string PodsE2e::AccountToken(const std::string& ns, const std::string& name,
                                  const json& cluster_rules) {
  Apply({{"apiVersion", "v1"},
         {"kind", "ServiceAccount"},
         {"metadata", {{"name", name}, {"namespace", ns}}}});
  if (!cluster_rules.is_null()) {
    const std::string role = fmt::format("e2e-{}-{}", ns, name);
    Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRole"},
           {"metadata", {{"name", role}}},
           {"rules", cluster_rules}});
    Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRoleBinding"},
           {"metadata", {{"name", role}}},
           {"roleRef",
            {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}}},
           {"subjects", {{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns}}}}});
  }
  const auto token = Cluster().Kubectl({"create", "token", name, "-n", ns, "--duration", "1h"});
  Check(token, "kubectl create token " + name);
  std::string value = token.out;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

void PodsE2e::DeleteAccount(const std::string& ns, const std::string& name) {
  const std::string role = fmt::format("e2e-{}-{}", ns, name);
  Cluster().Kubectl({"delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found"});
  Cluster().Kubectl({"delete", "serviceaccount", name, "-n", ns, "--ignore-not-found"});
}

std::string PodsE2e::NewNamespace(const std::string& prefix,
                                  const std::map<std::string, std::string>& labels) {
  static std::atomic<int> counter{0};
  const std::string name = fmt::format("{}-{}", prefix, counter++);
  Check(Cluster().Apply({{"apiVersion", "v1"},
                         {"kind", "Namespace"},
                         {"metadata", {{"name", name}, {"labels", labels}}}}),
        "creating namespace " + name);
  // The controller-manager's ServiceAccount controller makes "default"; the
  // API server refuses pods that name a missing one.
  const bool ready = WaitFor(
      "ServiceAccount " + name + "/default", std::chrono::seconds(60),
      [&] {
        return Cluster().Kubectl({"get", "serviceaccount", "default", "-n", name}).exit_code == 0;
      },
      [&] {
        return Cluster().Kubectl({"get", "serviceaccounts", "-n", name}).err;
      });
  if (!ready) throw std::runtime_error("namespace " + name + " has no default ServiceAccount");
  return name;
}

json PodsE2e::DiskConfig(const std::string& ns, const std::string& name, const json& spec_patch) {
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"spec",
                  {{"storageClassName", "ebs-gp3"},
                   {"capacity", "1Gi"},
                   {"mountPointPattern", "/data/" + name},
                   {"podSelector", {{"app", "web"}}}}}};
  object["spec"].merge_patch(spec_patch);
  return object;
}

json PodsE2e::PodTemplate(const std::map<std::string, std::string>& labels) {
  // kwok runs nothing: the image is never pulled.
  const auto container = [](const std::string& name) {
    return json{{"name", name}, {"image", "registry.invalid/discoblocks-e2e:1"}};
  };
  return {{"metadata", {{"labels", labels}}},
          {"spec",
           {{"containers", {container("app"), container("sidecar")}},
            {"terminationGracePeriodSeconds", 0}}}};
}

json PodsE2e::Deployment(const std::string& ns, const std::string& name, int replicas,
                         const std::map<std::string, std::string>& labels) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", labels}}},
            {"template", PodTemplate(labels)}}}};
}

json PodsE2e::DaemonSet(const std::string& ns, const std::string& name,
                        const std::map<std::string, std::string>& labels) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "DaemonSet"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"selector", {{"matchLabels", labels}}}, {"template", PodTemplate(labels)}}}};
}

json PodsE2e::Pod(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& labels) {
  json pod = PodTemplate(labels);
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  pod["metadata"]["name"] = name;
  pod["metadata"]["namespace"] = ns;
  return pod;
}

json PodsE2e::Items(const std::string& kind, const std::string& ns, const std::string& selector) {
  std::vector<std::string> args{"get", kind, "-n", ns};
  if (!selector.empty()) args.insert(args.end(), {"-l", selector});
  return Cluster().KubectlJson(args).value("items", json::array());
}

std::string PodsE2e::Describe(const std::string& ns) {
  const auto objects = Cluster().Kubectl({"get", "pods,pvc,diskconfigs", "-n", ns, "-o", "wide"});
  const auto events = Cluster().Kubectl({"get", "events", "-n", ns, "--sort-by=.lastTimestamp"});
  return fmt::format("{}{}\nevents:\n{}{}", objects.out, objects.err, events.out, events.err);
}

bool WaitFor(const std::string& what, std::chrono::seconds timeout,
             const std::function<bool()>& done, const std::function<std::string()>& seen) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    bool ok = false;
    try {
      ok = done();
    } catch (const std::exception&) {
      // kubectl failed (the API server restarting): look again.
    }
    if (ok) return true;
    if (std::chrono::steady_clock::now() - start > timeout) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ADD_FAILURE() << what << ": not within " << timeout.count() << " s; seen:\n" << seen();
  return false;
}

const json* DiskVolume(const json& pod, const std::string& config) {
  const std::string volume = "discoblocks-" + config + "-0";
  const auto volumes = pod.at("spec").find("volumes");
  if (volumes == pod.at("spec").end()) return nullptr;
  for (const json& candidate : *volumes) {
    if (candidate.value("name", "") == volume) return &candidate;
  }
  return nullptr;
}

bool MountedInEveryContainer(const json& pod, const std::string& config,
                             const std::string& mount_path) {
  const std::string volume = "discoblocks-" + config + "-0";
  for (const json& container : pod["spec"]["containers"]) {
    bool mounted = false;
    for (const json& mount : container.value("volumeMounts", json::array())) {
      mounted = mounted ||
                (mount.value("name", "") == volume && mount.value("mountPath", "") == mount_path);
    }
    if (!mounted) return false;
  }
  return true;
}

bool AllRunning(const json& pods) {
  for (const json& pod : pods) {
    if (pod["status"].value("phase", "") != "Running") return false;
  }
  return true;
}

bool AllBound(const json& pvcs) {
  for (const json& pvc : pvcs) {
    if (pvc["status"].value("phase", "") != "Bound") return false;
  }
  return true;
}

double MetricValue(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

}  // namespace discoblocks::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new discoblocks::e2e::PodsEnvironment);
  return RUN_ALL_TESTS();
}
