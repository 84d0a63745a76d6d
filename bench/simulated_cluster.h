// The simulated cluster of autoscale_cycle_bench, which runs in its helper
// process: 50 kubelets (kubelet_summaries.h) and an API server, HTTPS on
// 127.0.0.1 only. The API server lists one DiskConfig, its claims, their
// running pods (one claim each), the nodes (each naming its kubelet's port)
// and the StorageClass; it answers every patch and Event write, and never
// ends a watch nor sends a change.
#pragma once

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "kubelet_summaries.h"
#include "support/fake_http_server.h"
#include "support/test_certs.h"

namespace discoblocks::bench {

inline constexpr int kNodes = 50;
inline constexpr int kGrowEvery = 100;  // 1% of the claims are above the trigger

// Node `node` has the pods 0..PodsOn-1: the first `volumes % kNodes` nodes one more.
inline int PodsOn(int volumes, int node) {
  return volumes / kNodes + (node < volumes % kNodes ? 1 : 0);
}
// 1 in kGrowEvery of the claims (numbered node by node), spread over the nodes.
inline bool Full(int volumes, int node, int pod) {
  return (node * PodsOn(volumes, node) + pod) % kGrowEvery == 0;
}
inline int Grows(int volumes) {
  int grows = 0;
  for (int node = 0; node < kNodes; ++node) {
    for (int pod = 0; pod < PodsOn(volumes, node); ++pod) grows += Full(volumes, node, pod) ? 1 : 0;
  }
  return grows;
}

inline std::string List(const char* api_version, const char* kind, const json& items) {
  return json{{"apiVersion", api_version},
              {"kind", kind},
              {"metadata", {{"resourceVersion", "900000"}}},
              {"items", items}}
      .dump();
}

inline json DiskConfig() {
  return admission::WithDefaults(
      {{"apiVersion", "discoblocks.ondat.io/v1"},
       {"kind", "DiskConfig"},
       {"metadata", {{"name", "db"}, {"namespace", "apps"}, {"resourceVersion", "10"}}},
       {"spec",
        {{"storageClassName", "ebs-gp3"},
         {"capacity", "10Gi"},
         {"podSelector", {{"app", "db"}}},
         {"policy", {{"maximumNumberOfDisks", 3}, {"coolDown", "5m"}}}}}});
}

// The claim and its pod as the API server stores them.
inline json Claim(int node, int pod) {
  const std::string name = fmt::format("app-{}-{}", node, pod);
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata",
           {{"name", "data-" + name},
            {"namespace", "apps"},
            {"uid", fmt::format("uid-claim-{}-{}", node, pod)},
            {"resourceVersion", std::to_string(100000 + node * 1000 + pod)},
            {"creationTimestamp", "2026-11-29T10:00:00Z"},
            {"labels", {{"discoblocks", "db"}, {"discoblocks-index", "0"}}},
            {"annotations",
             {{"discoblocks.ondat.io/diskconfig", "db"},
              {"pv.kubernetes.io/bind-completed", "yes"},
              {"pv.kubernetes.io/bound-by-controller", "yes"},
              {"volume.kubernetes.io/selected-node", fmt::format("sim-node-{}", node)},
              {"volume.kubernetes.io/storage-provisioner", "ebs.csi.aws.com"}}},
            {"finalizers", {"kubernetes.io/pvc-protection"}},
            {"ownerReferences",
             {{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"name", name},
               {"uid", "uid-" + name},
               {"controller", true}}}}}},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"storageClassName", "ebs-gp3"},
            {"volumeMode", "Filesystem"},
            {"volumeName", fmt::format("pvc-{:08}-{:04}", node, pod)},
            {"resources", {{"requests", {{"storage", "10Gi"}}}}}}},
          {"status",
           {{"phase", "Bound"},
            {"accessModes", {"ReadWriteOnce"}},
            {"capacity", {{"storage", "10Gi"}}}}}};
}

inline json Pod(int node, int pod) {
  const std::string name = fmt::format("app-{}-{}", node, pod);
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "apps"},
            {"uid", "uid-" + name},
            {"resourceVersion", std::to_string(200000 + node * 1000 + pod)},
            {"labels", {{"app", "db"}}}}},
          {"spec",
           {{"nodeName", fmt::format("sim-node-{}", node)},
            {"serviceAccountName", "default"},
            {"containers",
             {{{"name", "app"},
               {"image", "postgres:16"},
               {"volumeMounts", {{{"name", "data"}, {"mountPath", "/var/lib/postgresql"}}}}}}},
            {"volumes",
             {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "data-" + name}}}},
              {{"name", "kube-api-access-x7k2p"},
               {"projected", {{"sources", {{{"serviceAccountToken", {{"path", "token"}}}}}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", "10.0.0.1"},
            {"containerStatuses",
             {{{"name", "app"},
               {"ready", true},
               {"containerID", fmt::format("containerd://{:064}", node * 1000 + pod)}}}}}}};
}

