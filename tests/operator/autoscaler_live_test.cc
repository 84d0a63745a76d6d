// The autoscaler against a real kube-apiserver (control plane only, so the
// claims' status and the pods' phase are written by the test, and usage comes
// from a scripted UsageSource instead of kubelets): a full disk's claim is
// patched once, with its state annotations and Events on the claim and the
// pod; no second patch while the expansion is pending, which is reported
// stuck once; a paused DiskConfig is left alone; a kubelet that fails leaves
// its claims waiting. The kubelets themselves are in pods_e2e_tests.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "operator/autoscale_new_disk.h"
#include "operator/autoscaler.h"
#include "operator/manager.h"
#include "support/control_plane.h"
#include "support/test_support.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ControlPlane;
using testing::TestNamespace;
using testing::WaitUntil;
namespace r = kube::resources;

constexpr std::int64_t kGi = 1024LL * 1024 * 1024;

std::shared_ptr<kube::Client> Admin() { return ControlPlane::Get().AdminClient(); }

void MustCreate(const kube::ResourceType& type, const std::string& ns, const json& object) {
  auto created = Admin()->Create(type, ns, object);
  ASSERT_TRUE(created.ok()) << created.error().message;
}

// The one driver these tests need: compiling all the bundled ones would take
// most of the test's time.
const drivers::Registry& EbsDriverOnly() {
  static const testing::TempDir dir;
  static const std::unique_ptr<drivers::Registry> registry = [] {
    dir.CopyDriver("ebs.csi.aws.com", testing::DriversDir() / "ebs.csi.aws.com" / "main.wasm");
    drivers::RegistryOptions options;
    options.directory = dir.path();
    return drivers::Registry::Load(testing::SharedEngine(), options);
  }();
  return *registry;
}

// Usage the test sets, per claim key; nodes listed here fail.
class ScriptedKubelets {
 public:
  void Set(const std::string& claim, int percent_used) {
    const std::lock_guard lock(mutex_);
    const std::int64_t capacity = 10 * kGi;
    volumes_[claim] = {capacity, capacity - capacity * percent_used / 100, 1000, 900};
  }
  void FailNode(const std::string& node) {
    const std::lock_guard lock(mutex_);
    failing_.insert(node);
  }
  int polls() const { return polls_; }

  UsageReport Read(const std::vector<json>& nodes) {
    ++polls_;
    const std::lock_guard lock(mutex_);
    UsageReport report;
    for (const json& node : nodes) {
      const std::string name = StringAt(node, {"metadata", "name"});
      if (failing_.contains(name)) report.failed_nodes.push_back(name);
    }
    if (report.failed_nodes.empty()) report.volumes = volumes_;
    return report;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, VolumeUsage> volumes_;
  std::set<std::string> failing_;
  std::atomic<int> polls_{0};
};

class AutoscalerLiveTest : public ::testing::Test {
 protected:
  AutoscalerLiveTest() : ns_("autoscale") {}

