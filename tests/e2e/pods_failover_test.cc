// The operator's failures while pods are being created: the leader killed
// (kill -9) with a second replica waiting, and the API server restarted. The
// end state must be the one of a run without the failure.
#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"

namespace discoblocks::e2e {
namespace {

using std::chrono::seconds;

constexpr int kPods = 6;

class PodFailover : public ::testing::Test, protected PodsE2e {
 protected:
  // Two DiskConfigs for the same pods: a disk of each pod's own (ReadWriteOnce,
  // made by the controller-manager) and a shared one (ReadWriteSame, made by
  // the webhook, where a duplicate could appear).
  static std::string StartScenario(const std::string& prefix) {
    const std::string ns = NewNamespace(prefix);
    for (const json& config : {DiskConfig(ns, "own", json::object()),
                               DiskConfig(ns, "shared", {{"availabilityMode", "ReadWriteSame"}})}) {
      const auto created = Cluster().Apply(config);
      if (created.exit_code != 0) throw std::runtime_error(created.err);
    }
    const auto deployment = Cluster().Apply(Deployment(ns, "web", kPods / 2, {{"app", "web"}}));
    if (deployment.exit_code != 0) throw std::runtime_error(deployment.err);
    return ns;
  }

  // The rest of the pods, created while the test's failure lasts.
  static void ScaleUp(const std::string& ns) {
    const auto scaled = Cluster().Kubectl(
        {"scale", "deployment", "web", "-n", ns, fmt::format("--replicas={}", kPods)});
    if (scaled.exit_code != 0) throw std::runtime_error(scaled.err);
  }

  // Waits until the first of the Deployment's pods exist: the failure comes
  // after them, while the rest are being created (ScaleUp).
  static void WaitForFirstPods(const std::string& ns) {
    WaitFor(
        "the first pods", seconds(60), [&] { return !Items("pods", ns, "app=web").empty(); },
        [&] { return Describe(ns); });
  }

  // Every pod Running with both disks, every claim Bound, both DiskConfigs
  // Ready with all their disks in their status; then that state, without
  // what differs from run to run (pod names, times), to compare.
  static json SettledState(const std::string& ns) {
    json state;
    WaitFor(
        "every pod with its disks, every DiskConfig ready", seconds(240),
        [&] {
          state = Normalize(ns);
          return state["ready"].get<bool>();
        },
        [&] { return Describe(ns) + "\nnormalized: " + state.dump(2); });
    state.erase("ready");
    return state;
  }

  static json Normalize(const std::string& ns) {
    const json pods = Items("pods", ns, "app=web");
    const json claims = Items("pvc", ns);
    bool ready =
        pods.size() == kPods && AllRunning(pods) && AllBound(claims) && claims.size() == kPods + 1;
    json state = {
        {"pods", json::array()}, {"claims", json::array()}, {"diskconfigs", json::object()}};
    for (const json& pod : pods) {
      json disks = json::array();
      for (const char* config : {"own", "shared"}) {
        const json* volume = DiskVolume(pod, config);
        disks.push_back(
            {{"config", config},
             {"volume", volume == nullptr
                            ? json()
                            : json(volume->contains("ephemeral")
                                       ? "ephemeral"
                                       : (*volume)["persistentVolumeClaim"]["claimName"])},
             {"mounted", MountedInEveryContainer(pod, config, std::string("/data/") + config)}});
      }
      state["pods"].push_back(disks);
    }
    for (const json& claim : claims) {
      const auto& owners = claim["metadata"].value("ownerReferences", json::array());
      state["claims"].push_back(
          {{"name", owners.empty() ? claim["metadata"]["name"].get<std::string>() : "<pod>-own-0"},
           {"labels", claim["metadata"]["labels"]},
           {"phase", claim["status"].value("phase", "")}});
    }
    for (const json& config : Items("diskconfigs", ns)) {
      const json& status = config.value("status", json::object());
      json conditions = json::object();
      for (const json& condition : status.value("conditions", json::array())) {
        conditions[condition["type"].get<std::string>()] =
            condition["status"].get<std::string>() + "/" + condition.value("reason", "");
        ready = ready && condition.value("observedGeneration", 0) ==
                             config["metadata"].value("generation", -1);
      }
      const std::string name = config["metadata"]["name"];
      const auto expected_disks = name == "own" ? kPods : 1;
      ready = ready && status.value("diskSummary", "") ==
                           fmt::format("{}/{}", expected_disks, expected_disks);
      state["diskconfigs"][name] = {{"finalizers", config["metadata"].value("finalizers", json())},
                                    {"conditions", conditions},
                                    {"diskSummary", status.value("diskSummary", "")},
                                    {"disks", status.value("disks", json::array()).size()}};
    }
    std::sort(state["pods"].begin(), state["pods"].end());
    std::sort(state["claims"].begin(), state["claims"].end());
    state["ready"] = ready;
    return state;
  }

