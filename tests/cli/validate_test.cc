// `discoblocks validate` on the fixtures: same rules and messages as the
// webhook; exit 0 allowed, 1 denied, 2 error.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace discoblocks {
namespace {

using testing::FixturesDir;
using testing::RunDiscoblocks;

// A DiskConfig without its capacity; tests append "  capacity: ...".
constexpr const char* kWebDiskConfigHead = R"(apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata: {name: web, namespace: default}
spec:
  storageClassName: ebs-gp3
  podSelector: {app: web}
)";

struct ValidateCase {
  std::string diskconfig;
  std::string storage_class;
  int exit_code;
  std::string output;  // the first line printed
};

void PrintTo(const ValidateCase& c, std::ostream* out) {
  *out << c.diskconfig << " with " << c.storage_class;
}

class ValidateFixtureTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateFixtureTest, DecidesAsTheRulesSay) {
  const auto result = RunDiscoblocks(
      {"validate", "--diskconfig", (FixturesDir() / "diskconfigs" / GetParam().diskconfig).string(),
       "--storage-class", (FixturesDir() / "storageclasses" / GetParam().storage_class).string(),
       "--drivers-dir", testing::DriversDir().string()});
  EXPECT_EQ(result.exit_code, GetParam().exit_code) << result.err;
  EXPECT_EQ(result.out.substr(0, result.out.find('\n')), GetParam().output);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, ValidateFixtureTest,
    ::testing::Values(
        ValidateCase{"nginx-ebs.yaml", "ebs-gp3.yaml", 0, "allowed"},
        ValidateCase{"bad-capacity.yaml", "ebs-gp3.yaml", 1,
                     "denied: capacity-within-maximum: spec.capacity 5Gi is above "
                     "spec.policy.maximumCapacityOfDisk 2Gi"},
        ValidateCase{"bad-mount-pattern.yaml", "storageos.yaml", 1,
                     "denied: mount-point-pattern: spec.mountPointPattern \"/data/%d/disk-%d\" "
                     "has more than one %d"},
        ValidateCase{"nginx-ebs.yaml", "storageos.yaml", 1,
                     "denied: storage-class-exists: StorageClass \"ebs-gp3\" not found"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST(ValidateTest, DriverVerdictAndJsonOutput) {
  testing::TempDir dir;
  // nginx-ebs.yaml pointed at the class without volume expansion.
  std::ofstream(dir.path() / "dc.yaml") << R"(apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata: {name: web, namespace: default}
spec:
  storageClassName: ebs-no-expansion
  podSelector: {app: web}
)";
  const auto result = RunDiscoblocks(
      {"validate", "--diskconfig", (dir.path() / "dc.yaml").string(), "--storage-class",
       (FixturesDir() / "storageclasses" / "ebs-no-expansion.yaml").string(), "--drivers-dir",
       testing::DriversDir().string(), "-o", "json"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["allowed"], false);
  EXPECT_EQ(doc["rule"], "storage-class-valid");
  EXPECT_EQ(doc["message"],
            "storage-class-valid: StorageClass \"ebs-no-expansion\" is not valid for "
            "ebs.csi.aws.com: only allowVolumeExpansion true is supported");
  EXPECT_EQ(doc["provisioner"], "ebs.csi.aws.com");
}

TEST(ValidateTest, UpdateThatShrinksIsDenied) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "old.yaml") << kWebDiskConfigHead << "  capacity: 2Gi\n";
  std::ofstream(dir.path() / "new.yaml") << kWebDiskConfigHead << "  capacity: 1Gi\n";
  const auto result =
      RunDiscoblocks({"validate", "--diskconfig", (dir.path() / "new.yaml").string(),
                      "--old-diskconfig", (dir.path() / "old.yaml").string(), "--storage-class",
                      (FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string(), "--drivers-dir",
                      testing::DriversDir().string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out,
            "denied: capacity-no-shrink: spec.capacity cannot shrink (from 2Gi to 1Gi)\n");
}

// Issue "Hardening": one field nested 200,000 arrays deep made validate die
// of a segmentation fault (exit 139) while copying the document.
TEST(ValidateTest, DeeplyNestedFieldExitsTwoNamingTheLimit) {
  testing::TempDir dir;
  constexpr std::size_t kDeep = 200'000;
  const std::string deep = std::string(kDeep, '[') + std::string(kDeep, ']');
  std::ofstream(dir.path() / "deep.json")
      << R"({"apiVersion":"discoblocks.ondat.io/v1","kind":"DiskConfig",)"
      << R"("metadata":{"name":"web"},"spec":{"storageClassName":"ebs-gp3","capacity":)" << deep
      << "}}";
  std::ofstream(dir.path() / "deep.yaml")
      << "apiVersion: discoblocks.ondat.io/v1\nkind: DiskConfig\nmetadata: {name: web}\n"
      << "spec:\n  storageClassName: ebs-gp3\n  capacity: " << deep << "\n";
  const std::string sc = (FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string();
  for (const char* name : {"deep.json", "deep.yaml"}) {
    const std::string path = (dir.path() / name).string();
    const auto result = RunDiscoblocks({"validate", "--diskconfig", path, "--storage-class", sc,
                                        "--drivers-dir", testing::DriversDir().string()});
    EXPECT_EQ(result.exit_code, 2) << name << ": " << result.err;
    EXPECT_EQ(result.err,
              "discoblocks: " + path + ": nested deeper than the limit of 100 levels\n");
    // The StorageClass and the old DiskConfig are read the same way.
    const auto as_class = RunDiscoblocks({"validate", "--diskconfig", sc, "--storage-class", path});
    EXPECT_EQ(as_class.exit_code, 2) << as_class.err;
    EXPECT_NE(as_class.err.find("nested deeper than the limit of 100 levels"), std::string::npos)
        << as_class.err;
  }
}

TEST(ValidateTest, WrongTypesNameTheField) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "kind.yaml") << "kind: 5\n";
  std::ofstream(dir.path() / "dc.yaml") << R"(apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata: {name: web, namespace: default}
spec:
  storageClassName: ebs-gp3
  capacity: [1Gi]
)";
  std::ofstream(dir.path() / "sc.yaml") << "kind: StorageClass\nprovisioner: [x]\n";
  const std::string sc = (FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string();
  const auto kind = RunDiscoblocks(
      {"validate", "--diskconfig", (dir.path() / "kind.yaml").string(), "--storage-class", sc});
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_NE(kind.err.find("kind: expected a string, got a number"), std::string::npos) << kind.err;
  const auto provisioner =
      RunDiscoblocks({"validate", "--diskconfig", (dir.path() / "dc.yaml").string(),
                      "--storage-class", (dir.path() / "sc.yaml").string()});
  EXPECT_EQ(provisioner.exit_code, 2);
  EXPECT_NE(provisioner.err.find("provisioner: expected a string, got an array"), std::string::npos)
      << provisioner.err;
  const auto capacity =
      RunDiscoblocks({"validate", "--diskconfig", (dir.path() / "dc.yaml").string(),
                      "--storage-class", sc, "--drivers-dir", testing::DriversDir().string()});
  EXPECT_EQ(capacity.exit_code, 1) << capacity.err;
  EXPECT_EQ(capacity.out,
            "denied: well-formed: spec.capacity: expected a quantity string such as 1Gi, got an "
            "array\n");
}

TEST(ValidateTest, InputErrorsExitTwo) {
  const std::string sc = (FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string();
  auto missing =
      RunDiscoblocks({"validate", "--diskconfig", "/no/such.yaml", "--storage-class", sc});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read /no/such.yaml"), std::string::npos) << missing.err;
  auto not_a_diskconfig = RunDiscoblocks({"validate", "--diskconfig", sc, "--storage-class", sc});
  EXPECT_EQ(not_a_diskconfig.exit_code, 2);
  EXPECT_NE(not_a_diskconfig.err.find("not a DiskConfig (kind StorageClass)"), std::string::npos)
      << not_a_diskconfig.err;
  auto usage = RunDiscoblocks({"validate", "--storage-class", sc});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--diskconfig"), std::string::npos) << usage.err;
}

// Regression: a capacity of "0." and 128 zeros then "1" made a 128-bit
// denominator wrap to zero and validate die of SIGFPE. Now it is 1n (rounded
// up, as Kubernetes does): a shrink from 1Gi, denied with a message. Written
// as a YAML number instead, it is refused as not a quantity string.
TEST(ValidateTest, LongFractionCapacityIsJudgedNotFatal) {
  testing::TempDir dir;
  const std::string tiny = "0." + std::string(128, '0') + "1";
  std::ofstream(dir.path() / "old.yaml") << kWebDiskConfigHead << "  capacity: 1Gi\n";
  std::ofstream(dir.path() / "quoted.yaml")
      << kWebDiskConfigHead << "  capacity: \"" << tiny << "\"\n";
  std::ofstream(dir.path() / "number.yaml") << kWebDiskConfigHead << "  capacity: " << tiny << "\n";
  const std::string sc = (FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string();
  const auto quoted =
      RunDiscoblocks({"validate", "--diskconfig", (dir.path() / "quoted.yaml").string(),
                      "--old-diskconfig", (dir.path() / "old.yaml").string(), "--storage-class", sc,
                      "--drivers-dir", testing::DriversDir().string()});
  EXPECT_EQ(quoted.exit_code, 1) << quoted.err;
  EXPECT_EQ(quoted.out,
            "denied: capacity-no-shrink: spec.capacity cannot shrink (from 1Gi to " + tiny + ")\n");
  const auto number =
      RunDiscoblocks({"validate", "--diskconfig", (dir.path() / "number.yaml").string(),
                      "--storage-class", sc, "--drivers-dir", testing::DriversDir().string()});
  EXPECT_TRUE(number.exit_code == 1 || number.exit_code == 2) << number.exit_code;
  EXPECT_NE((number.out + number.err).find("spec.capacity"), std::string::npos)
      << number.out << number.err;
}

}  // namespace
}  // namespace discoblocks
