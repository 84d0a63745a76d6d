// The autoscaler's end-to-end fixture: a DiskConfig and a pod using its disk
// on the local cluster, and what the tests read and set on the claims (usage
// through the simulated kubelet's sim.discoblocks.dev/* annotations).
#pragma once

#include <string>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"

namespace discoblocks::e2e {

class Autoscale : public ::testing::Test, protected PodsE2e {
 protected:
  // A DiskConfig `data` with `policy`, and a Deployment of one pod using it;
  // returns the pod's claim once it is Bound.
  std::string DiskInUse(const std::string& ns, const json& policy) {
    EXPECT_EQ(Cluster().Apply(DiskConfig(ns, "data", {{"policy", policy}})).exit_code, 0);
    EXPECT_EQ(Cluster().Apply(Deployment(ns, "web", 1, {{"app", "web"}})).exit_code, 0);
    std::string claim;
    WaitFor(
        "the pod Running with its claim Bound", std::chrono::seconds(180),
        [&] {
          const json pods = Items("pods", ns, "app=web");
          const json claims = Items("pvc", ns, "discoblocks=data");
          if (pods.size() != 1 || claims.size() != 1 || !AllRunning(pods) || !AllBound(claims)) {
            return false;
          }
          claim = claims[0]["metadata"]["name"];
          return true;
        },
        [&] { return Describe(ns); });
    return claim;
  }

  json Claim(const std::string& ns, const std::string& name) {
    return Cluster().KubectlJson({"get", "pvc", name, "-n", ns});
  }

  static std::string Request(const json& claim) {
    return claim["spec"]["resources"]["requests"].value("storage", "");
  }
  static std::string Capacity(const json& claim) {
    const json* capacity = claim.contains("status") ? &claim["status"] : nullptr;
    return capacity != nullptr && capacity->contains("capacity")
               ? (*capacity)["capacity"].value("storage", "")
               : "";
  }

  void Annotate(const std::string& ns, const std::string& claim, const std::string& annotation) {
    const auto annotated =
        Cluster().Kubectl({"annotate", "--overwrite", "pvc", claim, "-n", ns, annotation});
    ASSERT_EQ(annotated.exit_code, 0) << annotated.err;
  }

  // kwok starts no containers and gives them no IDs: the IDs a runtime would
  // give, which the mount Job finds the containers by.
  void GiveContainersIds(const std::string& ns, const json& pod) {
    json statuses = pod["status"]["containerStatuses"];
    int next = 1;
    for (json& status : statuses)
      status["containerID"] = fmt::format("containerd://c0ffee{:02}", next++);
    const auto patched = Cluster().Kubectl(
        {"patch", "pod", pod["metadata"]["name"], "-n", ns, "--subresource=status", "--type=merge",
         "-p", json{{"status", {{"containerStatuses", statuses}}}}.dump()});
    ASSERT_EQ(patched.exit_code, 0) << patched.err;
  }

  // The status of DiskConfig `data`'s ExpansionStuck condition, or "".
  std::string StuckCondition(const std::string& ns) {
    const json config = Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns});
    if (!config.contains("status") || !config["status"].contains("conditions")) return "";
    for (const json& condition : config["status"]["conditions"]) {
      if (condition.value("type", "") == "ExpansionStuck") return condition.value("status", "");
    }
    return "";
  }

  int Events(const std::string& ns, const std::string& reason) {
    const json events = Cluster().KubectlJson(
        {"get", "events.events.k8s.io", "-n", ns, "--field-selector", "reason=" + reason});
    return static_cast<int>(events.value("items", json::array()).size());
  }
};

}  // namespace discoblocks::e2e