  void SetUp() override {
    node_ = "node-" + ns_.name();
    storage_class_ = "grows-" + ns_.name();
    MustCreate(r::kNodes, "",
               {{"apiVersion", "v1"},
                {"kind", "Node"},
                {"metadata",
                 {{"name", node_},
                  {"labels",
                   {{"topology.kubernetes.io/zone", "eu-west-1a"},
                    {"topology.ebs.csi.aws.com/zone", "eu-west-1a"}}}}},
                {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", "127.0.0.1"}}}}}}});
    // The API server resizes only claims bound to a CSI volume of a class
    // that allows expansion.
    MustCreate(r::kStorageClasses, "",
               {{"apiVersion", "storage.k8s.io/v1"},
                {"kind", "StorageClass"},
                {"metadata", {{"name", storage_class_}}},
                {"provisioner", "ebs.csi.aws.com"},
                {"allowVolumeExpansion", true}});
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
    (void)Admin()->Delete(r::kNodes, "", node_);
    (void)Admin()->Delete(r::kStorageClasses, "", storage_class_);
    for (const std::string& volume : volumes_) {
      (void)Admin()->Delete(r::kPersistentVolumes, "", volume);
    }
  }

  // With `new_disks`, new-disk decisions make claims (through the EBS driver).
  void StartAutoscaler(std::chrono::seconds stuck_after = seconds(600), bool new_disks = false) {
    ManagerOptions options;
    options.client = Admin();
    options.metrics = &metrics_;
    options.identity = "autoscaler-test";
    auto manager = Manager::Create(std::move(options));
    ASSERT_TRUE(manager.ok()) << manager.error().message;
    manager_ = std::move(manager).value();
    AutoscalerOptions autoscaler;
    autoscaler.poll_interval = milliseconds(200);
    autoscaler.expansion_stuck_after = stuck_after;
    autoscaler.usage = [this](const std::vector<json>& nodes) { return kubelets_.Read(nodes); };
    if (new_disks) {
      NewDiskSources disks;
      disks.registry = &EbsDriverOnly();
      disks.storage_classes = &manager_->Informer(r::kStorageClasses);
      disks.nodes = &manager_->Informer(r::kNodes);
      disks.claims = &manager_->Informer(r::kPersistentVolumeClaims);
      disks.writer = &writer_;
      autoscaler.add_disk = NewDiskMaker(disks);
    }
    manager_->AddController(Autoscaler(*manager_, std::move(autoscaler)));
    ASSERT_TRUE(manager_->Start().ok());
  }

  void CreateDiskConfig(const std::string& name, const json& policy) {
    MustCreate(r::kDiskConfigs, ns_.name(),
               {{"apiVersion", "discoblocks.ondat.io/v1"},
                {"kind", "DiskConfig"},
                {"metadata", {{"name", name}, {"namespace", ns_.name()}}},
                {"spec",
                 {{"storageClassName", storage_class_},
                  {"capacity", "10Gi"},
                  {"podSelector", {{"app", name}}},
                  {"policy", policy}}}});
  }

  // A claim of `config` bound to a CSI volume at 10Gi, used by a Running
  // pod "<claim>-user" on the node, which owns it when `owned_by_pod`.
  void CreateClaimInUse(const std::string& config, const std::string& claim,
                        bool owned_by_pod = false) {
    const std::string user = claim + "-user";
    auto pod = Admin()->Create(
        r::kPods, ns_.name(),
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", {{"name", user}}},
         {"spec",
          {{"nodeName", node_},
           {"containers", {{{"name", "c"}, {"image", "busybox"}}}},
           {"volumes", {{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", claim}}}}}}}}});
    ASSERT_TRUE(pod.ok()) << pod.error().message;
    auto running = Admin()->MergePatch(r::kPods, ns_.name(), user,
                                       {{"status", {{"phase", "Running"}}}}, /*status=*/true);
    ASSERT_TRUE(running.ok()) << running.error().message;
    json owners = json::array();
    if (owned_by_pod) {
      owners.push_back({{"apiVersion", "v1"},
                        {"kind", "Pod"},
                        {"name", user},
                        {"uid", (*pod)["metadata"]["uid"]},
                        {"controller", true}});
    }
    const std::string volume = "pv-" + ns_.name() + "-" + claim;
    volumes_.push_back(volume);
    MustCreate(r::kPersistentVolumes, "",
               {{"apiVersion", "v1"},
                {"kind", "PersistentVolume"},
                {"metadata", {{"name", volume}}},
                {"spec",
                 {{"capacity", {{"storage", "10Gi"}}},
                  {"accessModes", {"ReadWriteOnce"}},
                  {"storageClassName", storage_class_},
                  {"claimRef", {{"namespace", ns_.name()}, {"name", claim}}},
                  {"csi", {{"driver", "ebs.csi.aws.com"}, {"volumeHandle", volume}}}}}});
    MustCreate(r::kPersistentVolumeClaims, ns_.name(),
               {{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata",
                 {{"name", claim},
                  {"labels", {{"discoblocks", config}, {"discoblocks-index", "0"}}},
                  {"annotations", {{"discoblocks.ondat.io/diskconfig", config}}},
                  {"ownerReferences", owners}}},
                {"spec",
                 {{"accessModes", {"ReadWriteOnce"}},
                  {"storageClassName", storage_class_},
                  {"volumeName", volume},
                  {"resources", {{"requests", {{"storage", "10Gi"}}}}}}}});
    SetClaimStatus(claim, "10Gi");
  }

  void SetClaimStatus(const std::string& claim, const std::string& capacity) {
    auto bound = Admin()->MergePatch(r::kPersistentVolumeClaims, ns_.name(), claim,
                                     {{"status",
                                       {{"phase", "Bound"},
                                        {"accessModes", {"ReadWriteOnce"}},
                                        {"capacity", {{"storage", capacity}}}}}},
                                     /*status=*/true);
    ASSERT_TRUE(bound.ok()) << bound.error().message;
  }

  std::string Request(const std::string& claim) {
    return StringAt(testing::ReadOrNull(r::kPersistentVolumeClaims, ns_.name(), claim),
                    {"spec", "resources", "requests", "storage"});
  }

  // The Events with `reason` about the object of `kind` named `name`.
  int EventsAbout(const std::string& kind, const std::string& name, const std::string& reason) {
    auto events = Admin()->List(r::kEvents, ns_.name());
    if (!events) return -1;
    int count = 0;
    for (const json& event : (*events)["items"]) {
      if (StringAt(event, {"regarding", "kind"}) == kind &&
          StringAt(event, {"regarding", "name"}) == name && StringAt(event, {"reason"}) == reason) {
        ++count;
      }
    }
    return count;
  }

  std::string Key(const std::string& claim) const { return ns_.name() + "/" + claim; }

  TestNamespace ns_;
  std::string node_;
  std::string storage_class_;
  std::vector<std::string> volumes_;
  ScriptedKubelets kubelets_;
  metrics::Registry metrics_;
  ClientObjectWriter writer_{Admin(), nullptr};
  std::unique_ptr<Manager> manager_;
};

TEST_F(AutoscalerLiveTest, GrowsAFullDiskOnceAndWaitsForTheExpansion) {
  CreateDiskConfig("db", {{"extendCapacity", "5Gi"}, {"coolDown", "10s"}});
  CreateClaimInUse("db", "db-0");
  kubelets_.Set(Key("db-0"), 50);
  StartAutoscaler(/*stuck_after=*/seconds(3));
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= 3; }));
  EXPECT_EQ(Request("db-0"), "10Gi");  // half full: nothing

  kubelets_.Set(Key("db-0"), 90);
  ASSERT_TRUE(WaitUntil([&] { return Request("db-0") == "15Gi"; })) << Request("db-0");
  const json claim = testing::ReadOrNull(r::kPersistentVolumeClaims, ns_.name(), "db-0");
  EXPECT_EQ(StringAt(claim, {"metadata", "annotations", "discoblocks.ondat.io/last-action"}),
            "grow");
  EXPECT_EQ(StringAt(claim, {"metadata", "annotations", "discoblocks.ondat.io/target-size"}),
            "15Gi");
  EXPECT_TRUE(
      WaitUntil([&] { return EventsAbout("PersistentVolumeClaim", "db-0", "Resized") == 1; }));
  EXPECT_TRUE(WaitUntil([&] { return EventsAbout("Pod", "db-0-user", "Resized") == 1; }));

  // The resize does not complete (status stays at 10Gi): polls go on, no
  // second patch; after 3 s the expansion is reported stuck, once.
  const int polls = kubelets_.polls();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= polls + 10; }));
  EXPECT_EQ(Request("db-0"), "15Gi");
  ASSERT_TRUE(WaitUntil(
      [&] { return EventsAbout("PersistentVolumeClaim", "db-0", "ExpansionStuck") == 1; }));
  const int later = kubelets_.polls();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= later + 10; }));
  EXPECT_EQ(EventsAbout("PersistentVolumeClaim", "db-0", "ExpansionStuck"), 1);
  EXPECT_NE(metrics_.Render().find(
                R"(discoblocks_autoscaler_actions_total{action="grow",result="success"} 1)"),
            std::string::npos)
      << metrics_.Render();

