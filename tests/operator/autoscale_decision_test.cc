#include "operator/autoscale_decision.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "admission/diskconfig.h"
#include "kube/micro_time.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::int64_t kGi = 1024LL * 1024 * 1024;
constexpr std::int64_t kMi = 1024LL * 1024;
const TimePoint kNow{std::chrono::seconds(1796000000)};  // 2026-11-30

admission::DiskConfig Config(const json& policy = json::object(),
                             const char* mode = "ReadWriteOnce") {
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", "data"}, {"namespace", "shop"}}},
                 {"spec",
                  {{"storageClassName", "ebs"},
                   {"capacity", "10Gi"},
                   {"availabilityMode", mode},
                   {"podSelector", {{"app", "db"}}},
                   {"policy", policy}}}};
  auto config = admission::ParseDiskConfig(admission::WithDefaults(object));
  EXPECT_TRUE(config) << config.error().message;
  return *config;
}

json Claim(const std::string& size = "10Gi", json annotations = json::object()) {
  return {
      {"apiVersion", "v1"},
      {"kind", "PersistentVolumeClaim"},
      {"metadata", {{"name", "web-0-data"}, {"namespace", "shop"}, {"annotations", annotations}}},
      {"spec", {{"resources", {{"requests", {{"storage", size}}}}}}},
      {"status", {{"phase", "Bound"}, {"capacity", {{"storage", size}}}}}};
}

VolumeUsage UsedPercent(int percent, std::int64_t capacity = 10 * kGi) {
  return {capacity, capacity - capacity * percent / 100, 1000, 900};
}

struct Case {
  admission::DiskConfig config = Config();
  json claim = Claim();
  std::optional<VolumeUsage> usage = UsedPercent(85);
  ResizePolicy limits;
  ClaimFamily family;
  bool can_expand = true;
  TimePoint now = kNow;

  Decision Run() const {
    DecisionInput input;
    input.config = &config;
    input.claim = &claim;
    input.usage = usage;
    input.resize_policy = limits;
    input.family = family;
    input.can_expand = can_expand;
    input.now = now;
    return Decide(input);
  }
};

TEST(AutoscaleDecisionTest, BelowTheTriggerDoesNothing) {
  Case c;
  c.usage = UsedPercent(79);
  const Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone);
  EXPECT_NE(decision.reason.find("below upscaleTriggerPercentage 80%"), std::string::npos)
      << decision.reason;
  EXPECT_TRUE(decision.annotations.empty());
}

TEST(AutoscaleDecisionTest, AtTheTriggerGrowsByExtendCapacityAndRecordsIt) {
  Case c;
  c.usage = UsedPercent(80);
  const Decision decision = c.Run();
  ASSERT_EQ(decision.action, AutoscaleAction::kGrow) << decision.reason;
  EXPECT_EQ(decision.pvc, "shop/web-0-data");
  EXPECT_EQ(decision.from_bytes, 10 * kGi);
  EXPECT_EQ(decision.to_bytes, 11 * kGi);
  EXPECT_EQ(decision.annotations[kLastActionAnnotation], "grow");
  EXPECT_EQ(decision.annotations[kLastActionTimeAnnotation], kube::FormatTime(kNow));
  EXPECT_EQ(decision.annotations[kTargetSizeAnnotation], "11Gi");
  EXPECT_EQ(decision.annotations[kResizedAtAnnotation], kube::FormatTime(kNow));
  EXPECT_EQ(DecisionToJson(decision), (json{{"pvc", "shop/web-0-data"},
                                            {"action", "grow"},
                                            {"from", "10Gi"},
                                            {"to", "11Gi"},
                                            {"reason", decision.reason}}));
}

TEST(AutoscaleDecisionTest, ExtendPercentageWinsWhenLarger) {
  Case c;
  c.config = Config({{"extendPercentage", 50}});
  EXPECT_EQ(c.Run().to_bytes, 15 * kGi);
  c.config = Config({{"extendPercentage", 5}, {"extendCapacity", "2Gi"}});
  EXPECT_EQ(c.Run().to_bytes, 12 * kGi);
}

TEST(AutoscaleDecisionTest, DriverGranularityAndMinimumIncreaseShapeTheStep) {
  Case c;
  c.config = Config({{"extendCapacity", "100Mi"}});
  EXPECT_EQ(c.Run().to_bytes, 10 * kGi + 100 * kMi);
  c.limits.granularity_bytes = kGi;
  EXPECT_EQ(c.Run().to_bytes, 11 * kGi);
  c.limits.granularity_bytes = 1;
  c.limits.minimum_increase_bytes = 3 * kGi;
  EXPECT_EQ(c.Run().to_bytes, 13 * kGi);
}

