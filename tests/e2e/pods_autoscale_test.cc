// The autoscaler end to end on the local cluster: `serve` reads the simulated
// kubelets (usage set through sim.discoblocks.dev/used-bytes on the claim),
// patches the claim, the real csi-resizer expands the volume through the
// simulated driver, and the new capacity shows in the claim's status; an
// expansion the simulated driver holds back gets no second patch and is
// reported stuck; at the maximum size a full disk gets a second claim,
// provisioned on the pod's node, attached there by csi-attacher and mounted
// into the running pod by a Job (which kwok completes without running it),
// and at the ceiling it is said once; a leader that dies between deciding and
// patching leaves exactly one resize.
#include <thread>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"

namespace discoblocks::e2e {
namespace {

using std::chrono::seconds;

class Autoscale : public ::testing::Test, protected PodsE2e {
 protected:
  // A DiskConfig `data` with `policy`, and a Deployment of one pod using it;
  // returns the pod's claim once it is Bound.
  std::string DiskInUse(const std::string& ns, const json& policy) {
    EXPECT_EQ(Cluster().Apply(DiskConfig(ns, "data", {{"policy", policy}})).exit_code, 0);
    EXPECT_EQ(Cluster().Apply(Deployment(ns, "web", 1, {{"app", "web"}})).exit_code, 0);
    std::string claim;
    WaitFor(
        "the pod Running with its claim Bound", seconds(180),
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

  int Events(const std::string& ns, const std::string& reason) {
    const json events = Cluster().KubectlJson(
        {"get", "events.events.k8s.io", "-n", ns, "--field-selector", "reason=" + reason});
    return static_cast<int>(events.value("items", json::array()).size());
  }
};

TEST_F(Autoscale, AFullDiskIsGrownAndTheNewCapacityShows) {
  const std::string ns = NewNamespace("grow");
  const std::string claim =
      DiskInUse(ns, {{"extendCapacity", "1Gi"}, {"maximumCapacityOfDisk", "5Gi"}});
  ASSERT_FALSE(claim.empty());
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=900Mi");  // 88% of 1Gi

  ASSERT_TRUE(WaitFor(
      "the claim grown to 2Gi, in its spec and its status", seconds(120),
      [&] {
        const json now = Claim(ns, claim);
        return Request(now) == "2Gi" && Capacity(now) == "2Gi";
      },
      [&] { return Claim(ns, claim).dump(2) + Describe(ns); }));
  const json grown = Claim(ns, claim);
  EXPECT_EQ(grown["metadata"]["annotations"].value("discoblocks.ondat.io/last-action", ""), "grow");
  EXPECT_TRUE(WaitFor(
      "a Resized Event", seconds(30), [&] { return Events(ns, "Resized") >= 1; },
      [&] { return Describe(ns); }));
  EXPECT_GT(MetricValue(Serving().Health("/metrics"),
                        R"(discoblocks_autoscaler_actions_total{action="grow",result="success"})"),
            0);
  // 900Mi of 2Gi is below the trigger: nothing more, however long it polls.
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(Request(Claim(ns, claim)), "2Gi");
}

TEST_F(Autoscale, AHeldExpansionIsNotPatchedAgainAndIsReportedStuck) {
  const std::string ns = NewNamespace("held");
  const std::string claim = DiskInUse(ns, {{"coolDown", "10s"}});
  ASSERT_FALSE(claim.empty());
  Annotate(ns, claim, "sim.discoblocks.dev/hold-resize=true");
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=1000Mi");

  ASSERT_TRUE(WaitFor(
      "the claim asked to grow", seconds(120), [&] { return Request(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2); }));
  // Still 98% full, the cool-down long over: the pending expansion holds it.
  ASSERT_TRUE(WaitFor(
      "ExpansionStuck Events on the claim and its pod", seconds(60),
      [&] { return Events(ns, "ExpansionStuck") == 2; }, [&] { return Describe(ns); }));
  std::this_thread::sleep_for(seconds(12));
  const json held = Claim(ns, claim);
  EXPECT_EQ(Request(held), "2Gi");
  EXPECT_EQ(Capacity(held), "1Gi");
  EXPECT_EQ(Events(ns, "ExpansionStuck"), 2);  // still once each

  // Released: the expansion completes.
  const auto released =
      Cluster().Kubectl({"annotate", "pvc", claim, "-n", ns, "sim.discoblocks.dev/hold-resize-"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_TRUE(WaitFor(
      "the held expansion completed", seconds(120),
      [&] { return Capacity(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2); }));
}

TEST_F(Autoscale, AtItsMaximumAFullDiskGetsASecondOneOnThePodsNode) {
  const std::string ns = NewNamespace("second");
  const std::string claim =
      DiskInUse(ns, {{"maximumCapacityOfDisk", "1Gi"}, {"maximumNumberOfDisks", 2}});
  ASSERT_FALSE(claim.empty());
  const json pods = Items("pods", ns, "app=web");
  ASSERT_EQ(pods.size(), 1u);
  const std::string pod = pods[0]["metadata"]["name"];
  const std::string pod_uid = pods[0]["metadata"]["uid"];
  const std::string node = pods[0]["spec"]["nodeName"];
  GiveContainersIds(ns, pods[0]);
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=1000Mi");

  const std::string second = pod + "-discoblocks-data-1";
  ASSERT_TRUE(WaitFor(
      "claim " + second + " Bound", seconds(120),
      [&] {
        const json claims = Items("pvc", ns, "discoblocks=data");
        return claims.size() == 2 && AllBound(claims);
      },
      [&] { return Describe(ns); }));
  const json added = Claim(ns, second);
  EXPECT_EQ(added["metadata"]["labels"].value("discoblocks-index", ""), "1");
  EXPECT_EQ(added["metadata"]["labels"].value("discoblocks-parent", ""), claim);
  EXPECT_EQ(added["metadata"]["annotations"].value("volume.kubernetes.io/selected-node", ""), node);
  EXPECT_EQ(added["metadata"]["ownerReferences"][0]["name"], pod);
  EXPECT_TRUE(WaitFor(
      "a DiskAdded Event", seconds(30), [&] { return Events(ns, "DiskAdded") >= 1; },
      [&] { return Describe(ns); }));

  // The pod does not name the claim, so the kubelet does not see it: the
  // disk mounter attaches it to the pod's node (csi-attacher attaches it
  // through the simulated driver) and mounts it with a Job there.
  const std::string volume = added["spec"].value("volumeName", "");
  json attachment;
  ASSERT_TRUE(WaitFor(
      "the second disk's VolumeAttachment attached on " + node, seconds(60),
      [&] {
        for (const json& each :
             Cluster().KubectlJson({"get", "volumeattachments"}).value("items", json::array())) {
          if (each["spec"]["source"].value("persistentVolumeName", "") == volume &&
              each["spec"].value("nodeName", "") == node && each.contains("status") &&
              each["status"].value("attached", false)) {
            attachment = each;
            return true;
          }
        }
        return false;
      },
      [&] {
        return Cluster().Kubectl({"get", "volumeattachments", "-o", "wide"}).out;
      }));
  EXPECT_EQ(attachment["spec"].value("attacher", ""), "ebs.csi.aws.com");

  // kwok runs nothing: the Job's pod (privileged, hostPID, the host's root at
  // /host, none of which kwok looks at) is made Running, then Succeeded by
  // kwok's pod-complete stage, and the Job controller completes the Job.
  json job;
  ASSERT_TRUE(WaitFor(
      "the mount Job completed", seconds(60),
      [&] {
        for (const json& each : Items("jobs", "default", "discoblocks.ondat.io/job=mount")) {
          if (each["metadata"]["annotations"].value("discoblocks.ondat.io/claim", "") !=
              ns + "/" + second) {
            continue;
          }
          job = each;
          for (const json& condition :
               each.value("status", json::object()).value("conditions", json::array())) {
            if (condition.value("type", "") == "Complete" &&
                condition.value("status", "") == "True") {
              return true;
            }
          }
        }
        return false;
      },
      [&] {
        return Cluster().Kubectl({"get", "jobs,pods", "-n", "default", "-o", "wide"}).out;
      }));
  const json& job_pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(job_pod.value("nodeName", ""), node);
  EXPECT_TRUE(job_pod.value("hostPID", false));
  const std::string script = job_pod["containers"][0]["command"][2];
  // The EBS driver's fragment: the NVMe disk whose serial is the volume ID.
  const json pv = Cluster().KubectlJson({"get", "pv", volume});
  std::string serial = pv["spec"]["csi"].value("volumeHandle", "");
  std::erase(serial, '-');
  EXPECT_NE(script.find("= \"" + serial + "\" ]"), std::string::npos) << script;
  for (const char* id : {"c0ffee01", "c0ffee02"}) {
    EXPECT_NE(script.find(fmt::format("mount_into {} '/data/data-1'", id)), std::string::npos)
        << script;
  }

  EXPECT_TRUE(WaitFor(
      "the claim annotated with the pod, and a DiskMounted Event", seconds(30),
      [&] {
        return Claim(ns, second)["metadata"]["annotations"].value("discoblocks.ondat.io/mounted-in",
                                                                  "") == pod_uid &&
               Events(ns, "DiskMounted") >= 1;
      },
      [&] { return Claim(ns, second).dump(2) + Describe(ns); }));

  // Nothing else is added or mounted meanwhile.
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(Items("pvc", ns, "discoblocks=data").size(), 2u);
  EXPECT_EQ(Events(ns, "DiskMounted"), 1);
}

TEST_F(Autoscale, AFullDiskAtItsCeilingIsReportedOnce) {
  const std::string ns = NewNamespace("ceiling");
  const std::string claim = DiskInUse(ns, {{"maximumCapacityOfDisk", "1Gi"}});
  ASSERT_FALSE(claim.empty());
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=1000Mi");
  ASSERT_TRUE(WaitFor(
      "an AtCeiling Event", seconds(120), [&] { return Events(ns, "AtCeiling") >= 1; },
      [&] { return Describe(ns); }));
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(Events(ns, "AtCeiling"), 2);  // one on the claim, one on its pod
  EXPECT_EQ(Items("pvc", ns, "discoblocks=data").size(), 1u);
  EXPECT_EQ(Request(Claim(ns, claim)), "1Gi");
}

// The leader decides to grow and dies before its patch (a failpoint exits as
// a crash would); the replica that takes over decides again from the claim,
// which is unchanged, and grows it: one resize, never two.
TEST_F(Autoscale, ALeaderDyingBetweenDecidingAndPatchingLeavesExactlyOneResize) {
  ServeProcess& doomed = StartReplica({"DISCOBLOCKS_FAILPOINT=autoscaler-before-grow-patch"});
  for (auto& replica : Replicas()) {
    if (replica.get() != &doomed && replica->pid() > 0) {
      ASSERT_TRUE(replica->Stop());
    }
  }
  ASSERT_EQ(WaitForLeader(seconds(60)), &doomed) << doomed.Log();
  ServeProcess& successor = StartReplica();
  ServeWebhooksFrom(successor);

  const std::string ns = NewNamespace("crash");
  const std::string claim = DiskInUse(ns, {{"coolDown", "10s"}});
  ASSERT_FALSE(claim.empty());
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=900Mi");
  ASSERT_TRUE(WaitFor(
      "the leader dead at the failpoint", seconds(60),
      [&] {
        return doomed.Log().find("failpoint autoscaler-before-grow-patch") != std::string::npos;
      },
      [&] { return doomed.Log(); }));
  doomed.Kill();                                // reaps it
  EXPECT_EQ(Request(Claim(ns, claim)), "1Gi");  // it died before the patch

  ASSERT_EQ(WaitForLeader(seconds(90)), &successor) << successor.Log();
  ASSERT_TRUE(WaitFor(
      "the claim grown by its new leader", seconds(120),
      [&] { return Capacity(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2) + Describe(ns); }));
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(Request(Claim(ns, claim)), "2Gi");
  EXPECT_EQ(Events(ns, "Resized"), 2);  // the claim's and the pod's, once
  EXPECT_EQ(MetricValue(successor.Health("/metrics"),
                        R"(discoblocks_autoscaler_actions_total{action="grow",result="success"})"),
            1);
}

}  // namespace
}  // namespace discoblocks::e2e
