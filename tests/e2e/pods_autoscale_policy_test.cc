// The autoscaler's policy end to end, and kubelets that fail: the inode
// trigger acts only once it has held for sustainedFor, then the cool-down
// holds the next grow back; a paused DiskConfig's full disk waits until it is
// unpaused; a node whose simulated kubelet answers garbage,
// nothing in time, or 503 is skipped and counted while a disk on another node
// is grown, and its disk is grown once it answers again; a ReadWriteSame
// family at its maximum size gets a second disk, and its next pod both.
#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "e2e/autoscale_e2e.h"
#include "kube/micro_time.h"

namespace discoblocks::e2e {
namespace {

using std::chrono::seconds;

TEST_F(Autoscale, InodesTriggerOnlyAfterSustainedForThenTheCoolDownHolds) {
  const std::string ns = NewNamespace("inodes");
  const std::string claim = DiskInUse(ns, {{"inodesTriggerPercentage", 70},
                                           {"sustainedFor", "4s"},
                                           {"coolDown", "1h"},
                                           {"extendCapacity", "1Gi"},
                                           {"maximumCapacityOfDisk", "5Gi"}});
  ASSERT_FALSE(claim.empty());
  // Few bytes, most inodes: only the inode trigger holds.
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=10Mi");
  Annotate(ns, claim, "sim.discoblocks.dev/inodes=1000");
  Annotate(ns, claim, "sim.discoblocks.dev/used-inodes=900");

  // First the claim is marked as seen above the trigger, not grown.
  std::string since_text;
  ASSERT_TRUE(WaitFor(
      "the claim marked above the trigger", seconds(120),
      [&] {
        const json now = Claim(ns, claim);
        since_text =
            now["metadata"]["annotations"].value("discoblocks.ondat.io/above-trigger-since", "");
        return !since_text.empty() || Request(now) != "1Gi";
      },
      [&] { return Claim(ns, claim).dump(2) + Describe(ns); }));
  const auto since = kube::ParseTime(since_text);
  ASSERT_TRUE(since.ok()) << "grown before it was marked above the trigger";

  ASSERT_TRUE(WaitFor(
      "the claim grown to 2Gi", seconds(120), [&] { return Request(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2) + Describe(ns); }));
  const json grown = Claim(ns, claim);
  const json& annotations = grown["metadata"]["annotations"];
  // Both times are serve's: it acted sustainedFor after it first saw the
  // trigger hold, and the mark went with the grow.
  const auto acted =
      kube::ParseTime(annotations.value("discoblocks.ondat.io/last-action-time", ""));
  ASSERT_TRUE(acted.ok());
  EXPECT_GE(*acted - *since, seconds(4));
  EXPECT_FALSE(annotations.contains("discoblocks.ondat.io/above-trigger-since"));

  // Still 90% of inodes used, the new capacity long there: the cool-down of
  // an hour holds the next grow back.
  ASSERT_TRUE(WaitFor(
      "the expansion completed", seconds(120), [&] { return Capacity(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2); }));
  std::this_thread::sleep_for(seconds(6));
  EXPECT_EQ(Request(Claim(ns, claim)), "2Gi");
  // Once its file system has grown too (the EBS driver's resize Job), the
  // claim is cooling down.
  EXPECT_TRUE(WaitFor(
      "a cooling-down decision", seconds(60),
      [&] {
        return MetricValue(Serving().Health("/metrics"),
                           R"(discoblocks_autoscaler_decisions{action="cooling-down"})") > 0;
      },
      [&] { return Claim(ns, claim).dump(2) + Serving().Health("/metrics"); }));
  EXPECT_EQ(Request(Claim(ns, claim)), "2Gi");
}

TEST_F(Autoscale, APausedDiskConfigIsLeftAloneUntilItIsUnpaused) {
  const std::string ns = NewNamespace("paused");
  const std::string claim =
      DiskInUse(ns, {{"pause", true}, {"extendCapacity", "1Gi"}, {"maximumCapacityOfDisk", "5Gi"}});
  ASSERT_FALSE(claim.empty());
  Annotate(ns, claim, "sim.discoblocks.dev/used-bytes=900Mi");  // 88% of 1Gi
  // Its usage is read (and shown), but nothing is done about it.
  ASSERT_TRUE(WaitFor(
      "the usage shown in status.disks[]", seconds(60),
      [&] {
        const json config = Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns});
        const json* disks = config.contains("status") ? &config["status"]["disks"] : nullptr;
        return disks != nullptr && disks->is_array() && disks->size() == 1 &&
               (*disks)[0].value("usedPercent", -1) == 87;
      },
      [&] {
        return Cluster().KubectlJson({"get", "diskconfig", "data", "-n", ns}).dump(2);
      }));
  std::this_thread::sleep_for(seconds(5));  // five polls
  EXPECT_EQ(Request(Claim(ns, claim)), "1Gi");
  EXPECT_EQ(Events(ns, "Resized"), 0);

