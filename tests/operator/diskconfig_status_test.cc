// A DiskConfig's status from its claims, StorageClass and driver: the
// conditions and their reasons, lastTransitionTime kept unless a status
// flips, a status computed again from itself unchanged (no write loop), the
// disks (how full, the last action), a stuck expansion, and malformed objects
// that do not crash it. Also the claims a
// DiskConfig owns, and what the controllers map objects to.
#include "operator/diskconfig_status.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "operator/diskconfig_controller.h"
#include "operator/storage_class_controller.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

json Config(std::int64_t generation = 3) {
  return {{"metadata", {{"namespace", "ns"}, {"name", "web"}, {"generation", generation}}},
          {"spec", {{"storageClassName", "fast"}, {"podSelector", {{"app", "web"}}}}}};
}

json Claim(const std::string& name, const std::string& phase, const std::string& index = "0") {
  json claim = {{"metadata",
                 {{"namespace", "ns"},
                  {"name", name},
                  {"labels", {{"discoblocks", "web"}, {"discoblocks-index", index}}},
                  {"annotations", {{"discoblocks.ondat.io/diskconfig", "web"}}}}},
                {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  if (!phase.empty()) claim["status"]["phase"] = phase;
  if (phase == "Bound") claim["status"]["capacity"]["storage"] = "2Gi";
  return claim;
}

StatusInputs Inputs(const json& config, std::vector<json> claims) {
  StatusInputs inputs;
  inputs.disk_config = &config;
  inputs.storage_class_name = "fast";
  inputs.provisioner = "ebs.csi.aws.com";
  inputs.claims = std::move(claims);
  inputs.now = "2026-11-29T18:00:00Z";
  return inputs;
}

const json& ConditionOf(const json& status, const std::string& type) {
  for (const json& condition : status["conditions"]) {
    if (condition["type"] == type) return condition;
  }
  static const json none;
  return none;
}

TEST(DiskConfigStatusTest, AllBoundIsReadyWithTheDisksAndTheGeneration) {
  const json config = Config(3);
  const json status = DesiredStatus(Inputs(config, {Claim("discoblocks-web-0", "Bound")}));
  EXPECT_EQ(status["observedGeneration"], 3);
  EXPECT_EQ(status["diskSummary"], "1/1");
  const json& ready = ConditionOf(status, "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "AllDisksBound");
  EXPECT_EQ(ready["observedGeneration"], 3);
  EXPECT_EQ(ready["lastTransitionTime"], "2026-11-29T18:00:00Z");
  EXPECT_EQ(ConditionOf(status, "Progressing")["status"], "False");
  EXPECT_EQ(ConditionOf(status, "Degraded")["status"], "False");
  EXPECT_EQ(status["disks"], json::parse(R"([{"pvc":"discoblocks-web-0","index":0,
      "phase":"Bound","capacity":"2Gi"}])"));
}

TEST(DiskConfigStatusTest, PendingClaimsAreProgressingAndNotReady) {
  const json config = Config();
  const json status = DesiredStatus(
      Inputs(config, {Claim("discoblocks-web-0", "Bound"), Claim("discoblocks-web-1", "", "1")}));
  EXPECT_EQ(status["diskSummary"], "1/2");
  EXPECT_EQ(ConditionOf(status, "Ready")["status"], "False");
  EXPECT_EQ(ConditionOf(status, "Ready")["reason"], "DisksPending");
  EXPECT_EQ(ConditionOf(status, "Progressing")["status"], "True");
  EXPECT_NE(
      ConditionOf(status, "Progressing")["message"].get<std::string>().find("discoblocks-web-1"),
      std::string::npos);
  EXPECT_EQ(status["disks"][1]["phase"], "Pending");  // a claim without status is pending
  EXPECT_EQ(status["disks"][1]["capacity"], "1Gi");   // its request, until bound
}

TEST(DiskConfigStatusTest, NoDisksYetIsReady) {
  const json config = Config();
  const json status = DesiredStatus(Inputs(config, {}));
  EXPECT_EQ(ConditionOf(status, "Ready")["status"], "True");
  EXPECT_EQ(ConditionOf(status, "Ready")["reason"], "NoDisks");
  EXPECT_EQ(status["diskSummary"], "0/0");
}

TEST(DiskConfigStatusTest, WhatStopsNewDisksIsDegradedWithItsReason) {
  const json config = Config();
  StatusInputs missing_class = Inputs(config, {});
  missing_class.storage_class_found = false;
  json status = DesiredStatus(missing_class);
  EXPECT_EQ(ConditionOf(status, "Degraded")["status"], "True");
  EXPECT_EQ(ConditionOf(status, "Degraded")["reason"], "StorageClassMissing");
  EXPECT_EQ(ConditionOf(status, "Ready")["status"], "False");
  EXPECT_EQ(ConditionOf(status, "Ready")["reason"], "StorageClassMissing");

  StatusInputs missing_driver = Inputs(config, {});
  missing_driver.driver.state = DriverStatus::State::kMissing;
  EXPECT_EQ(ConditionOf(DesiredStatus(missing_driver), "Degraded")["reason"], "DriverMissing");

  StatusInputs failed_driver = Inputs(config, {});
  failed_driver.driver = {DriverStatus::State::kFailed, "bad magic"};
  status = DesiredStatus(failed_driver);
  EXPECT_EQ(ConditionOf(status, "Degraded")["reason"], "DriverFailed");
  EXPECT_NE(ConditionOf(status, "Degraded")["message"].get<std::string>().find("bad magic"),
            std::string::npos);

  status = DesiredStatus(Inputs(config, {Claim("discoblocks-web-0", "Lost")}));
  EXPECT_EQ(ConditionOf(status, "Degraded")["reason"], "DisksLost");

  StatusInputs invalid = Inputs(config, {});
  invalid.spec_error = "spec.capacity: expected a quantity";
  EXPECT_EQ(ConditionOf(DesiredStatus(invalid), "Degraded")["reason"], "InvalidSpec");
}

TEST(DiskConfigStatusTest, TransitionTimesChangeOnlyWhenAStatusFlips) {
  json config = Config();
  config["status"] = DesiredStatus(Inputs(config, {Claim("discoblocks-web-0", "")}));
  // Computed again later from the same facts: the same status, so no write.
  StatusInputs later = Inputs(config, {Claim("discoblocks-web-0", "")});
  later.now = "2026-11-29T19:00:00Z";
  EXPECT_EQ(DesiredStatus(later), config["status"]);

  // The claim is bound: Ready and Progressing flip, Degraded does not.
  later.claims = {Claim("discoblocks-web-0", "Bound")};
  const json status = DesiredStatus(later);
  EXPECT_EQ(ConditionOf(status, "Ready")["lastTransitionTime"], "2026-11-29T19:00:00Z");
  EXPECT_EQ(ConditionOf(status, "Progressing")["lastTransitionTime"], "2026-11-29T19:00:00Z");
  EXPECT_EQ(ConditionOf(status, "Degraded")["lastTransitionTime"], "2026-11-29T18:00:00Z");
}

TEST(DiskConfigStatusTest, MalformedObjectsDoNotCrashIt) {
  const json config = {{"metadata", {{"generation", "three"}}}, {"status", {{"conditions", 7}}}};
  json claim = {
      {"metadata",
       {{"name", 5}, {"labels", {{"discoblocks-index", "-1"}}}, {"ownerReferences", "pod"}}},
      {"status", {{"phase", json::array()}, {"capacity", "lots"}}}};
  const json status = DesiredStatus(Inputs(config, {claim, json::array(), json(nullptr)}));
  EXPECT_EQ(status["observedGeneration"], 0);
  EXPECT_EQ(status["disks"].size(), 3U);
  EXPECT_FALSE(status["disks"][0].contains("index"));
  EXPECT_EQ(ConditionOf(status, "Ready")["status"], "False");
}

TEST(DiskConfigStatusTest, ManyDisksAreCountedButTheFirstOnesListed) {
  const json config = Config();
  std::vector<json> claims;
  for (std::size_t i = 0; i < kMaxListedDisks + 10; ++i) {
    claims.push_back(Claim(fmt::format("pod-{:04}-discoblocks-web-0", i), "Bound"));
  }
  const json status = DesiredStatus(Inputs(config, std::move(claims)));
  EXPECT_EQ(status["disks"].size(), kMaxListedDisks);
  EXPECT_EQ(status["diskSummary"], fmt::format("{0}/{0}", kMaxListedDisks + 10));
  EXPECT_EQ(ConditionOf(status, "Ready")["reason"], "AllDisksBound");
}

TEST(DiskConfigStatusTest, TheDisksSayWhoseTheyAre) {
  json ephemeral = Claim("pod-1-discoblocks-web-0", "Bound");
  ephemeral["metadata"]["ownerReferences"] =
      json::parse(R"([{"kind":"Pod","name":"pod-1","controller":true,"uid":"u"}])");
  json daemon = Claim("discoblocks-web-node-a-0", "Bound");
  daemon["metadata"]["annotations"]["discoblocks.ondat.io/node"] = "node-a";
  EXPECT_TRUE(OwnedByPod(ephemeral));
  EXPECT_FALSE(OwnedByPod(daemon));
  EXPECT_EQ(DiskOf(ephemeral)["pod"], "pod-1");
  EXPECT_EQ(DiskOf(daemon)["node"], "node-a");
}

TEST(DiskConfigStatusTest, TheDisksSayHowFullTheyAreAndWhatWasLastDone) {
  const json config = Config();
  json grown = Claim("pod-1-discoblocks-web-0", "Bound");
  grown["metadata"]["annotations"]["discoblocks.ondat.io/last-action"] = "grow";
  grown["metadata"]["annotations"]["discoblocks.ondat.io/last-action-time"] =
      "2026-11-29T17:00:00Z";
  grown["metadata"]["annotations"]["discoblocks.ondat.io/target-size"] = "3Gi";
  json added = Claim("pod-1-discoblocks-web-1", "Bound", "1");
  added["metadata"]["annotations"]["discoblocks.ondat.io/last-action"] = "new-disk";
  added["metadata"]["annotations"]["discoblocks.ondat.io/last-action-time"] = "yesterday";
  json unknown = Claim("pod-2-discoblocks-web-0", "Bound");
  unknown["metadata"]["annotations"]["discoblocks.ondat.io/last-action"] = "shrink";
  StatusInputs inputs = Inputs(config, {grown, added, unknown});
  inputs.fullness["pod-1-discoblocks-web-0"] = {79.96, 12.5};
  inputs.fullness["pod-1-discoblocks-web-1"] = {std::nullopt, 100.0};
  inputs.fullness["pod-2-discoblocks-web-0"] = {250.0, -1.0};  // not percentages

  const json status = DesiredStatus(inputs);
  EXPECT_EQ(status["disks"][0], json::parse(R"({"pvc":"pod-1-discoblocks-web-0","index":0,
      "phase":"Bound","capacity":"2Gi","usedPercent":79,"inodesUsedPercent":12,
      "lastAction":{"action":"grow","time":"2026-11-29T17:00:00Z","size":"3Gi"}})"));
  EXPECT_EQ(status["disks"][1], json::parse(R"({"pvc":"pod-1-discoblocks-web-1","index":1,
      "phase":"Bound","capacity":"2Gi","inodesUsedPercent":100,
      "lastAction":{"action":"new-disk"}})"));
  EXPECT_EQ(status["disks"][2], json::parse(R"({"pvc":"pod-2-discoblocks-web-0","index":0,
      "phase":"Bound","capacity":"2Gi"})"));
  // Computed again from itself: nothing to write.
  json written = config;
  written["status"] = status;
  inputs.disk_config = &written;
  EXPECT_EQ(DesiredStatus(inputs), status);
}

TEST(DiskConfigStatusTest, AStuckExpansionIsAConditionThatLeavesReadyAlone) {
  const json config = Config();
  json stuck = Claim("pod-1-discoblocks-web-0", "Bound");
  stuck["metadata"]["annotations"]["discoblocks.ondat.io/expansion-stuck"] = "2026-11-29T17:50:00Z";
  const json status =
      DesiredStatus(Inputs(config, {stuck, Claim("pod-2-discoblocks-web-0", "Bound")}));
  const json& condition = ConditionOf(status, "ExpansionStuck");
  EXPECT_EQ(condition["status"], "True");
  EXPECT_EQ(condition["reason"], "ExpansionStuck");
  EXPECT_NE(condition["message"].get<std::string>().find("pod-1-discoblocks-web-0"),
            std::string::npos);
  EXPECT_EQ(condition["message"].get<std::string>().find("pod-2"), std::string::npos);
  EXPECT_EQ(ConditionOf(status, "Ready")["status"], "True");

  const json fine = DesiredStatus(Inputs(config, {Claim("pod-2-discoblocks-web-0", "Bound")}));
  EXPECT_EQ(ConditionOf(fine, "ExpansionStuck")["status"], "False");
  EXPECT_EQ(ConditionOf(fine, "ExpansionStuck")["reason"], "AsExpected");
}

TEST(DiskConfigStatusTest, ClaimsOfADiskConfigAreThoseOfItsNamespaceAndAnnotation) {
  json other_namespace = Claim("discoblocks-web-0", "Bound");
  other_namespace["metadata"]["namespace"] = "elsewhere";
  json other_config = Claim("discoblocks-web2-0", "Bound");
  other_config["metadata"]["annotations"]["discoblocks.ondat.io/diskconfig"] = "web2";
  std::vector<std::shared_ptr<const json>> candidates = {
      std::make_shared<const json>(Claim("discoblocks-web-1", "Bound")),
      std::make_shared<const json>(other_namespace),
      std::make_shared<const json>(other_config),
      std::make_shared<const json>(Claim("discoblocks-web-0", "Bound")),
      std::make_shared<const json>(json::array()),
      nullptr};
  const auto claims = ClaimsOf("ns", "web", candidates);
  ASSERT_EQ(claims.size(), 2U);
  EXPECT_EQ(claims[0]["metadata"]["name"], "discoblocks-web-0");
  EXPECT_EQ(claims[1]["metadata"]["name"], "discoblocks-web-1");
}

TEST(DiskConfigControllerTest, ObjectsMapToTheKeysTheyConcern) {
  EXPECT_EQ(DiskConfigKeyOfClaim(Claim("discoblocks-web-0", "")),
            std::vector<std::string>{"ns/web"});
  EXPECT_TRUE(DiskConfigKeyOfClaim(json::parse(R"({"metadata":{"name":"x"}})")).empty());
  EXPECT_TRUE(DiskConfigKeyOfClaim(json::array()).empty());
  EXPECT_EQ(StorageClassKeyOf(Config()), std::vector<std::string>{"fast"});
  EXPECT_TRUE(StorageClassKeyOf(json::parse(R"({"spec":{"storageClassName":4}})")).empty());
}

TEST(DiskConfigControllerTest, TheDisksKeptNoteNamesThemAndHowToDeleteThem) {
  const std::string note = DisksKeptNote("ns", "web", {"discoblocks-web-0", "discoblocks-web-1"});
  EXPECT_NE(note.find("discoblocks-web-0, discoblocks-web-1"), std::string::npos);
  EXPECT_NE(note.find("kubectl delete pvc -n ns -l discoblocks=web"), std::string::npos);
  EXPECT_NE(note.find("discoblocks.ondat.io/orphaned=true"), std::string::npos);
}

TEST(DiskConfigControllerTest, WithoutARegistryEveryDriverIsMissing) {
  EXPECT_EQ(DriverStatusOf(nullptr, "ebs.csi.aws.com").state, DriverStatus::State::kMissing);
}

TEST(StorageClassControllerTest, InUseWhileADiskConfigNotBeingDeletedNamesIt) {
  json deleting = Config();
  deleting["metadata"]["deletionTimestamp"] = "2026-11-29T18:00:00Z";
  const auto make = [](json object) { return std::make_shared<const json>(std::move(object)); };
  EXPECT_TRUE(StorageClassInUse("fast", {make(json::array()), make(Config())}));
  EXPECT_FALSE(StorageClassInUse("fast", {make(deleting)}));
  EXPECT_FALSE(StorageClassInUse("slow", {make(Config())}));
  EXPECT_FALSE(StorageClassInUse("fast", {make(json::parse(R"({"spec":7})")), nullptr}));
}

}  // namespace
}  // namespace discoblocks::op