  // Once the expansion completes, the cool-down (10 s from the grow) holds it.
  SetClaimStatus("db-0", "15Gi");
  const int after = kubelets_.polls();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= after + 5; }));
  EXPECT_EQ(Request("db-0"), "15Gi");
}

TEST_F(AutoscalerLiveTest, PausedDiskConfigsAndUnreadableKubeletsAreLeftAlone) {
  CreateDiskConfig("paused", {{"pause", true}});
  CreateClaimInUse("paused", "paused-0");
  kubelets_.Set(Key("paused-0"), 99);
  StartAutoscaler();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= 5; }));
  EXPECT_EQ(Request("paused-0"), "10Gi");

  kubelets_.FailNode(node_);
  auto unpaused = Admin()->MergePatch(r::kDiskConfigs, ns_.name(), "paused",
                                      {{"spec", {{"policy", {{"pause", false}}}}}});
  ASSERT_TRUE(unpaused.ok()) << unpaused.error().message;
  const int polls = kubelets_.polls();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= polls + 5; }));
  EXPECT_EQ(Request("paused-0"), "10Gi");
  EXPECT_NE(metrics_.Render().find("discoblocks_autoscaler_unreachable_nodes 1"), std::string::npos)
      << metrics_.Render();
}

TEST_F(AutoscalerLiveTest, AFullDiskAtItsMaximumGetsANextDiskOwnedLikeIt) {
  CreateDiskConfig("db", {{"maximumCapacityOfDisk", "10Gi"}, {"maximumNumberOfDisks", 2}});
  CreateClaimInUse("db", "db-0", /*owned_by_pod=*/true);
  kubelets_.Set(Key("db-0"), 95);
  StartAutoscaler(seconds(600), /*new_disks=*/true);

  // Named as Kubernetes names a ReadWriteOnce pod's disks: "<pod>-<volume>".
  const std::string added = "db-0-user-discoblocks-db-1";
  ASSERT_TRUE(WaitUntil([&] {
    return !testing::ReadOrNull(r::kPersistentVolumeClaims, ns_.name(), added).is_null();
  }));
  const json claim = testing::ReadOrNull(r::kPersistentVolumeClaims, ns_.name(), added);
  EXPECT_EQ(StringAt(claim, {"metadata", "labels", "discoblocks-index"}), "1");
  EXPECT_EQ(StringAt(claim, {"metadata", "labels", "discoblocks-parent"}), "db-0");
  EXPECT_EQ(StringAt(claim, {"metadata", "labels", "discoblocks"}), "db");
  EXPECT_EQ(StringAt(claim, {"spec", "resources", "requests", "storage"}), "10Gi");
  ASSERT_TRUE(claim["metadata"]["ownerReferences"].is_array()) << claim.dump();
  EXPECT_EQ(claim["metadata"]["ownerReferences"][0]["name"], "db-0-user");
  EXPECT_TRUE(WaitUntil([&] { return EventsAbout("Pod", "db-0-user", "DiskAdded") == 1; }));
  const json first = testing::ReadOrNull(r::kPersistentVolumeClaims, ns_.name(), "db-0");
  EXPECT_EQ(StringAt(first, {"metadata", "annotations", "discoblocks.ondat.io/last-action"}),
            "new-disk");

  // The family is at its maximum count: no third disk, however long it polls.
  const int polls = kubelets_.polls();
  ASSERT_TRUE(WaitUntil([&] { return kubelets_.polls() >= polls + 10; }));
  auto claims = Admin()->List(r::kPersistentVolumeClaims, ns_.name());
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ((*claims)["items"].size(), 2u);
}

}  // namespace
}  // namespace discoblocks::op