TEST(AutoscaleDecisionTest, StopsAtTheMaximumRoundedDownToTheGranularity) {
  Case c;
  c.config = Config({{"maximumCapacityOfDisk", "10752Mi"}});  // 10.5Gi
  EXPECT_EQ(c.Run().to_bytes, 10 * kGi + 512 * kMi);
  c.limits.granularity_bytes = kGi;  // 10.5Gi rounds down to 10Gi: at the maximum
  c.config = Config({{"maximumCapacityOfDisk", "10752Mi"}, {"maximumNumberOfDisks", 2}});
  const Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNewDisk) << decision.reason;
  EXPECT_EQ(decision.to_bytes, 10 * kGi);  // the DiskConfig's capacity
}

TEST(AutoscaleDecisionTest, AStepBelowTheDriversMinimumCountsAsAtTheMaximum) {
  Case c;
  c.config = Config({{"maximumCapacityOfDisk", "10752Mi"}});
  c.limits.minimum_increase_bytes = kGi;
  const Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kAtCeiling) << decision.reason;
}

TEST(AutoscaleDecisionTest, AtTheMaximumTheNewestDiskAddsOneUntilTheCountIsReached) {
  Case c;
  c.config = Config({{"maximumCapacityOfDisk", "10Gi"}, {"maximumNumberOfDisks", 3}});
  c.family = {2, true};
  Decision decision = c.Run();
  ASSERT_EQ(decision.action, AutoscaleAction::kNewDisk) << decision.reason;
  EXPECT_EQ(decision.annotations[kLastActionAnnotation], "new-disk");
  EXPECT_NE(decision.reason.find("disk 3 of at most 3"), std::string::npos) << decision.reason;

  c.family = {2, false};
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone) << decision.reason;
  EXPECT_NE(decision.reason.find("newer disk"), std::string::npos) << decision.reason;

  c.family = {3, true};
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kAtCeiling) << decision.reason;
  EXPECT_TRUE(decision.report_at_ceiling);
  EXPECT_EQ(decision.annotations[kAtCeilingAnnotation], kube::FormatTime(kNow));

  // Reported once: the next poll finds the annotation.
  c.claim = Claim("10Gi", {{kAtCeilingAnnotation, kube::FormatTime(kNow)}});
  c.now = kNow + minutes(1);
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kAtCeiling);
  EXPECT_FALSE(decision.report_at_ceiling);
  EXPECT_TRUE(decision.annotations.empty());
}

TEST(AutoscaleDecisionTest, AClassThatCannotExpandCountsAsAtTheMaximum) {
  Case c;
  c.can_expand = false;
  Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kAtCeiling) << decision.reason;
  EXPECT_NE(decision.reason.find("does not allow volume expansion"), std::string::npos);
  c.config = Config({{"maximumNumberOfDisks", 2}});
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNewDisk) << decision.reason;
}

TEST(AutoscaleDecisionTest, RaisingTheMaximumAfterTheCeilingGrowsAndClearsTheMark) {
  Case c;
  c.claim = Claim("10Gi", {{kAtCeilingAnnotation, kube::FormatTime(kNow - hours(1))}});
  const Decision decision = c.Run();
  ASSERT_EQ(decision.action, AutoscaleAction::kGrow) << decision.reason;
  EXPECT_TRUE(decision.annotations[kAtCeilingAnnotation].is_null());
}

TEST(AutoscaleDecisionTest, CoolDownIsPerClaimFromItsLastAction) {
  Case c;  // coolDown defaults to 5m
  c.claim = Claim("11Gi", {{kLastActionTimeAnnotation, kube::FormatTime(kNow - minutes(4))}});
  c.usage = UsedPercent(90, 11 * kGi);
  Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kCoolingDown) << decision.reason;
  EXPECT_NE(decision.reason.find(kube::FormatTime(kNow + minutes(1))), std::string::npos)
      << decision.reason;
  c.now = kNow + minutes(1);
  EXPECT_EQ(c.Run().action, AutoscaleAction::kGrow);
}

TEST(AutoscaleDecisionTest, PauseStopsEverything) {
  Case c;
  c.config = Config({{"pause", true}});
  c.usage = UsedPercent(100);
  EXPECT_EQ(c.Run().action, AutoscaleAction::kNone);
  EXPECT_EQ(c.Run().reason, "the DiskConfig is paused");
}

