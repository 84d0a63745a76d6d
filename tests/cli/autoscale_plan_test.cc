// `discoblocks autoscale plan`: one monitoring cycle offline, on the fixtures
// in tests/fixtures/autoscale (what each claim should get is listed in
// pvcs.yaml).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace discoblocks {
namespace {

using testing::FixturesDir;
using testing::RunDiscoblocks;

std::vector<std::string> PlanArgs(std::vector<std::string> extra = {}) {
  const auto dir = FixturesDir() / "autoscale";
  std::vector<std::string> args = {"autoscale",    "plan",
                                   "--diskconfig", (dir / "diskconfig.yaml").string(),
                                   "--pvc",        (dir / "pvcs.yaml").string(),
                                   "--summary",    (dir / "summary.json").string(),
                                   "--now",        "2026-11-30T12:00:00Z"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(AutoscalePlanTest, DecidesEachClaimAsTheControllerWould) {
  const auto result = RunDiscoblocks(PlanArgs({"-o", "json"}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  ASSERT_EQ(plan.size(), 5u) << result.out;
  const auto expect = [&](size_t i, const char* pvc, const char* action, const char* from,
                          const char* to) {
    EXPECT_EQ(plan[i]["pvc"], pvc);
    EXPECT_EQ(plan[i]["action"], action) << plan[i]["reason"];
    EXPECT_EQ(plan[i]["from"], from) << plan[i]["reason"];
    EXPECT_EQ(plan[i]["to"], to) << plan[i]["reason"];
    EXPECT_FALSE(plan[i]["reason"].get<std::string>().empty());
  };
  expect(0, "shop/db-0-discoblocks-db-0", "grow", "10Gi", "15Gi");
  expect(1, "shop/db-1-discoblocks-db-0", "new-disk", "20Gi", "10Gi");
  expect(2, "shop/db-2-discoblocks-db-0", "wait-pending", "10Gi", "10Gi");
  expect(3, "shop/db-3-discoblocks-db-0", "none", "20Gi", "20Gi");
  expect(4, "shop/db-3-discoblocks-db-1", "cooling-down", "10Gi", "10Gi");
}

TEST(AutoscalePlanTest, TheDriversLimitsAndTheClockChangeTheAnswer) {
  // Five minutes later the cool-down is over; the driver's granularity and
  // minimum increase leave 5Gi steps as they are.
  auto args = PlanArgs({"-o", "json", "--resize-policy",
                        (FixturesDir() / "autoscale" / "resize-policy.json").string()});
  args[9] = "2026-11-30T12:05:00Z";  // --now
  const auto result = RunDiscoblocks(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  EXPECT_EQ(plan[4]["action"], "grow") << plan[4]["reason"];
  EXPECT_EQ(plan[4]["to"], "15Gi");
}

TEST(AutoscalePlanTest, AClassWithoutExpansionGetsANewDiskInstead) {
  testing::TempDir dir;
  testing::WriteTextFile(dir.path() / "class.yaml",
                         "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
                         "metadata: {name: ebs-gp3}\nprovisioner: ebs.csi.aws.com\n"
                         "allowVolumeExpansion: false\n");
  const auto result = RunDiscoblocks(
      PlanArgs({"-o", "json", "--storage-class", (dir.path() / "class.yaml").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  EXPECT_EQ(plan[0]["action"], "new-disk") << plan[0]["reason"];
  EXPECT_NE(plan[0]["reason"].get<std::string>().find("does not allow volume expansion"),
            std::string::npos);
}

TEST(AutoscalePlanTest, AFileSystemTheDriverDoesNotGrowKeepsTheGrowPending) {
  // db-3's disk 1 was grown to 10Gi; its file system not yet.
  testing::TempDir dir;
  std::string pvcs = testing::ReadBytes(FixturesDir() / "autoscale" / "pvcs.yaml");
  const std::string grown = "discoblocks.ondat.io/last-action: grow\n";
  const auto last = pvcs.rfind(grown);
  ASSERT_NE(last, std::string::npos);
  pvcs.insert(last + grown.size(), "        discoblocks.ondat.io/target-size: 10Gi\n");
  testing::WriteTextFile(dir.path() / "pvcs.yaml", pvcs);
  auto args = PlanArgs({"-o", "json"});
  args[5] = (dir.path() / "pvcs.yaml").string();  // --pvc
  args[9] = "2026-11-30T12:05:00Z";               // --now: the cool-down is over
  auto result = RunDiscoblocks(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)[4]["action"], "grow");

  args.push_back("--file-system-not-managed");
  result = RunDiscoblocks(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  EXPECT_EQ(plan[4]["action"], "wait-pending") << plan[4]["reason"];
  EXPECT_NE(plan[4]["reason"].get<std::string>().find("not yet grown to 10Gi"), std::string::npos);
}

TEST(AutoscalePlanTest, ClaimsWithoutUsageAreLeftAlone) {
  auto args = PlanArgs({"-o", "json"});
  args.erase(args.begin() + 6, args.begin() + 8);  // no --summary
  const auto result = RunDiscoblocks(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  EXPECT_EQ(plan[0]["action"], "none");
  EXPECT_EQ(plan[0]["reason"], "no usage reported by the claim's kubelet");
}

TEST(AutoscalePlanTest, TextSaysWhatAndWhy) {
  const auto result = RunDiscoblocks(PlanArgs());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("shop/db-0-discoblocks-db-0: grow 10Gi -> 15Gi (90.0% used, at or "
                            "above upscaleTriggerPercentage 80%)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("shop/db-1-discoblocks-db-0: new-disk of 10Gi"), std::string::npos)
      << result.out;
}

TEST(AutoscalePlanTest, BadInputIsNamed) {
  testing::TempDir dir;
  testing::WriteTextFile(dir.path() / "policy.json", R"({"maxModifications": 4})");
  testing::WriteTextFile(dir.path() / "pod.yaml",
                         "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
  testing::WriteTextFile(dir.path() / "summary.json", R"({"pods": {"not": "a list"}})");
  struct Bad {
    std::vector<std::string> extra;
    size_t replace_at;  // the index in PlanArgs() to overwrite, or 0
    std::string value;
    std::string message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {{"--resize-policy", (dir.path() / "policy.json").string()},
            0,
            "",
            "resize policy: window: is required when maxModifications is above 0"},
           {{}, 9, "yesterday", "--now: \"yesterday\" is not an RFC 3339 time"},
           {{}, 5, (dir.path() / "pod.yaml").string(), "p is not a PersistentVolumeClaim"},
           {{}, 7, (dir.path() / "summary.json").string(), "pods: expected an array"},
           {{}, 3, (dir.path() / "missing.yaml").string(), "missing.yaml"}}) {
    auto args = PlanArgs(bad.extra);
    if (bad.replace_at != 0) args[bad.replace_at] = bad.value;
    const auto result = RunDiscoblocks(args);
    EXPECT_EQ(result.exit_code, 2) << bad.message;
    EXPECT_NE(result.err.find(bad.message), std::string::npos) << result.err;
  }
}

}  // namespace
}  // namespace discoblocks
