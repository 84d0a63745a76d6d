// The operator's controllers against a real kube-apiserver (with the chart's
// DiskConfig CRD): a DiskConfig gets its finalizer and its StorageClass the
// in-use one, both removed again on deletion; status conditions with
// observedGeneration, written once and not again while nothing changes;
// deleting a DiskConfig keeps its shared claim, labels it orphaned and says so
// in an Event, and leaves a pod's claim alone, and the same DiskConfig made
// again takes the claim back (label removed); of two managers with leader
// election only the leader reconciles, and the other takes over when it
// stops. Waits are for conditions, with generous deadlines.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kube/leader_election.h"
#include "operator/diskconfig_controller.h"
#include "operator/finalizers.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "operator/storage_class_controller.h"
#include "support/control_plane.h"
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

std::shared_ptr<kube::Client> Admin() { return ControlPlane::Get().AdminClient(); }

bool Has(const json& object, std::string_view finalizer) { return HasFinalizer(object, finalizer); }

// A manager with both controllers, as `serve` composes them (no driver
// registry: every driver is missing).
class Operator {
 public:
  explicit Operator(ElectorFactory elector = nullptr, const std::string& identity = "test") {
    ManagerOptions options;
    options.client = Admin();
    options.metrics = &metrics_;
    options.identity = identity;
    options.elector = std::move(elector);
    auto manager = Manager::Create(std::move(options));
    if (!manager) throw std::runtime_error(manager.error().message);
    manager_ = std::move(manager).value();
    manager_->AddController(StorageClassFinalizerController(*manager_));
    manager_->AddController(DiskConfigController(*manager_, nullptr, &operations_));
  }
  ~Operator() { manager_->Stop(); }
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  Manager& manager() { return *manager_; }
  // Successful DiskConfig reconciles so far.
  double Reconciles() const {
    const std::string text = metrics_.Render();
    const std::string series =
        R"(controller_runtime_reconcile_total{controller="diskconfig",result="success"} )";
    const auto at = text.find(series);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size()));
  }
  std::string Metrics() const { return metrics_.Render(); }

 private:
  metrics::Registry metrics_;  // before the manager, which counts into it
  PvcOperations operations_{&metrics_};
  std::unique_ptr<Manager> manager_;
};

void CreateStorageClass(const std::string& name) {
  auto created = Admin()->Create(r::kStorageClasses, "",
                                 {{"apiVersion", "storage.k8s.io/v1"},
                                  {"kind", "StorageClass"},
                                  {"metadata", {{"name", name}}},
                                  {"provisioner", "ebs.csi.aws.com"}});
  ASSERT_TRUE(created.ok()) << created.error().message;
}

void CreateDiskConfig(const std::string& ns, const std::string& name,
                      const std::string& storage_class, const std::string& mode) {
  auto created = Admin()->Create(r::kDiskConfigs, ns,
                                 {{"apiVersion", "discoblocks.ondat.io/v1"},
                                  {"kind", "DiskConfig"},
                                  {"metadata", {{"name", name}, {"namespace", ns}}},
                                  {"spec",
                                   {{"storageClassName", storage_class},
                                    {"availabilityMode", mode},
                                    {"podSelector", {{"app", name}}}}}});
  ASSERT_TRUE(created.ok()) << created.error().message;
}

json Claim(const std::string& ns, const std::string& name, const std::string& config,
           const std::string& storage_class) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels", {{"discoblocks", config}, {"discoblocks-index", "0"}}},
            {"annotations", {{"discoblocks.ondat.io/diskconfig", config}}}}},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"storageClassName", storage_class},
            {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
}

const json* ConditionOf(const json& object, const std::string& type) {
  const json* conditions = FindMember(object, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const json& condition : *conditions) {
    if (condition.value("type", "") == type) return &condition;
  }
  return nullptr;
}