TEST(AutoscaleDecisionTest, ClaimsNotBoundOrWithoutUsageAreLeftAlone) {
  Case c;
  c.claim["status"]["phase"] = "Pending";
  EXPECT_EQ(c.Run().action, AutoscaleAction::kNone);
  c.claim = Claim();
  c.claim["metadata"]["deletionTimestamp"] = "2026-11-30T00:00:00Z";
  EXPECT_EQ(c.Run().reason, "the claim is being deleted");
  c.claim = Claim();
  c.usage.reset();
  EXPECT_EQ(c.Run().reason, "no usage reported by the claim's kubelet");
  c.usage = VolumeUsage{0, 0, std::nullopt, std::nullopt};  // capacity 0: says nothing
  EXPECT_EQ(c.Run().action, AutoscaleAction::kNone);
}

TEST(AutoscaleDecisionTest, InodesTriggerOnlyWhenAsked) {
  Case c;
  c.usage = VolumeUsage{10 * kGi, 9 * kGi, 1000, 40};  // 10% of bytes, 96% of inodes
  EXPECT_EQ(c.Run().action, AutoscaleAction::kNone);
  c.config = Config({{"inodesTriggerPercentage", 95}});
  const Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kGrow) << decision.reason;
  EXPECT_NE(decision.reason.find("inodes"), std::string::npos) << decision.reason;
  EXPECT_DOUBLE_EQ(*decision.inodes_used_percent, 96.0);
}

TEST(AutoscaleDecisionTest, SustainedForWaitsAndRemembersOnTheClaim) {
  Case c;
  c.config = Config({{"sustainedFor", "2m"}});
  Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone);
  EXPECT_EQ(decision.annotations[kAboveTriggerSinceAnnotation], kube::FormatTime(kNow));

  c.claim = Claim("10Gi", {{kAboveTriggerSinceAnnotation, kube::FormatTime(kNow)}});
  c.now = kNow + seconds(119);
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone) << decision.reason;
  EXPECT_TRUE(decision.annotations.empty());

  c.now = kNow + minutes(2);
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kGrow) << decision.reason;
  EXPECT_TRUE(decision.annotations[kAboveTriggerSinceAnnotation].is_null());

  c.usage = UsedPercent(50);  // fell below: the count starts over
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone);
  EXPECT_TRUE(decision.annotations[kAboveTriggerSinceAnnotation].is_null());
}

TEST(AutoscaleDecisionTest, NeverGrowsWhileAnExpansionIsPending) {
  Case c;
  c.claim = Claim("10Gi", {{kLastActionTimeAnnotation, kube::FormatTime(kNow - minutes(9))}});
  c.claim["spec"]["resources"]["requests"]["storage"] = "11Gi";
  c.usage = UsedPercent(99);
  Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending) << decision.reason;
  EXPECT_FALSE(decision.report_stuck);
  EXPECT_NE(decision.reason.find("capacity 10Gi is below the request 11Gi"), std::string::npos);

  c.now = kNow + minutes(1);  // pending for 10 minutes: stuck, reported once
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending);
  EXPECT_TRUE(decision.report_stuck);
  EXPECT_EQ(decision.annotations[kExpansionStuckAnnotation], kube::FormatTime(c.now));
  c.claim["metadata"]["annotations"][kExpansionStuckAnnotation] = kube::FormatTime(c.now);
  EXPECT_FALSE(c.Run().report_stuck);

  // Once the expansion completes, the mark goes with the next decision.
  c.claim["status"]["capacity"]["storage"] = "11Gi";
  c.now = kNow + hours(1);
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kGrow) << decision.reason;
  EXPECT_TRUE(decision.annotations[kExpansionStuckAnnotation].is_null());
}

TEST(AutoscaleDecisionTest, AFileSystemTheDriverDoesNotGrowIsPendingUntilItsJobReported) {
  Case c;
  c.claim = Claim("11Gi", {{kLastActionAnnotation, "grow"},
                           {kLastActionTimeAnnotation, kube::FormatTime(kNow - minutes(9))},
                           {kTargetSizeAnnotation, "11Gi"}});
  c.claim["spec"]["resources"]["requests"]["storage"] = "11Gi";
  c.config.policy.cool_down = std::chrono::seconds(0);
  c.usage = UsedPercent(99);  // the file system is still the old size
  // A driver whose CSI driver grows file systems: grows again.
  EXPECT_EQ(c.Run().action, AutoscaleAction::kGrow);

  c.limits.filesystem_managed = false;
  Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending) << decision.reason;
  EXPECT_NE(decision.reason.find("not yet grown to 11Gi"), std::string::npos) << decision.reason;
  EXPECT_FALSE(decision.report_stuck);

  // The Job failed: reported stuck once, never grown past it.
  c.claim["metadata"]["annotations"][kFileSystemGrowFailedAnnotation] = "11Gi";
  decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending);
  EXPECT_TRUE(decision.report_stuck);

  // Grown: the trigger decides again.
  c.claim["metadata"]["annotations"][kFileSystemGrownAnnotation] = "11Gi";
  EXPECT_EQ(c.Run().action, AutoscaleAction::kGrow);
}