inline json Node(int node, int port) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", fmt::format("sim-node-{}", node)},
            {"resourceVersion", std::to_string(300000 + node)},
            {"labels", {{"topology.kubernetes.io/zone", "eu-west-1a"}}}}},
          {"status",
           {{"addresses",
             {{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
              {{"type", "Hostname"}, {"address", fmt::format("sim-node-{}", node)}}}},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", port}}}}}}}};
}

// The helper: 50 kubelets and an API server. Prints "api <port>", the
// kubelets' ports and "ready"; then reads commands from stdin until it closes:
//   cross NODE POD   the claim of that pod is reported 95% full from now on;
//                    its first grow patch prints "latency <ns since crossing>",
//                    and its kubelet reports it 72% full again.
class SimulatedCluster {
 public:
  SimulatedCluster(int volumes, const std::filesystem::path& dir)
      : volumes_(volumes), cert_(testing::ServerCertificate("bench-cluster")) {
    std::ofstream(dir / "ca.crt") << cert_.certificate_pem;
    testing::FakeHttpServer::Options options;
    options.tls = cert_;
    options.keep_alive = true;
    json nodes = json::array();
    responses_.reserve(kNodes);  // the servers read it while it fills
    for (int node = 0; node < kNodes; ++node) {
      responses_.push_back(std::make_shared<const std::string>(Summary(node, -1)));
      kubelets_.push_back(std::make_unique<testing::FakeHttpServer>(
          [this, node](const std::string&) { return *Response(node); }, options));
      nodes.push_back(Node(node, Port(*kubelets_.back())));
    }
    json claims = json::array();
    json pods = json::array();
    for (int node = 0; node < kNodes; ++node) {
      for (int pod = 0; pod < PodsOn(volumes, node); ++pod) {
        claims.push_back(Claim(node, pod));
        pods.push_back(Pod(node, pod));
      }
    }
    lists_["/persistentvolumeclaims"] = List("v1", "PersistentVolumeClaimList", claims);
    lists_["/pods"] = List("v1", "PodList", pods);
    lists_["/nodes"] = List("v1", "NodeList", nodes);
    lists_["/diskconfigs"] =
        List("discoblocks.ondat.io/v1", "DiskConfigList", json::array({DiskConfig()}));
    lists_["/storageclasses"] =
        List("storage.k8s.io/v1", "StorageClassList",
             json::array({{{"apiVersion", "storage.k8s.io/v1"},
                           {"kind", "StorageClass"},
                           {"metadata", {{"name", "ebs-gp3"}, {"resourceVersion", "20"}}},
                           {"provisioner", "ebs.csi.aws.com"},
                           {"allowVolumeExpansion", true}}}));
    api_ = std::make_unique<testing::FakeHttpServer>(
        [this](const std::string& line) { return Api(line); }, options);
  }

  void Run() {
    std::cout << "api " << Port(*api_) << "\n";
    for (const auto& kubelet : kubelets_) std::cout << "kubelet " << Port(*kubelet) << "\n";
    std::cout << "ready" << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
      std::istringstream command(line);
      std::string verb;
      int node = 0;
      int pod = 0;
      if (command >> verb >> node >> pod && verb == "cross") Cross(node, pod);
    }
  }

 private:
  static int Port(const testing::FakeHttpServer& server) {
    const std::string url = server.url();
    return std::stoi(url.substr(url.rfind(':') + 1));
  }

  // Node `node`'s summary, with pod `crossed` (if any) full as well.
  std::string Summary(int node, int crossed) const {
    return testing::FakeHttpServer::KeepAliveResponse(
        200, NodeSummary(node, PodsOn(volumes_, node), [this, node, crossed](int pod) {
          return pod == crossed || Full(volumes_, node, pod);
        }));
  }

  std::shared_ptr<const std::string> Response(int node) const {
    const std::lock_guard lock(mutex_);
    return responses_[node];
  }

  void Cross(int node, int pod) {
    auto crossed = std::make_shared<const std::string>(Summary(node, pod));
    const std::lock_guard lock(mutex_);
    responses_[node] = std::move(crossed);
    watched_ = fmt::format("/persistentvolumeclaims/data-app-{}-{}?", node, pod);
    watched_node_ = node;
    crossed_at_ = std::chrono::steady_clock::now();
  }

  std::string Api(const std::string& line) {
    if (line.find("watch=true") != std::string::npos) return "";  // no changes, ever
    if (line.starts_with("GET ")) {
      for (const auto& [path, list] : lists_) {
        if (line.find(path + "?") != std::string::npos ||
            line.find(path + " ") != std::string::npos)
          return testing::FakeHttpServer::KeepAliveResponse(200, list);
      }
      return testing::FakeHttpServer::KeepAliveResponse(404, R"({"kind":"Status","code":404})");
    }
    if (line.starts_with("PATCH ") && line.find("/persistentvolumeclaims/") != std::string::npos) {
      Patched(line);
      return testing::FakeHttpServer::KeepAliveResponse(
          200, R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",)"
               R"("metadata":{"name":"patched","namespace":"apps","resourceVersion":"900001"}})");
    }
    // Events: created, or their series updated.
    return testing::FakeHttpServer::KeepAliveResponse(
        line.starts_with("POST ") ? 201 : 200,
        R"({"apiVersion":"events.k8s.io/v1","kind":"Event",)"
        R"("metadata":{"name":"event","namespace":"apps","resourceVersion":"900002"}})");
  }

  void Patched(const std::string& line) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    if (watched_.empty() || line.find(watched_) == std::string::npos) return;
    std::cout << "latency " << std::chrono::nanoseconds(now - crossed_at_).count() << std::endl;
    watched_.clear();
    responses_[watched_node_] = std::make_shared<const std::string>(Summary(watched_node_, -1));
  }

  const int volumes_;
  const testing::KeyPair cert_;
  std::map<std::string, std::string> lists_;  // by "/<resource>"
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const std::string>> responses_;  // by node; guarded by mutex_
  std::string watched_;                                        // guarded by mutex_
  int watched_node_ = 0;                                       // guarded by mutex_
  std::chrono::steady_clock::time_point crossed_at_;           // guarded by mutex_
  std::vector<std::unique_ptr<testing::FakeHttpServer>> kubelets_;
  std::unique_ptr<testing::FakeHttpServer> api_;
};

}  // namespace discoblocks::bench