TEST(OperatorLiveTest, FinalizersAndStatusComeAndGo) {
  TestNamespace ns("op-final");
  const std::string storage_class = "fast-" + ns.name();
  CreateStorageClass(storage_class);
  Operator op;
  ASSERT_TRUE(op.manager().Start().ok());
  CreateDiskConfig(ns.name(), "web", storage_class, "ReadWriteOnce");

  ASSERT_TRUE(WaitUntil([&] {
    return Has(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web"), kDisksFinalizer);
  }));
  ASSERT_TRUE(WaitUntil([&] {
    return Has(testing::ReadOrNull(r::kStorageClasses, "", storage_class), kInUseFinalizer);
  }));

  // Status: the three conditions, for the generation seen.
  ASSERT_TRUE(WaitUntil([&] {
    const json config = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web");
    return ConditionOf(config, "Ready") != nullptr && ConditionOf(config, "Degraded") != nullptr &&
           ConditionOf(config, "Progressing") != nullptr;
  }));
  json config = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web");
  EXPECT_EQ(config["status"]["observedGeneration"], config["metadata"]["generation"]);
  EXPECT_EQ((*ConditionOf(config, "Degraded"))["status"], "True");
  EXPECT_EQ((*ConditionOf(config, "Degraded"))["reason"], "DriverMissing");  // no registry
  EXPECT_EQ((*ConditionOf(config, "Ready"))["status"], "False");
  EXPECT_EQ((*ConditionOf(config, "Ready"))["observedGeneration"],
            config["metadata"]["generation"]);
  EXPECT_EQ(config["status"]["diskSummary"], "0/0");

  // Nothing changes, so nothing is written: its own status write does not
  // make it write again.
  const std::string version = config["metadata"]["resourceVersion"];
  std::this_thread::sleep_for(seconds(3));
  EXPECT_EQ(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web")["metadata"]["resourceVersion"],
            version);

  // A new generation is observed; no condition flips, so no
  // lastTransitionTime moves.
  const json ready_since = (*ConditionOf(config, "Ready"))["lastTransitionTime"];
  auto patched =
      Admin()->MergePatch(r::kDiskConfigs, ns.name(), "web", {{"spec", {{"capacity", "2Gi"}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  const auto generation = (*patched)["metadata"]["generation"].get<std::int64_t>();
  EXPECT_GT(generation, config["metadata"]["generation"].get<std::int64_t>());
  EXPECT_TRUE(WaitUntil([&] {
    const json now = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web");
    const json* observed = FindMember(now, {"status", "observedGeneration"});
    return observed != nullptr && *observed == generation;
  }));
  config = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web");
  ASSERT_NE(ConditionOf(config, "Ready"), nullptr);
  EXPECT_EQ((*ConditionOf(config, "Ready"))["observedGeneration"], generation);
  EXPECT_EQ((*ConditionOf(config, "Ready"))["lastTransitionTime"], ready_since);

  // Deleted: its finalizer goes (no shared claims), then the StorageClass's.
  ASSERT_TRUE(Admin()->Delete(r::kDiskConfigs, ns.name(), "web").ok());
  EXPECT_TRUE(
      WaitUntil([&] { return testing::ReadOrNull(r::kDiskConfigs, ns.name(), "web").is_null(); }));
  EXPECT_TRUE(WaitUntil([&] {
    return !Has(testing::ReadOrNull(r::kStorageClasses, "", storage_class), kInUseFinalizer);
  }));
  (void)Admin()->Delete(r::kStorageClasses, "", storage_class);
}

TEST(OperatorLiveTest, DeletingADiskConfigKeepsItsSharedClaimsAndSaysSo) {
  TestNamespace ns("op-orphan");
  const std::string storage_class = "shared-" + ns.name();
  CreateStorageClass(storage_class);
  CreateDiskConfig(ns.name(), "data", storage_class, "ReadWriteSame");
  Operator op;
  ASSERT_TRUE(op.manager().Start().ok());
  ASSERT_TRUE(WaitUntil([&] {
    return Has(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "data"), kDisksFinalizer);
  }));

  auto shared = Admin()->Create(r::kPersistentVolumeClaims, ns.name(),
                                Claim(ns.name(), "discoblocks-data-0", "data", storage_class));
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  // A pod's own (ReadWriteOnce) claim: the pod deletes it, not us.
  auto pod = Admin()->Create(r::kPods, ns.name(),
                             {{"apiVersion", "v1"},
                              {"kind", "Pod"},
                              {"metadata", {{"name", "p"}, {"namespace", ns.name()}}},
                              {"spec", {{"containers", {{{"name", "c"}, {"image", "x"}}}}}}});
  ASSERT_TRUE(pod.ok()) << pod.error().message;
  json owned = Claim(ns.name(), "p-discoblocks-data-0", "data", storage_class);
  owned["metadata"]["ownerReferences"] = {{{"apiVersion", "v1"},
                                           {"kind", "Pod"},
                                           {"name", "p"},
                                           {"uid", (*pod)["metadata"]["uid"]},
                                           {"controller", true}}};
  ASSERT_TRUE(Admin()->Create(r::kPersistentVolumeClaims, ns.name(), owned).ok());

  // Both disks show in the status (pending: nothing provisions here).
  EXPECT_TRUE(WaitUntil([&] {
    const json config = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "data");
    const json* disks = FindMember(config, {"status", "disks"});
    return disks != nullptr && disks->size() == 2;
  }));
  const json disks = testing::ReadOrNull(r::kDiskConfigs, ns.name(), "data")["status"]["disks"];
  EXPECT_EQ(disks[0]["pvc"], "discoblocks-data-0");
  EXPECT_EQ(disks[1]["pod"], "p");

  ASSERT_TRUE(Admin()->Delete(r::kDiskConfigs, ns.name(), "data").ok());
  ASSERT_TRUE(
      WaitUntil([&] { return testing::ReadOrNull(r::kDiskConfigs, ns.name(), "data").is_null(); }));

  const json kept =
      testing::ReadOrNull(r::kPersistentVolumeClaims, ns.name(), "discoblocks-data-0");
  ASSERT_FALSE(kept.is_null()) << "the shared claim was deleted";
  EXPECT_EQ(kept["metadata"]["labels"].value(kOrphanedLabel, ""), "true");
  const json pods_claim =
      testing::ReadOrNull(r::kPersistentVolumeClaims, ns.name(), "p-discoblocks-data-0");
  ASSERT_FALSE(pods_claim.is_null());
  EXPECT_FALSE(pods_claim["metadata"]["labels"].contains(kOrphanedLabel));

  auto events = Admin()->List(r::kEvents, ns.name());
  ASSERT_TRUE(events.ok()) << events.error().message;
  const json* found = nullptr;
  for (const json& event : (*events)["items"]) {
    if (event.value("reason", "") == "DisksKept") found = &event;
  }
  ASSERT_NE(found, nullptr) << events->dump();
  EXPECT_EQ((*found)["type"], "Warning");
  EXPECT_EQ((*found)["regarding"]["kind"], "DiskConfig");
  EXPECT_EQ((*found)["regarding"]["name"], "data");
  const std::string note = (*found)["note"];
  EXPECT_NE(note.find("discoblocks-data-0"), std::string::npos) << note;
  EXPECT_EQ(note.find("p-discoblocks-data-0"), std::string::npos) << note;
  EXPECT_NE(note.find(fmt::format("kubectl delete pvc -n {} -l discoblocks=data", ns.name())),
            std::string::npos)
      << note;
  EXPECT_NE(
      op.Metrics().find(
          R"(discoblocks_pvc_operations_total{operation="label-orphaned",result="success"} 1)"),
      std::string::npos);
  EXPECT_TRUE(WaitUntil([&] {
    return !Has(testing::ReadOrNull(r::kStorageClasses, "", storage_class), kInUseFinalizer);
  }));

  // The same DiskConfig made again takes its family back: no longer orphaned.
  CreateDiskConfig(ns.name(), "data", storage_class, "ReadWriteSame");
  EXPECT_TRUE(WaitUntil([&] {
    const json claim =
        testing::ReadOrNull(r::kPersistentVolumeClaims, ns.name(), "discoblocks-data-0");
    return !claim.is_null() && !claim["metadata"]["labels"].contains(kOrphanedLabel);
  }));
  EXPECT_NE(
      op.Metrics().find(
          R"(discoblocks_pvc_operations_total{operation="unlabel-orphaned",result="success"} 1)"),
      std::string::npos);
  ASSERT_TRUE(Admin()->Delete(r::kDiskConfigs, ns.name(), "data").ok());
  ASSERT_TRUE(
      WaitUntil([&] { return testing::ReadOrNull(r::kDiskConfigs, ns.name(), "data").is_null(); }));
  (void)Admin()->Delete(r::kStorageClasses, "", storage_class);
}

ElectorFactory Election(const std::string& ns, const std::string& identity) {
  kube::LeaderElectionConfig config;
  config.lease_namespace = ns;
  config.lease_name = "discoblocks-leader";
  config.identity = identity;
  config.lease_duration = seconds(6);
  config.renew_deadline = milliseconds(4000);
  config.retry_period = milliseconds(500);
  return LeaseElector(Admin(), std::move(config));
}

TEST(OperatorLiveTest, OnlyTheLeaderReconcilesAndTheOtherTakesOverWhenItStops) {
  TestNamespace ns("op-lead");
  const std::string storage_class = "lead-" + ns.name();
  CreateStorageClass(storage_class);
  CreateDiskConfig(ns.name(), "first", storage_class, "ReadWriteOnce");
  auto a = std::make_unique<Operator>(Election(ns.name(), "replica-a"), "replica-a");
  auto b = std::make_unique<Operator>(Election(ns.name(), "replica-b"), "replica-b");
  ASSERT_TRUE(a->manager().Start().ok());
  ASSERT_TRUE(b->manager().Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return a->manager().Leading() || b->manager().Leading(); }));
  const bool a_leads = a->manager().Leading();
  auto& leader = a_leads ? a : b;
  auto& follower = a_leads ? b : a;
  ASSERT_TRUE(WaitUntil([&] {
    return Has(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "first"), kDisksFinalizer);
  }));
  EXPECT_TRUE(WaitUntil([&] { return leader->Reconciles() > 0; }));
  std::this_thread::sleep_for(seconds(1));
  EXPECT_FALSE(follower->manager().Leading());
  EXPECT_EQ(follower->Reconciles(), 0);

  // The leader stops (releasing the lease): the other leads, looks at what
  // exists, and handles what comes next.
  leader.reset();
  ASSERT_TRUE(WaitUntil([&] { return follower->manager().Leading(); }));
  EXPECT_TRUE(WaitUntil([&] { return follower->Reconciles() > 0; }));
  CreateDiskConfig(ns.name(), "second", storage_class, "ReadWriteOnce");
  EXPECT_TRUE(WaitUntil([&] {
    return Has(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "second"), kDisksFinalizer);
  }));
  EXPECT_TRUE(WaitUntil([&] {
    return ConditionOf(testing::ReadOrNull(r::kDiskConfigs, ns.name(), "second"), "Ready") !=
           nullptr;
  }));

  // Cleanup while the follower still runs, so the finalizers can go.
  (void)Admin()->Delete(r::kDiskConfigs, ns.name(), "first");
  (void)Admin()->Delete(r::kDiskConfigs, ns.name(), "second");
  EXPECT_TRUE(WaitUntil([&] {
    return testing::ReadOrNull(r::kDiskConfigs, ns.name(), "first").is_null() &&
           testing::ReadOrNull(r::kDiskConfigs, ns.name(), "second").is_null();
  }));
  EXPECT_TRUE(WaitUntil([&] {
    return !Has(testing::ReadOrNull(r::kStorageClasses, "", storage_class), kInUseFinalizer);
  }));
  (void)Admin()->Delete(r::kStorageClasses, "", storage_class);
}

}  // namespace
}  // namespace discoblocks::op
