// The disk mounter against a real kube-apiserver (control plane only: no
// attacher and no Job controller, so the test writes the VolumeAttachment's
// and the Job's status as csi-attacher and the Job controller would). A disk
// the autoscaler added to a running pod's family is attached to the pod's
// node under the kubelet's name for it, then mounted by one Job with the
// driver's fragment and each container's ID; once the Job completes the pod is
// recorded on the claim, with one DiskMounted Event, and a new leader does
// nothing again. A failed Job is reported once and not retried. On the full
// local cluster: pods_autoscale_test.cc.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "admission/mount_points.h"
#include "operator/disk_mount_plan.h"
#include "operator/disk_mounter.h"
#include "operator/manager.h"
#include "operator/mount_job.h"
#include "support/control_plane.h"
#include "support/test_support.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ControlPlane;
using testing::TestNamespace;
namespace r = kube::resources;

std::shared_ptr<kube::Client> Admin() { return ControlPlane::Get().AdminClient(); }

bool WaitUntil(const std::function<bool()>& condition, seconds limit = seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

json Read(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
  auto object = Admin()->Get(type, ns, name);
  return object ? *object : json();
}

json MustCreate(const kube::ResourceType& type, const std::string& ns, const json& object) {
  auto created = Admin()->Create(type, ns, object);
  EXPECT_TRUE(created.ok()) << created.error().message;
  return created ? *created : json();
}

void MustPatchStatus(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                     const json& status) {
  auto patched = Admin()->MergePatch(type, ns, name, {{"status", status}}, /*status=*/true);
  ASSERT_TRUE(patched.ok()) << type.resource << " " << name << ": " << patched.error().message;
}

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

class DiskMounterLiveTest : public ::testing::Test {
 protected:
  DiskMounterLiveTest() : ns_("mounter") {}

  void SetUp() override {
    node_ = "node-" + ns_.name();
    MustCreate(r::kNodes, "",
               {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", node_}}}});
    MustCreate(r::kDiskConfigs, ns_.name(),
               {{"apiVersion", "discoblocks.ondat.io/v1"},
                {"kind", "DiskConfig"},
                {"metadata", {{"name", "db"}, {"namespace", ns_.name()}}},
                {"spec",
                 {{"storageClassName", "ebs-" + ns_.name()},
                  {"capacity", "10Gi"},
                  {"podSelector", {{"app", "db"}}}}}});
    // A pod of two containers, running with their IDs, and its first disk.
    const json pod = MustCreate(
        r::kPods, ns_.name(),
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", {{"name", "web"}}},
         {"spec",
          {{"nodeName", node_},
           {"containers",
            {{{"name", "app"}, {"image", "busybox"}}, {{"name", "sidecar"}, {"image", "busybox"}}}},
           {"volumes", {{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", "db-0"}}}}}}}}});
    pod_uid_ = StringAt(pod, {"metadata", "uid"});
    MustPatchStatus(
        r::kPods, ns_.name(), "web",
        {{"phase", "Running"},
         {"containerStatuses",
          {Running("app", "containerd://0a1b2c"), Running("sidecar", "containerd://3d4e5f")}}});
    Claim("db-0", 0);
    claim_uid_ = StringAt(Claim("db-1", 1), {"metadata", "uid"});
  }

  void TearDown() override {
    if (manager_) manager_->Stop();
    (void)Admin()->Delete(r::kNodes, "", node_);
    for (const std::string& volume : volumes_) {
      (void)Admin()->Delete(r::kPersistentVolumes, "", volume);
      (void)Admin()->Delete(r::kVolumeAttachments, "", Attachment(volume));
    }
  }

  static json Running(const std::string& name, const std::string& id) {
    return {{"name", name},
            {"image", "busybox"},
            {"imageID", ""},
            {"containerID", id},
            {"ready", true},
            {"restartCount", 0},
            {"state", {{"running", {{"startedAt", "2026-01-01T00:00:00Z"}}}}}};
  }

  // Disk `index` of the pod's family, Bound to a CSI volume of the EBS driver.
  json Claim(const std::string& name, int index) {
    const std::string volume = "vol-" + ns_.name() + "-" + std::to_string(index);
    volumes_.push_back(volume);
    MustCreate(
        r::kPersistentVolumes, "",
        {{"apiVersion", "v1"},
         {"kind", "PersistentVolume"},
         {"metadata", {{"name", volume}}},
         {"spec",
          {{"capacity", {{"storage", "10Gi"}}},
           {"accessModes", {"ReadWriteOnce"}},
           {"claimRef", {{"namespace", ns_.name()}, {"name", name}}},
           {"csi",
            {{"driver", "ebs.csi.aws.com"}, {"volumeHandle", volume}, {"fsType", "xfs"}}}}}});
    json labels = {{"discoblocks", "db"}, {"discoblocks-index", std::to_string(index)}};
    if (index > 0) labels["discoblocks-parent"] = "db-0";
    const json claim = MustCreate(r::kPersistentVolumeClaims, ns_.name(),
                                  {{"apiVersion", "v1"},
                                   {"kind", "PersistentVolumeClaim"},
                                   {"metadata",
                                    {{"name", name},
                                     {"labels", labels},
                                     {"annotations", {{"discoblocks.ondat.io/diskconfig", "db"}}},
                                     {"ownerReferences",
                                      {{{"apiVersion", "v1"},
                                        {"kind", "Pod"},
                                        {"name", "web"},
                                        {"uid", pod_uid_},
                                        {"controller", true}}}}}},
                                   {"spec",
                                    {{"accessModes", {"ReadWriteOnce"}},
                                     {"volumeName", volume},
                                     {"resources", {{"requests", {{"storage", "10Gi"}}}}}}}});
    MustPatchStatus(r::kPersistentVolumeClaims, ns_.name(), name,
                    {{"phase", "Bound"},
                     {"accessModes", {"ReadWriteOnce"}},
                     {"capacity", {{"storage", "10Gi"}}}});
    return claim;
  }

  std::string Attachment(const std::string& volume) const {
    return VolumeAttachmentName(volume, "ebs.csi.aws.com", node_);
  }
  std::string JobName() const { return MountJobName(claim_uid_, pod_uid_); }

  void StartMounter() {
    ManagerOptions options;
    options.client = Admin();
    options.identity = "mounter-test";
    auto manager = Manager::Create(std::move(options));
    ASSERT_TRUE(manager.ok()) << manager.error().message;
    manager_ = std::move(manager).value();
    DiskMounterOptions mounter;
    mounter.registry = &EbsDriverOnly();
    mounter.job_namespace = ns_.name();
    mounter.job_image = "busybox:test";
    mounter.poll = milliseconds(100);
    manager_->AddController(DiskMounter(*manager_, std::move(mounter)));
    ASSERT_TRUE(manager_->Start().ok());
  }
  void StopMounter() {
    manager_->Stop();
    manager_.reset();
  }

  // Attached as csi-attacher says it.
  void Attach() {
    const std::string name = Attachment("vol-" + ns_.name() + "-1");
    ASSERT_TRUE(WaitUntil([&] { return !Read(r::kVolumeAttachments, "", name).is_null(); }));
    MustPatchStatus(r::kVolumeAttachments, "", name, {{"attached", true}});
  }

  // The Job's final status, as the Job controller writes it.
  void FinishJob(bool complete) {
    ASSERT_TRUE(WaitUntil([&] { return !Read(r::kJobs, ns_.name(), JobName()).is_null(); }));
    json status = {{"startTime", "2026-01-01T00:00:00Z"}};
    if (complete) {
      status["completionTime"] = "2026-01-01T00:00:05Z";
      status["succeeded"] = 1;
      status["conditions"] = {Condition("SuccessCriteriaMet"), Condition("Complete")};
    } else {
      status["failed"] = 4;
      status["conditions"] = {Condition("FailureTarget"), Condition("Failed")};
    }
    MustPatchStatus(r::kJobs, ns_.name(), JobName(), status);
  }
  static json Condition(const char* type) {
    return {{"type", type},
            {"status", "True"},
            {"lastProbeTime", "2026-01-01T00:00:05Z"},
            {"lastTransitionTime", "2026-01-01T00:00:05Z"}};
  }

  std::string Annotation(const char* key) {
    return StringAt(Read(r::kPersistentVolumeClaims, ns_.name(), "db-1"),
                    {"metadata", "annotations", key});
  }

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

  TestNamespace ns_;
  std::string node_;
  std::string pod_uid_;
  std::string claim_uid_;
  std::vector<std::string> volumes_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(DiskMounterLiveTest, AttachesThenMountsOnceAndRecordsThePod) {
  StartMounter();
  // Attached first, under the kubelet's name for it; no Job before.
  const std::string attachment_name = Attachment("vol-" + ns_.name() + "-1");
  ASSERT_TRUE(
      WaitUntil([&] { return !Read(r::kVolumeAttachments, "", attachment_name).is_null(); }));
  const json attachment = Read(r::kVolumeAttachments, "", attachment_name);
  EXPECT_EQ(StringAt(attachment, {"spec", "attacher"}), "ebs.csi.aws.com");
  EXPECT_EQ(StringAt(attachment, {"spec", "nodeName"}), node_);
  EXPECT_EQ(StringAt(attachment, {"spec", "source", "persistentVolumeName"}),
            "vol-" + ns_.name() + "-1");
  // Disk 0 is in the pod's spec: nothing is attached for it.
  EXPECT_TRUE(Read(r::kVolumeAttachments, "", Attachment("vol-" + ns_.name() + "-0")).is_null());
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_TRUE(Read(r::kJobs, ns_.name(), JobName()).is_null());

  Attach();
  ASSERT_TRUE(WaitUntil([&] { return !Read(r::kJobs, ns_.name(), JobName()).is_null(); }));
  const json job = Read(r::kJobs, ns_.name(), JobName());
  const json& pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(pod["nodeName"], node_);
  EXPECT_EQ(pod["hostPID"], true);
  EXPECT_EQ(pod["containers"][0]["image"], "busybox:test");
  EXPECT_EQ(pod["containers"][0]["securityContext"]["privileged"], true);
  const std::string script = pod["containers"][0]["command"][2];
  const std::string path = admission::RenderMountPoint("", "db", 1);
  // The EBS driver's fragment finds the NVMe disk by the volume's serial: its
  // handle without the dashes.
  std::string serial = "vol-" + ns_.name() + "-1";
  std::erase(serial, '-');
  EXPECT_NE(script.find(serial), std::string::npos) << script;
  EXPECT_NE(script.find("FS=xfs\n"), std::string::npos) << script;
  EXPECT_NE(script.find("mount_into 0a1b2c '" + path + "'"), std::string::npos) << script;
  EXPECT_NE(script.find("mount_into 3d4e5f '" + path + "'"), std::string::npos) << script;

  FinishJob(/*complete=*/true);
  ASSERT_TRUE(WaitUntil([&] { return Annotation(kMountedInAnnotation) == pod_uid_; }))
      << Annotation(kMountedInAnnotation);
  EXPECT_TRUE(WaitUntil([&] { return EventsAbout("Pod", "web", "DiskMounted") == 1; }));

  // A new leader finds it done: no second Job, no second Event.
  StopMounter();
  StartMounter();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(EventsAbout("Pod", "web", "DiskMounted"), 1);
  EXPECT_EQ(Annotation(kMountedInAnnotation), pod_uid_);
  EXPECT_EQ(Annotation(kMountFailedAnnotation), "");
}

TEST_F(DiskMounterLiveTest, AFailedJobIsReportedOnceAndNotRetried) {
  StartMounter();
  Attach();
  FinishJob(/*complete=*/false);
  ASSERT_TRUE(WaitUntil([&] { return Annotation(kMountFailedAnnotation) == pod_uid_; }));
  EXPECT_TRUE(WaitUntil([&] { return EventsAbout("Pod", "web", "MountFailed") == 1; }));
  EXPECT_TRUE(
      WaitUntil([&] { return EventsAbout("PersistentVolumeClaim", "db-1", "MountFailed") == 1; }));
  const std::string job_uid = StringAt(Read(r::kJobs, ns_.name(), JobName()), {"metadata", "uid"});

  StopMounter();
  StartMounter();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(EventsAbout("Pod", "web", "MountFailed"), 1);
  EXPECT_EQ(Annotation(kMountedInAnnotation), "");
  EXPECT_EQ(StringAt(Read(r::kJobs, ns_.name(), JobName()), {"metadata", "uid"}), job_uid);
}

}  // namespace
}  // namespace discoblocks::op
