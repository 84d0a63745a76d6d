// Resident memory of an informer over many pods, with and without the
// operator's pod transform (operator/cache_transforms.h). Issue 12's target:
// the operator's RSS with 10,000 pods cached at most 200 MiB.
//
//   informer_memory_bench [--pods N] [--concurrency C] [--kubeconfig F] [--namespace NS]
//                         [--page-size N] [--variants a,b]
//
// Without --kubeconfig it starts a local control plane (etcd and
// kube-apiserver, tests/support/control_plane.h) and stops it at the end.
// It creates N pods (default 10,000) in one namespace, shaped like a
// Deployment's: three containers with env, resources, probes and mounts, an
// init container, five volumes (among them the service account's projected
// token), labels, ~300 bytes of annotations, an owner, a node, and a running
// status (written through the status subresource, as a kubelet would).
// Pods an earlier run left in the namespace are reused.
//
// Then, for each variant, a fresh process (this program again, with
// --measure) builds one informer over the namespace and prints VmRSS from
// /proc/self/status before the informer starts and after it has synced (and
// after malloc_trim, which shows how much of the rest is freed memory the
// allocator kept), the heap in use (mallinfo2) and the cached JSON's size:
//   full                 every field, as the API server sends it
//   strip-managed-fields kube::StripManagedFields
//   pod-transform        op::PodForCache
//   pod-transform+index  op::PodForCache, indexed by node and by label, as the
//                        operator's pod cache will be
// --page-size sets the informer's list page (default: the informer's), and
// --variants picks some of the above.
// Not run in CI (it takes minutes); run it by hand after a Release build.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/objects.h"
#include "operator/cache_indexes.h"
#include "operator/cache_transforms.h"
#include "support/control_plane.h"
#include "support/test_support.h"

namespace discoblocks {
namespace {

using nlohmann::json;

struct Flags {
  int pods = 10'000;
  int concurrency = 32;
  std::string kubeconfig;
  std::string ns = "informer-memory";
  std::int64_t page_size = 0;  // the informer's list pages; 0: its default
  std::string variants;        // comma-separated; empty: all
  std::string measure;         // a variant: measure it in this process
};

const std::vector<std::string> kVariants = {"full", "strip-managed-fields", "pod-transform",
                                            "pod-transform+index"};

double HeapMiB() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd) / (1024.0 * 1024.0);
}