  static json StorageClassFinalizers() {
    return Cluster().KubectlJson({"get", "storageclass", "ebs-gp3"})["metadata"].value(
        "finalizers", json::array());
  }
};

TEST_F(PodFailover, KillingTheLeaderWhilePodsAreCreatedEndsAsWithoutTheKill) {
  // A second replica; the first holds the Lease, the webhooks point at it.
  ServeProcess& standby = StartReplica();
  ServeProcess* leader = WaitForLeader(seconds(60));
  ASSERT_NE(leader, nullptr);
  ASSERT_NE(leader, &standby) << "the first replica had the Lease";
  ServeWebhooksFrom(*leader);

  const std::string base = StartScenario("failover-base");
  WaitForFirstPods(base);
  ScaleUp(base);
  const json baseline = SettledState(base);

  const std::string ns = StartScenario("failover-kill");
  WaitForFirstPods(ns);
  leader->Kill();
  // Half the pods are created while no replica leads (until the Lease expires)
  // and, for a moment, while the webhook's endpoint is the dead replica: the
  // pods refused then (failurePolicy Fail) are created again by their
  // ReplicaSet once the endpoint is the standby, as a Service's would be.
  ScaleUp(ns);
  ServeWebhooksFrom(standby);
  ServeProcess* successor = WaitForLeader(seconds(60));
  ASSERT_EQ(successor, &standby) << standby.Log();

  const json after_kill = SettledState(ns);
  EXPECT_EQ(after_kill, baseline) << "baseline: " << baseline.dump(2)
                                  << "\nafter the kill: " << after_kill.dump(2);
  EXPECT_EQ(Items("pvc", ns, "discoblocks=shared").size(), 1u) << Describe(ns);
  EXPECT_NE(StorageClassFinalizers().dump().find("discoblocks.ondat.io/in-use"), std::string::npos);
}

TEST_F(PodFailover, EveryPodGetsItsDisksWhenTheApiServerRestartsMeanwhile) {
  const std::string ns = StartScenario("apiserver");
  WaitForFirstPods(ns);
  ScaleUp(ns);
  Cluster().StopApiServer();
  // Really away: clients get no answer.
  EXPECT_NE(Cluster().Kubectl({"get", "pods", "-n", ns, "--request-timeout=2s"}).exit_code, 0);
  std::this_thread::sleep_for(seconds(5));  // an outage of a few seconds, on purpose
  Cluster().StartApiServer();

  const json state = SettledState(ns);
  EXPECT_EQ(Items("pvc", ns, "discoblocks=shared").size(), 1u) << Describe(ns);
  for (const json& pod : state["pods"]) {
    for (const json& disk : pod) EXPECT_TRUE(disk["mounted"].get<bool>()) << state.dump(2);
  }
  // The replica that serves lived through it, and is ready again.
  EXPECT_TRUE(WaitFor(
      "serve ready again", seconds(60), [] { return Serving().Ready(); },
      [] { return Serving().Health("/readyz") + Serving().Log(); }));
}

}  // namespace
}  // namespace discoblocks::e2e