TEST(AutoscaleDecisionTest, ResizeConditionsAndAllocatedStatusesCountAsPending) {
  for (const char* type : {"Resizing", "FileSystemResizePending"}) {
    Case c;
    c.claim["status"]["conditions"] = json::array({{{"type", type}, {"status", "True"}}});
    const Decision decision = c.Run();
    EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending) << type;
    EXPECT_FALSE(decision.report_stuck) << type;
  }
  Case failed;
  failed.claim["status"]["conditions"] = json::array(
      {{{"type", "ControllerResizeError"}, {"status", "True"}, {"message", "quota exceeded"}}});
  Decision decision = failed.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending);
  EXPECT_TRUE(decision.report_stuck);
  EXPECT_NE(decision.reason.find("quota exceeded"), std::string::npos) << decision.reason;

  Case infeasible;
  infeasible.claim["status"]["allocatedResourceStatuses"] = {
      {"storage", "ControllerResizeInfeasible"}};
  EXPECT_TRUE(infeasible.Run().report_stuck);
  Case in_progress;
  in_progress.claim["status"]["allocatedResourceStatuses"] = {
      {"storage", "ControllerResizeInProgress"}};
  decision = in_progress.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kWaitPending);
  EXPECT_FALSE(decision.report_stuck);
}

// The "over a simulated day": poll every 30 s for 24 hours, with the
// volume always full and each grow completing at once, as the controller would
// apply it; no 24-hour window may hold more size changes than the driver allows.
TEST(AutoscaleDecisionTest, TheDriversModificationLimitHoldsOverASimulatedDay) {
  Case c;
  c.config = Config({{"coolDown", "10s"}, {"maximumCapacityOfDisk", "1000Gi"}});
  c.limits = {kGi, kGi, 4, hours(24)};
  std::vector<TimePoint> grows;
  std::int64_t size = 10 * kGi;
  for (TimePoint now = kNow; now < kNow + hours(48); now += seconds(30)) {
    c.now = now;
    c.usage = UsedPercent(95, size);
    const Decision decision = c.Run();
    if (decision.action != AutoscaleAction::kGrow) continue;
    grows.push_back(now);
    size = decision.to_bytes;
    c.claim["spec"]["resources"]["requests"]["storage"] = FormatBytes(size);
    c.claim["status"]["capacity"]["storage"] = FormatBytes(size);
    c.claim["metadata"]["annotations"].update(decision.annotations, true);
  }
  ASSERT_GE(grows.size(), 8u);  // it kept growing: 4 on each day
  for (size_t i = 4; i < grows.size(); ++i) {
    EXPECT_GE(grows[i] - grows[i - 4], hours(24)) << "grow " << i;
  }
  EXPECT_EQ(grows.size(), 8u);
}

TEST(AutoscaleDecisionTest, OddClaimsAndUsageNeverThrow) {
  Case c;
  for (const json& claim :
       {json(nullptr), json::array(), json("x"),
        json{{"metadata", 5},
             {"spec", {{"resources", {{"requests", {{"storage", {1, 2}}}}}}}},
             {"status", {{"phase", "Bound"}, {"capacity", "lots"}, {"conditions", "many"}}}},
        json{{"status", {{"phase", "Bound"}, {"allocatedResourceStatuses", 3}}},
             {"metadata",
              {{"annotations",
                {{kLastActionTimeAnnotation, "yesterday"}, {kResizedAtAnnotation, "a b c"}}}}}}}) {
    c.claim = claim;
    EXPECT_NO_THROW(c.Run()) << claim.dump();
  }
  c.claim = Claim();
  c.usage = VolumeUsage{10 * kGi, 20 * kGi, -5, 9};  // more free than capacity
  const Decision decision = c.Run();
  EXPECT_EQ(decision.action, AutoscaleAction::kNone);
  EXPECT_DOUBLE_EQ(*decision.used_percent, 0.0);
}

TEST(AutoscaleDecisionTest, FormatsBytesAsTheShortestExactQuantity) {
  EXPECT_EQ(FormatBytes(5 * kGi), "5Gi");
  EXPECT_EQ(FormatBytes(1536 * kMi), "1536Mi");
  EXPECT_EQ(FormatBytes(1000), "1000");
  EXPECT_EQ(FormatBytes(0), "0");
}

}  // namespace
}  // namespace discoblocks::op