json Env(int i) {
  json env = json::array();
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"LOG_LEVEL", "info"},
           {"HTTP_PORT", "8080"},
           {"DB_HOST", "postgres.shop.svc"},
           {"DB_NAME", "orders"},
           {"CACHE_TTL", "300s"},
           {"FEATURE_FLAGS", "checkout-v2,fast-search"},
           {"REPLICA", std::to_string(i)}}) {
    env.push_back({{"name", name}, {"value", value}});
  }
  env.push_back(
      {{"name", "POD_NAME"},
       {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.name"}}}}}});
  env.push_back(
      {{"name", "DB_PASSWORD"},
       {"valueFrom", {{"secretKeyRef", {{"name", "db-credentials"}, {"key", "password"}}}}}});
  return env;
}

json Probe(const std::string& path, int port) {
  return {{"httpGet", {{"path", path}, {"port", port}, {"scheme", "HTTP"}}},
          {"initialDelaySeconds", 5},
          {"periodSeconds", 10},
          {"timeoutSeconds", 1},
          {"successThreshold", 1},
          {"failureThreshold", 3}};
}

json Resources(const std::string& cpu, const std::string& memory) {
  return {{"requests", {{"cpu", cpu}, {"memory", memory}}},
          {"limits", {{"cpu", cpu}, {"memory", memory}}}};
}

json Pod(int i, const std::string& ns) {
  const std::string name = fmt::format("web-5d8f7c9b6d-{:05d}", i);
  const json token_mount = {{"name", "kube-api-access-7xk2p"},
                            {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"},
                            {"readOnly", true}};
  json app = {{"name", "web"},
              {"image", "registry.example.com/shop/web:1.24.3"},
              {"imagePullPolicy", "IfNotPresent"},
              {"args", {"--config=/etc/web/config.yaml", "--port=8080"}},
              {"ports",
               {{{"name", "http"}, {"containerPort", 8080}, {"protocol", "TCP"}},
                {{"name", "metrics"}, {"containerPort", 9090}, {"protocol", "TCP"}}}},
              {"env", Env(i)},
              {"resources", Resources("500m", "512Mi")},
              {"livenessProbe", Probe("/healthz", 8080)},
              {"readinessProbe", Probe("/readyz", 8080)},
              {"volumeMounts",
               {{{"name", "config"}, {"mountPath", "/etc/web"}, {"readOnly", true}},
                {{"name", "data"}, {"mountPath", "/data"}},
                {{"name", "cache"}, {"mountPath", "/var/cache/web"}},
                token_mount}},
              {"terminationMessagePath", "/dev/termination-log"},
              {"terminationMessagePolicy", "File"},
              {"securityContext",
               {{"runAsNonRoot", true},
                {"allowPrivilegeEscalation", false},
                {"capabilities", {{"drop", {"ALL"}}}}}}};
  json proxy = {{"name", "proxy"},
                {"image", "registry.example.com/mesh/proxy:1.31.0"},
                {"args", {"proxy", "sidecar", "--log-level=warning"}},
                {"ports", {{{"name", "proxy"}, {"containerPort", 15001}, {"protocol", "TCP"}}}},
                {"resources", Resources("100m", "128Mi")},
                {"readinessProbe", Probe("/ready", 15021)},
                {"volumeMounts", {token_mount}},
                {"terminationMessagePath", "/dev/termination-log"},
                {"terminationMessagePolicy", "File"}};
  json logs = {{"name", "log-shipper"},
               {"image", "registry.example.com/obs/shipper:3.2.1"},
               {"env", {{{"name", "OUTPUT"}, {"value", "loki.observability.svc:3100"}}}},
               {"resources", Resources("50m", "64Mi")},
               {"volumeMounts", {{{"name", "cache"}, {"mountPath", "/logs"}, {"readOnly", true}}}},
               {"terminationMessagePath", "/dev/termination-log"},
               {"terminationMessagePolicy", "File"}};
  json init = {{"name", "migrate"},
               {"image", "registry.example.com/shop/web:1.24.3"},
               {"command", {"/bin/web", "migrate", "--wait"}},
               {"env", Env(i)},
               {"resources", Resources("100m", "128Mi")}};
  json volumes = {
      {{"name", "config"}, {"configMap", {{"name", "web-config"}, {"defaultMode", 420}}}},
      {{"name", "data"},
       {"persistentVolumeClaim", {{"claimName", "web-data-" + std::to_string(i)}}}},
      {{"name", "cache"}, {"emptyDir", {{"sizeLimit", "1Gi"}}}},
      {{"name", "kube-api-access-7xk2p"},
       {"projected",
        {{"defaultMode", 420},
         {"sources",
          {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
           {{"configMap",
             {{"name", "kube-root-ca.crt"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}},
           {{"downwardAPI",
             {{"items",
               {{{"path", "namespace"},
                 {"fieldRef",
                  {{"apiVersion", "v1"}, {"fieldPath", "metadata.namespace"}}}}}}}}}}}}}}};
  const std::string node = fmt::format("node-{:03d}", i % 200);
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"generateName", "web-5d8f7c9b6d-"},
        {"labels",
         {{"app.kubernetes.io/name", "web"},
          {"app.kubernetes.io/instance", "shop"},
          {"app.kubernetes.io/version", "1.24.3"},
          {"pod-template-hash", "5d8f7c9b6d"},
          {"tier", "frontend"}}},
        {"annotations",
         {{"kubectl.kubernetes.io/restartedAt", "2024-05-01T10:00:00Z"},
          {"prometheus.io/scrape", "true"},
          {"prometheus.io/port", "9090"},
          {"prometheus.io/path", "/metrics"},
          {"checksum/config", "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f"},
          {"sidecar.example.com/status",
           R"({"initContainers":null,"containers":["proxy"],"volumes":["proxy-certs"]})"}}},
        {"ownerReferences",
         {{{"apiVersion", "apps/v1"},
           {"kind", "ReplicaSet"},
           {"name", "web-5d8f7c9b6d"},
           {"uid", "2b7c4a1e-9f3d-4c8b-a6e2-5d1f0b9c3a7e"},
           {"controller", true},
           {"blockOwnerDeletion", true}}}}}},
      {"spec",
       {{"nodeName", node},
        {"serviceAccountName", "web"},
        {"initContainers", {init}},
        {"containers", {app, proxy, logs}},
        {"volumes", volumes},
        {"restartPolicy", "Always"},
        {"terminationGracePeriodSeconds", 30},
        {"dnsPolicy", "ClusterFirst"},
        {"securityContext", {{"fsGroup", 2000}, {"runAsUser", 1000}}},
        {"affinity",
         {{"podAntiAffinity",
           {{"preferredDuringSchedulingIgnoredDuringExecution",
             {{{"weight", 100},
               {"podAffinityTerm",
                {{"labelSelector", {{"matchLabels", {{"app.kubernetes.io/name", "web"}}}}},
                 {"topologyKey", "kubernetes.io/hostname"}}}}}}}}}},
        {"tolerations",
         {{{"key", "node.kubernetes.io/not-ready"},
           {"operator", "Exists"},
           {"effect", "NoExecute"},
           {"tolerationSeconds", 300}},
          {{"key", "node.kubernetes.io/unreachable"},
           {"operator", "Exists"},
           {"effect", "NoExecute"},
           {"tolerationSeconds", 300}}}}}}};
}

json RunningStatus(int i) {
  const std::string started = "2024-05-01T10:00:05Z";
  json conditions = json::array();
  for (const char* type :
       {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    conditions.push_back({{"type", type}, {"status", "True"}, {"lastTransitionTime", started}});
  }
  json containers = json::array();
  for (const auto& [name, image] : std::vector<std::pair<std::string, std::string>>{
           {"web", "registry.example.com/shop/web:1.24.3"},
           {"proxy", "registry.example.com/mesh/proxy:1.31.0"},
           {"log-shipper", "registry.example.com/obs/shipper:3.2.1"}}) {
    containers.push_back(
        {{"name", name},
         {"image", image},
         {"imageID",
          image + "@sha256:4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"},
         {"containerID", fmt::format("containerd://{:064x}", i)},
         {"ready", true},
         {"started", true},
         {"restartCount", 0},
         {"state", {{"running", {{"startedAt", started}}}}}});
  }
  return {{"status",
           {{"phase", "Running"},
            {"conditions", conditions},
            {"hostIP", fmt::format("10.0.{}.{}", i % 200 / 100, i % 100)},
            {"podIP", fmt::format("10.244.{}.{}", i / 250, i % 250)},
            {"podIPs", {{{"ip", fmt::format("10.244.{}.{}", i / 250, i % 250)}}}},
            {"startTime", started},
            {"containerStatuses", containers}}}};
}

// Creates the pods (and the namespace), `concurrency` requests at a time.
bool CreatePods(const kube::Client& client, const Flags& flags) {
  // Pods left by an earlier run against the same cluster are enough as they are.
  kube::ListOptions one;
  one.limit = 1;
  if (auto listed = client.List(kube::resources::kPods, flags.ns, one); listed) {
    const auto& items = (*listed)["items"];
    const std::int64_t existing =
        (items.is_array() ? static_cast<std::int64_t>(items.size()) : 0) +
        (*listed)["metadata"].value("remainingItemCount", std::int64_t{0});
    if (existing >= flags.pods) {
      fmt::print(stderr, "pods: {} already in {}\n", existing, flags.ns);
      return true;
    }
  }
  const json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", flags.ns}}}};
  if (auto created = client.Create(kube::resources::kNamespaces, "", ns);
      !created && created.error().kind != kube::ErrorKind::kAlreadyExists) {
    fmt::print(stderr, "namespace {}: {}\n", flags.ns, created.error().message);
    return false;
  }
  std::atomic<int> next{0};
  std::atomic<int> created{0};
  std::atomic<int> failed{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  threads.reserve(flags.concurrency);
  for (int t = 0; t < flags.concurrency; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < flags.pods; i = next++) {
        const json pod = Pod(i, flags.ns);
        auto made = client.Create(kube::resources::kPods, flags.ns, pod);
        if (!made && made.error().kind == kube::ErrorKind::kAlreadyExists) continue;
        auto status = made ? client.MergePatch(kube::resources::kPods, flags.ns,
                                               pod["metadata"]["name"].get<std::string>(),
                                               RunningStatus(i), /*status=*/true)
                           : made;
        if (!status) {
          if (failed++ < 5) fmt::print(stderr, "pod {}: {}\n", i, status.error().message);
          continue;
        }
        ++created;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print(stderr, "pods: {} created, {} already there, {} failed, in {:.1f} s\n", created.load(),
             flags.pods - created.load() - failed.load(), failed.load(), seconds);
  return failed.load() == 0;
}

kube::Informer::Options VariantOptions(const std::string& variant, const std::string& ns,
                                       std::int64_t page_size) {
  kube::Informer::Options options;
  options.ns = ns;
  if (page_size > 0) options.page_size = page_size;
  if (variant == "strip-managed-fields") options.transform = kube::StripManagedFields;
  if (variant == "pod-transform" || variant == "pod-transform+index") {
    options.transform = op::PodForCache;
  }
  if (variant == "pod-transform+index") {
    options.indexes[std::string(op::kIndexByNode)] = op::NodeNameIndex;
    options.indexes[std::string(op::kIndexByLabel)] = op::LabelIndex;
  }
  return options;
}

// One variant, in this process: prints one JSON line.
int Measure(const Flags& flags) {
  auto config = kube::LoadDefaultConfig(flags.kubeconfig);
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 2;
  }
  auto client = kube::Client::Create(*config);
  if (!client) {
    fmt::print(stderr, "{}\n", client.error().message);
    return 2;
  }
  const double rss_before = bench::ResidentMiB();
  const double heap_before = HeapMiB();
  const auto started = std::chrono::steady_clock::now();
  kube::Informer informer(*client, kube::resources::kPods,
                          VariantOptions(flags.measure, flags.ns, flags.page_size));
  informer.Start();
  if (!informer.WaitForSync(std::chrono::minutes(10))) {
    fmt::print(stderr, "no sync in 10 minutes: {}\n", informer.stats().last_error);
    return 1;
  }
  const double sync_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double rss_synced = bench::ResidentMiB();
  const double heap_synced = HeapMiB();
  malloc_trim(0);
  const double rss_trimmed = bench::ResidentMiB();
  const auto objects = informer.List();
  std::size_t json_bytes = 0;
  for (const auto& object : objects) json_bytes += object->dump().size();
  informer.Stop();
  const json line = {
      {"variant", flags.measure},
      {"objects", objects.size()},
      {"rss_before_mib", rss_before},
      {"rss_synced_mib", rss_synced},
      {"rss_trimmed_mib", rss_trimmed},
      {"heap_mib", heap_synced - heap_before},
      {"json_bytes_per_object",
       objects.empty() ? 0 : static_cast<double>(json_bytes) / static_cast<double>(objects.size())},
      {"sync_seconds", sync_seconds}};
  fmt::print("{}\n", line.dump());
  return 0;
}

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "{}: a value is missing\n", arg);
      return false;
    }
    const std::string value = argv[++i];
    try {
      if (arg == "--pods") {
        flags.pods = std::stoi(value);
      } else if (arg == "--concurrency") {
        flags.concurrency = std::max(1, std::stoi(value));
      } else if (arg == "--kubeconfig") {
        flags.kubeconfig = value;
      } else if (arg == "--namespace") {
        flags.ns = value;
      } else if (arg == "--page-size") {
        flags.page_size = std::max(1, std::stoi(value));
      } else if (arg == "--variants") {
        flags.variants = value;
      } else if (arg == "--measure") {
        flags.measure = value;
      } else {
        fmt::print(stderr, "unknown flag {}\n", arg);
        return false;
      }
    } catch (const std::exception&) {
      fmt::print(stderr, "{}: not a number: {}\n", arg, value);
      return false;
    }
  }
  return true;
}