  const auto unpaused =
      Cluster().Kubectl({"patch", "diskconfig", "data", "-n", ns, "--type", "merge", "-p",
                         R"({"spec":{"policy":{"pause":false}}})"});
  ASSERT_EQ(unpaused.exit_code, 0) << unpaused.err;
  EXPECT_TRUE(WaitFor(
      "the claim grown once unpaused", seconds(120),
      [&] { return Request(Claim(ns, claim)) == "2Gi"; },
      [&] { return Claim(ns, claim).dump(2) + Describe(ns); }));
}

TEST_F(Autoscale, AFailingKubeletIsSkippedAndCountedWhileTheOthersProceed) {
  const std::string ns = NewNamespace("faults");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "data", {{"policy", {{"extendCapacity", "1Gi"}}}})).exit_code,
      0);
  // Two pods on two nodes.
  json deployment = Deployment(ns, "web", 2, {{"app", "web"}});
  deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"] = {
      {"requiredDuringSchedulingIgnoredDuringExecution",
       {{{"labelSelector", {{"matchLabels", {{"app", "web"}}}}},
         {"topologyKey", "kubernetes.io/hostname"}}}}};
  ASSERT_EQ(Cluster().Apply(deployment).exit_code, 0);
  std::map<std::string, std::string> claim_on;  // node -> its pod's claim
  ASSERT_TRUE(WaitFor(
      "two pods Running on two nodes with their claims Bound", seconds(180),
      [&] {
        const json pods = Items("pods", ns, "app=web");
        const json claims = Items("pvc", ns, "discoblocks=data");
        if (pods.size() != 2 || claims.size() != 2 || !AllRunning(pods) || !AllBound(claims)) {
          return false;
        }
        claim_on.clear();
        for (const json& pod : pods) {
          const std::string name = pod["metadata"]["name"];
          claim_on[pod["spec"]["nodeName"]] = name + "-discoblocks-data-0";
        }
        return claim_on.size() == 2;
      },
      [&] { return Describe(ns); }));
  const std::string faulty = claim_on.begin()->first;
  const std::string faulty_claim = claim_on.begin()->second;
  const std::string healthy_claim = claim_on.rbegin()->second;
  // The node's annotation goes whatever happens: the cluster is shared.
  struct Unfault {
    std::string node;
    ~Unfault() {
      Cluster().Kubectl({"annotate", "node", node, "sim.discoblocks.dev/kubelet-fault-"});
    }
  } unfault{faulty};
  const auto fault = [&](const std::string& how) {
    const auto annotated = Cluster().Kubectl(
        {"annotate", "--overwrite", "node", faulty, "sim.discoblocks.dev/kubelet-fault=" + how});
    ASSERT_EQ(annotated.exit_code, 0) << annotated.err;
  };
  fault("garbage");
  Annotate(ns, faulty_claim, "sim.discoblocks.dev/used-bytes=900Mi");
  Annotate(ns, healthy_claim, "sim.discoblocks.dev/used-bytes=900Mi");

  ASSERT_TRUE(WaitFor(
      "the healthy node's claim grown", seconds(120),
      [&] { return Request(Claim(ns, healthy_claim)) == "2Gi"; }, [&] { return Describe(ns); }));
  const auto errors = [&](const std::string& reason) {
    return MetricValue(
        Serving().Health("/metrics"),
        fmt::format(R"(discoblocks_kubelet_scrape_errors_total{{node="{}",reason="{}"}})", faulty,
                    reason));
  };
  EXPECT_GT(errors("unparsable"), 0);
  fault("slow");
  EXPECT_TRUE(WaitFor(
      "a timeout counted", seconds(60), [&] { return errors("timeout") > 0; },
      [&] { return Serving().Health("/metrics"); }));
  fault("unavailable");
  EXPECT_TRUE(WaitFor(
      "a 503 counted", seconds(60), [&] { return errors("http_status") > 0; },
      [&] { return Serving().Health("/metrics"); }));
  EXPECT_EQ(MetricValue(Serving().Health("/metrics"), "discoblocks_autoscaler_unreachable_nodes"),
            1);
  EXPECT_EQ(Request(Claim(ns, faulty_claim)), "1Gi");

  // Answering again: its full disk is grown too.
  Cluster().Kubectl({"annotate", "node", faulty, "sim.discoblocks.dev/kubelet-fault-"});
  EXPECT_TRUE(WaitFor(
      "the recovered node's claim grown", seconds(120),
      [&] { return Request(Claim(ns, faulty_claim)) == "2Gi"; }, [&] { return Describe(ns); }));
}

