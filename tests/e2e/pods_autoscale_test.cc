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

#include "e2e/autoscale_e2e.h"

namespace discoblocks::e2e {
namespace {

using std::chrono::seconds;

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
  // The EBS driver's CSI driver does not grow file systems
  // (IsFileSystemManaged false): a Job on the pod's node does, with the
  // driver's GetPreResizeCommand and resize2fs; kwok completes it unrun.
  EXPECT_TRUE(WaitFor(
      "the file system grown by a resize Job", seconds(60),
      [&] {
        const json now = Claim(ns, claim);
        return now["metadata"]["annotations"].value("discoblocks.ondat.io/fs-grown", "") == "2Gi";
      },
      [&] {
        return Claim(ns, claim).dump(2) +
               Cluster().Kubectl({"get", "jobs,pods", "-n", "discoblocks-system"}).out;
      }));
  const json jobs = Items("jobs", "discoblocks-system", "discoblocks.ondat.io/job=resize");
  int resize_jobs = 0;
  for (const json& job : jobs) {
    if (job["metadata"]["annotations"].value("discoblocks.ondat.io/claim", "") !=
        ns + "/" + claim) {
      continue;
    }
    ++resize_jobs;
    const std::string script =
        job["spec"]["template"]["spec"]["containers"][0]["command"][2].get<std::string>();
    EXPECT_NE(script.find("resize2fs"), std::string::npos) << script;
    EXPECT_NE(script.find("DEV="), std::string::npos) << script;  // the driver's fragment
  }
  EXPECT_EQ(resize_jobs, 1);
  EXPECT_TRUE(WaitFor(
      "a FileSystemResized Event", seconds(30),
      [&] { return Events(ns, "FileSystemResized") == 1; }, [&] { return Describe(ns); }));
  // The DiskConfig's status shows it: the new capacity, the grow, and how full
  // it is now (900Mi of 2Gi: 43%, rounded down from 43.9).
  EXPECT_TRUE(WaitFor(
      "status.disks[] with the new capacity, the grow and 43% used", seconds(30),
      [&] {
        const json config = Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns});
        const json* disks = config.contains("status") ? &config["status"]["disks"] : nullptr;
        if (disks == nullptr || !disks->is_array() || disks->size() != 1) return false;
        const json& disk = (*disks)[0];
        return disk.value("capacity", "") == "2Gi" && disk.value("usedPercent", -1) == 43 &&
               disk.contains("lastAction") && disk["lastAction"].value("action", "") == "grow" &&
               disk["lastAction"].value("size", "") == "2Gi";
      },
      [&] {
        return Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns}).dump(2);
      }));
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
  EXPECT_TRUE(WaitFor(
      "the DiskConfig's ExpansionStuck condition True", seconds(30),
      [&] { return StuckCondition(ns) == "True"; },
      [&] {
        return Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns}).dump(2);
      }));

  // Released: the expansion completes.
  const auto released =
      Cluster().Kubectl({"annotate", "pvc", claim, "-n", ns, "sim.discoblocks.dev/hold-resize-"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_TRUE(WaitFor(
      "the held expansion completed", seconds(120),
      [&] { return Capacity(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2); }));
  EXPECT_TRUE(WaitFor(
      "the DiskConfig's ExpansionStuck condition False again", seconds(30),
      [&] { return StuckCondition(ns) == "False"; },
      [&] {
        return Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns}).dump(2);
      }));
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
        for (const json& each :
             Items("jobs", "discoblocks-system", "discoblocks.ondat.io/job=mount")) {
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
        return Cluster()
            .Kubectl({"get", "jobs,pods", "-n", "discoblocks-system", "-o", "wide"})
            .out;
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

  // Nothing else is added or mounted meanwhile, and the attachment stays.
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(Items("pvc", ns, "discoblocks=data").size(), 2u);
  EXPECT_EQ(Events(ns, "DiskMounted"), 1);
  const std::string attachment_name = attachment["metadata"].value("name", "");
  EXPECT_EQ(Cluster().Kubectl({"get", "volumeattachment", attachment_name}).exit_code, 0);

  // The pod goes, and its claims with it (they are its own): the attachment
  // the disk mounter made is deleted, which csi-attacher lets go only once it
  // has detached the volume; the PV is Released (the class's policy is Retain).
  const auto deleted = Cluster().Kubectl({"delete", "deployment", "web", "-n", ns});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_TRUE(WaitFor(
      "the second disk detached and its volume released", seconds(120),
      [&] {
        if (!Cluster()
                 .Kubectl({"get", "volumeattachment", attachment_name, "--ignore-not-found", "-o",
                           "name"})
                 .out.empty()) {
          return false;
        }
        const json released = Cluster().KubectlJson({"get", "pv", volume});
        return released.value("status", json::object()).value("phase", "") == "Released";
      },
      [&] {
        return Cluster().Kubectl({"get", "volumeattachments,pv", "-o", "wide"}).out +
               Cluster().KubectlJson({"get", "pv", volume}).dump(2) + Describe(ns);
      }));
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