int Run(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    fmt::print(stderr,
               "usage: informer_memory_bench [--pods N] [--concurrency C] [--kubeconfig F] "
               "[--namespace NS] [--page-size N] [--variants a,b]\n");
    return 2;
  }
  if (!flags.measure.empty()) return Measure(flags);

  const bool own_control_plane = flags.kubeconfig.empty();
  if (own_control_plane) {
    fmt::print(stderr, "starting a local control plane...\n");
    flags.kubeconfig = testing::ControlPlane::Get().kubeconfig().string();
  }
  int status = 0;
  {
    auto config = kube::LoadDefaultConfig(flags.kubeconfig);
    auto client = config ? kube::Client::Create(*config)
                         : Result<std::shared_ptr<kube::Client>>(config.error());
    if (!client || !CreatePods(**client, flags)) status = 1;
  }
  if (status == 0) {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    fmt::print("{:<22} {:>8} {:>11} {:>11} {:>11} {:>10} {:>13} {:>7}\n", "variant", "pods",
               "RSS before", "RSS synced", "RSS trimmed", "heap", "JSON/object", "sync");
    for (const std::string& variant : kVariants) {
      if (!flags.variants.empty() &&
          ("," + flags.variants + ",").find("," + variant + ",") == std::string::npos) {
        continue;
      }
      (void)std::fflush(stdout);  // the child must not inherit (and print) what is buffered
      const auto result = testing::RunProgram(
          self, {"--measure", variant, "--kubeconfig", flags.kubeconfig, "--namespace", flags.ns,
                 "--page-size", std::to_string(flags.page_size)});
      if (result.exit_code != 0) {
        fmt::print(stderr, "{} failed ({}): {}\n", variant, result.exit_code, result.err);
        status = 1;
        continue;
      }
      const json line = json::parse(result.out);
      fmt::print(
          "{:<22} {:>8} {:>7.1f} MiB {:>7.1f} MiB {:>7.1f} MiB {:>6.1f} MiB {:>8.0f} bytes "
          "{:>5.1f} s\n",
          variant, line["objects"].get<std::size_t>(), line["rss_before_mib"].get<double>(),
          line["rss_synced_mib"].get<double>(), line["rss_trimmed_mib"].get<double>(),
          line["heap_mib"].get<double>(), line["json_bytes_per_object"].get<double>(),
          line["sync_seconds"].get<double>());
    }
  }
  if (own_control_plane) testing::ControlPlane::Shutdown();
  return status;
}

}  // namespace
}  // namespace discoblocks

int main(int argc, char** argv) { return discoblocks::Run(argc, argv); }