TEST_F(Autoscale, AFullSharedDiskAtItsMaximumGetsASecondOneAndTheNextPodBoth) {
  const std::string ns = NewNamespace("family");
  ASSERT_EQ(Cluster()
                .Apply(DiskConfig(
                    ns, "data",
                    {{"availabilityMode", "ReadWriteSame"},
                     {"policy", {{"maximumCapacityOfDisk", "1Gi"}, {"maximumNumberOfDisks", 2}}}}))
                .exit_code,
            0);
  ASSERT_EQ(Cluster().Apply(Deployment(ns, "web", 1, {{"app", "web"}})).exit_code, 0);
  ASSERT_TRUE(WaitFor(
      "the pod Running with the family's first disk Bound", seconds(180),
      [&] {
        const json pods = Items("pods", ns, "app=web");
        const json claims = Items("pvc", ns, "discoblocks=data");
        return pods.size() == 1 && claims.size() == 1 && AllRunning(pods) && AllBound(claims);
      },
      [&] { return Describe(ns); }));
  const json first_pod = Items("pods", ns, "app=web")[0];
  GiveContainersIds(ns, first_pod);
  Annotate(ns, "discoblocks-data-0", "sim.discoblocks.dev/used-bytes=1000Mi");

  ASSERT_TRUE(WaitFor(
      "the family's second disk Bound", seconds(120),
      [&] {
        const json claims = Items("pvc", ns, "discoblocks=data");
        return claims.size() == 2 && AllBound(claims);
      },
      [&] { return Describe(ns); }));
  const json added = Claim(ns, "discoblocks-data-1");
  EXPECT_EQ(added["metadata"]["labels"].value("discoblocks-index", ""), "1");
  EXPECT_EQ(added["metadata"]["labels"].value("discoblocks-parent", ""), "discoblocks-data-0");
  EXPECT_FALSE(added["metadata"].contains("ownerReferences"));  // shared: owned by no pod

  // The family's next pod gets both disks, in every container.
  const auto scaled = Cluster().Kubectl({"scale", "deployment", "web", "-n", ns, "--replicas=2"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
  ASSERT_TRUE(WaitFor(
      "a second pod Running", seconds(180),
      [&] {
        const json pods = Items("pods", ns, "app=web");
        return pods.size() == 2 && AllRunning(pods);
      },
      [&] { return Describe(ns); }));
  for (const json& pod : Items("pods", ns, "app=web")) {
    if (pod["metadata"]["uid"] == first_pod["metadata"]["uid"]) continue;
    std::set<std::string> claims;
    for (const json& volume : pod["spec"]["volumes"]) {
      const std::string claim =
          volume.value("persistentVolumeClaim", json::object()).value("claimName", "");
      if (!claim.empty()) claims.insert(claim);
    }
    EXPECT_EQ(claims, (std::set<std::string>{"discoblocks-data-0", "discoblocks-data-1"}))
        << pod["spec"].dump(2);
    EXPECT_TRUE(MountedInEveryContainer(pod, "data", "/data/data")) << pod["spec"].dump(2);
    for (const json& container : pod["spec"]["containers"]) {
      EXPECT_NE(container["volumeMounts"].dump().find("\"/data/data-1\""), std::string::npos)
          << container.dump(2);
    }
  }
  EXPECT_EQ(Items("pvc", ns, "discoblocks=data").size(), 2U);  // no third
}

}  // namespace
}  // namespace discoblocks::e2e
