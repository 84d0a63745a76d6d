// The DiskConfig rules, table by table, with the bundled drivers.
#include "admission/rules.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <tuple>

#include <gtest/gtest.h>

#include "admission/diskconfig.h"
#include "admission/diskconfig_crd.h"
#include "support/test_support.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;
using testing::BundledDrivers;
using testing::Fixture;

json DiskConfigWith(const json& spec_patch) {
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", "data"}, {"namespace", "default"}}},
                 {"spec", {{"storageClassName", "ebs-gp3"}, {"podSelector", {{"app", "db"}}}}}};
  object["spec"].merge_patch(spec_patch);
  return WithDefaults(object);
}

RuleContext Context(const drivers::Registry& registry = BundledDrivers()) {
  RuleContext context;
  context.registry = &registry;
  context.storage_class = [](std::string_view name) -> std::optional<json> {
    for (const char* file : {"storageclasses/ebs-gp3.yaml", "storageclasses/ebs-no-expansion.yaml",
                             "storageclasses/ebs-immediate.yaml", "storageclasses/storageos.yaml",
                             "storageclasses/local-no-provisioner.yaml"}) {
      json storage_class = Fixture(file);
      if (storage_class["metadata"]["name"] == name) return storage_class;
    }
    return std::nullopt;
  };
  return context;
}

Decision Create(const json& object, const RuleContext& context = Context()) {
  return Validate(Operation::kCreate, &object, nullptr, context);
}

Decision Update(const json& before, const json& after, const RuleContext& context = Context()) {
  return Validate(Operation::kUpdate, &after, &before, context);
}

// A registry whose ebs.csi.aws.com driver traps on every call.
std::unique_ptr<drivers::Registry> TrappingDrivers(const testing::TempDir& dir) {
  dir.CopyDriver("ebs.csi.aws.com", testing::HostileDir() / "trap.wasm");
  drivers::RegistryOptions options;
  options.directory = dir.path();
  return drivers::Registry::Load(testing::SharedEngine(), options);
}

json WithMetadata(json object, const json& metadata_patch) {
  object["metadata"].merge_patch(metadata_patch);
  return object;
}

TEST(RulesTest, FixtureNginxWithEbsGp3IsAllowed) {
  const Decision decision = Create(WithDefaults(Fixture("diskconfigs/nginx-ebs.yaml")));
  EXPECT_TRUE(decision.allowed) << decision.message;
  EXPECT_EQ(decision.provisioner, "ebs.csi.aws.com");
  EXPECT_TRUE(decision.warnings.empty());
}

TEST(RulesTest, MinimalObjectWithDefaultsIsAllowed) {
  // The defaults must produce a valid object (the original's did not).
  const Decision decision = Create(DiskConfigWith(json::object()));
  EXPECT_TRUE(decision.allowed) << decision.message;
}

TEST(RulesTest, DefaultsComeFromTheShippedCrd) {
  // The binary's defaults are the file the API server gets: compiled in, not copied.
  const auto crd =
      testing::SourceDir() / "deploy/helm/discoblocks/crds/discoblocks.ondat.io_diskconfigs.yaml";
  std::ifstream file(crd);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(DiskConfigCrdText(), text);
  const json spec = DiskConfigWith(json::object())["spec"];
  EXPECT_EQ(spec["capacity"], "1Gi");
  EXPECT_EQ(spec["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_EQ(spec["availabilityMode"], "ReadWriteOnce");
  EXPECT_EQ(spec["policy"], json::parse(R"({"upscaleTriggerPercentage": 80,
      "maximumCapacityOfDisk": "1000Gi", "maximumNumberOfDisks": 1, "extendCapacity": "1Gi",
      "coolDown": "5m", "pause": false})"));
  // Not stored: it depends on the name.
  EXPECT_FALSE(spec.contains("mountPointPattern"));
}

TEST(RulesTest, WithoutAPatternDisksMountUnderTheDiskConfigsName) {
  json object = DiskConfigWith(json::object());
  object["metadata"]["name"] = "db.v1";
  const auto config = ParseDiskConfig(object);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->mount_point_pattern, "/media/discoblocks/db.v1-%d");
  EXPECT_TRUE(config->mount_point_pattern_is_default);
  // The '.' a name may hold is no reason to refuse the default pattern.
  const Decision decision = Create(object);
  EXPECT_TRUE(decision.allowed) << decision.message;
}

TEST(RulesTest, NewPolicyFieldsAreOptionalAndOffWhenAbsent) {
  const auto plain = ParseDiskConfig(DiskConfigWith(json::object()));
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->policy.inodes_trigger_percentage, 0);
  EXPECT_EQ(plain->policy.extend_percentage, 0);
  EXPECT_EQ(plain->policy.sustained_for.count(), 0);
  // The CRD gives them no default, so an existing object reads back unchanged.
  EXPECT_FALSE(DiskConfigWith(json::object())["spec"]["policy"].contains("sustainedFor"));

  json object = DiskConfigWith(json::object());
  object["spec"]["policy"].update(
      {{"inodesTriggerPercentage", 90}, {"extendPercentage", 25}, {"sustainedFor", "2m30s"}});
  const auto set = ParseDiskConfig(object);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->policy.inodes_trigger_percentage, 90);
  EXPECT_EQ(set->policy.extend_percentage, 25);
  EXPECT_EQ(set->policy.sustained_for, std::chrono::seconds(150));

  for (const auto& [field, value, message] :
       {std::tuple{"inodesTriggerPercentage", json("90"),
                   "spec.policy.inodesTriggerPercentage: must be an integer, got a string"},
        std::tuple{"extendPercentage", json(1e99),
                   "spec.policy.extendPercentage: must be an integer, got a number"},
        std::tuple{"sustainedFor", json("soon"), "spec.policy.sustainedFor: "}}) {
    json bad = DiskConfigWith(json::object());
    bad["spec"]["policy"][field] = value;
    const auto parsed = ParseDiskConfig(bad);
    ASSERT_FALSE(parsed) << field;
    EXPECT_NE(parsed.error().message.find(message), std::string::npos) << parsed.error().message;
  }
}

TEST(RulesTest, WritingOutTheDefaultPatternIsNoChangeButAnotherPatternIs) {
  const json before = DiskConfigWith(json::object());
  const Decision same =
      Update(before, DiskConfigWith({{"mountPointPattern", "/media/discoblocks/data-%d"}}));
  EXPECT_TRUE(same.allowed) << same.message;
  const Decision other = Update(before, DiskConfigWith({{"mountPointPattern", "/data-%d"}}));
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.rule, rule::kMountPointPatternImmutable);
  EXPECT_NE(other.message.find(R"(from "/media/discoblocks/data-%d" to "/data-%d")"),
            std::string::npos)
      << other.message;
}

struct DenialCase {
  std::string description;
  json spec_patch;
  std::string rule;
  std::string message;
};

void PrintTo(const DenialCase& c, std::ostream* out) { *out << c.description; }

class DenialTest : public ::testing::TestWithParam<DenialCase> {};

TEST_P(DenialTest, IsDeniedByTheRuleWithItsMessage) {
  const Decision decision = Create(DiskConfigWith(GetParam().spec_patch));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, GetParam().rule);
  EXPECT_EQ(decision.message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DenialTest,
    ::testing::Values(
        DenialCase{"no storage class",
                   {{"storageClassName", ""}},
                   "storage-class-name-required",
                   "storage-class-name-required: spec.storageClassName is required"},
        DenialCase{"missing storage class",
                   {{"storageClassName", "nope"}},
                   "storage-class-exists",
                   "storage-class-exists: StorageClass \"nope\" not found"},
        DenialCase{"provisioner without a driver",
                   {{"storageClassName", "local-storage"}},
                   "driver-loaded",
                   "driver-loaded: no driver for provisioner \"kubernetes.io/no-provisioner\" of "
                   "StorageClass \"local-storage\""},
        DenialCase{"driver says invalid",
                   {{"storageClassName", "ebs-no-expansion"}},
                   "storage-class-valid",
                   "storage-class-valid: StorageClass \"ebs-no-expansion\" is not valid for "
                   "ebs.csi.aws.com: only allowVolumeExpansion true is supported"},
        DenialCase{"capacity above maximum (fixture bad-capacity.yaml)",
                   {{"capacity", "5Gi"}, {"policy", {{"maximumCapacityOfDisk", "2Gi"}}}},
                   "capacity-within-maximum",
                   "capacity-within-maximum: spec.capacity 5Gi is above "
                   "spec.policy.maximumCapacityOfDisk 2Gi"},
        DenialCase{"two %d (fixture bad-mount-pattern.yaml)",
                   {{"mountPointPattern", "/data/%d/disk-%d"}},
                   "mount-point-pattern",
                   "mount-point-pattern: spec.mountPointPattern \"/data/%d/disk-%d\" has more "
                   "than one %d"},
        DenialCase{"relative mount point",
                   {{"mountPointPattern", "data"}},
                   "mount-point-pattern",
                   "mount-point-pattern: spec.mountPointPattern \"data\" must start with /"},
        DenialCase{"forbidden character",
                   {{"mountPointPattern", "/data/disk.%d"}},
                   "mount-point-pattern",
                   "mount-point-pattern: spec.mountPointPattern \"/data/disk.%d\" must not "
                   "contain '.' (none of ><|:&.+*!?^$()[]{})"},
        DenialCase{"cool-down below 10s",
                   {{"policy", {{"coolDown", "5s"}}}},
                   "cool-down-minimum",
                   "cool-down-minimum: spec.policy.coolDown 5s is below the minimum of 10s"},
        DenialCase{"several rules at once",
                   {{"mountPointPattern", "x"}, {"policy", {{"coolDown", "1s"}}}},
                   "mount-point-pattern",
                   "mount-point-pattern: spec.mountPointPattern \"x\" must start with /; "
                   "cool-down-minimum: spec.policy.coolDown 1s is below the minimum of 10s"},
        DenialCase{"malformed capacity",
                   {{"capacity", "lots"}},
                   "well-formed",
                   "well-formed: spec.capacity: \"lots\" is not a quantity: no number before "
                   "\"lots\" (expected e.g. 1Gi, 500M, 1.5Ti or 1e9)"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST(RulesTest, UpdatesKeepStorageClassAndPatternAndNeverShrink) {
  const json before = DiskConfigWith({{"capacity", "2Gi"}});
  EXPECT_TRUE(Update(before, DiskConfigWith({{"capacity", "3Gi"}})).allowed);

  const Decision class_changed =
      Update(before, DiskConfigWith({{"capacity", "2Gi"}, {"storageClassName", "storageos"}}));
  EXPECT_EQ(class_changed.rule, "storage-class-name-immutable");
  EXPECT_EQ(class_changed.message,
            "storage-class-name-immutable: spec.storageClassName cannot change (from "
            "\"ebs-gp3\" to \"storageos\")");

  const Decision pattern_changed =
      Update(before, DiskConfigWith({{"capacity", "2Gi"}, {"mountPointPattern", "/other-%d"}}));
  EXPECT_EQ(pattern_changed.rule, "mount-point-pattern-immutable");

  const Decision shrunk = Update(before, DiskConfigWith({{"capacity", "1536Mi"}}));
  EXPECT_EQ(shrunk.rule, "capacity-no-shrink");
  EXPECT_EQ(shrunk.message, "capacity-no-shrink: spec.capacity cannot shrink (from 2Gi to 1536Mi)");
}

// Removing a finalizer is an UPDATE that leaves the spec alone: it must not
// depend on the driver or the StorageClass, either of which may be gone.
TEST(RulesTest, UpdateLeavingTheSpecAloneCallsNoDriver) {
  testing::TempDir dir;
  const auto trapping = TrappingDrivers(dir);
  const json before = WithMetadata(DiskConfigWith({{"capacity", "2Gi"}}),
                                   {{"finalizers", {"discoblocks.ondat.io/cleanup"}}});
  const json after = WithMetadata(DiskConfigWith({{"capacity", "2Gi"}}),
                                  {{"finalizers", nullptr}, {"labels", {{"team", "a"}}}});

  const Decision with_broken_driver = Update(before, after, Context(*trapping));
  EXPECT_TRUE(with_broken_driver.allowed) << with_broken_driver.message;
  EXPECT_EQ(trapping->Entry("ebs.csi.aws.com")->calls, 0U);

  RuleContext no_storage_class = Context(*trapping);
  no_storage_class.storage_class = [](std::string_view) { return std::optional<json>(); };
  const Decision without_class = Update(before, after, no_storage_class);
  EXPECT_TRUE(without_class.allowed) << without_class.message;

  // Even a spec that today's rules would refuse, or cannot read, once stored, can
  // lose its finalizer.
  for (const json& spec_patch :
       {json{{"mountPointPattern", "/data.%d"}}, json{{"capacity", "lots"}}}) {
    const json stored = DiskConfigWith(spec_patch);
    const Decision decision =
        Update(stored, WithMetadata(stored, {{"finalizers", nullptr}}), Context(*trapping));
    EXPECT_TRUE(decision.allowed) << decision.message;
  }
  EXPECT_EQ(trapping->Entry("ebs.csi.aws.com")->calls, 0U);

  // What the update itself breaks is still refused.
  const Decision broken_metadata =
      Update(before, WithMetadata(after, {{"name", 5}}), Context(*trapping));
  EXPECT_EQ(broken_metadata.rule, "well-formed");
  EXPECT_NE(broken_metadata.message.find("metadata.name"), std::string::npos);
}

TEST(RulesTest, UpdateOfAnObjectBeingDeletedCallsNoDriverButKeepsTheLocalRules) {
  testing::TempDir dir;
  const auto trapping = TrappingDrivers(dir);
  const json before = WithMetadata(DiskConfigWith({{"capacity", "2Gi"}}),
                                   {{"deletionTimestamp", "2025-01-01T00:00:00Z"},
                                    {"finalizers", {"discoblocks.ondat.io/cleanup"}}});
  RuleContext no_storage_class = Context(*trapping);
  no_storage_class.storage_class = [](std::string_view) { return std::optional<json>(); };

  const json grown = WithMetadata(DiskConfigWith({{"capacity", "3Gi"}}),
                                  {{"deletionTimestamp", "2025-01-01T00:00:00Z"}});
  for (const RuleContext& context : {Context(*trapping), no_storage_class}) {
    const Decision decision = Update(before, grown, context);
    EXPECT_TRUE(decision.allowed) << decision.message;
  }
  EXPECT_EQ(trapping->Entry("ebs.csi.aws.com")->calls, 0U);

  const json shrunk = WithMetadata(DiskConfigWith({{"capacity", "1Gi"}}),
                                   {{"deletionTimestamp", "2025-01-01T00:00:00Z"}});
  EXPECT_EQ(Update(before, shrunk, Context(*trapping)).rule, "capacity-no-shrink");
}

TEST(RulesTest, UpdateChangingTheSpecStillGoesThroughTheDriver) {
  testing::TempDir dir;
  const auto trapping = TrappingDrivers(dir);
  const Decision decision = Update(DiskConfigWith({{"capacity", "2Gi"}}),
                                   DiskConfigWith({{"capacity", "3Gi"}}), Context(*trapping));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "driver-error");
  EXPECT_EQ(trapping->Entry("ebs.csi.aws.com")->calls, 1U);

  RuleContext no_storage_class = Context(*trapping);
  no_storage_class.storage_class = [](std::string_view) { return std::optional<json>(); };
  EXPECT_EQ(Update(DiskConfigWith({{"capacity", "2Gi"}}), DiskConfigWith({{"capacity", "3Gi"}}),
                   no_storage_class)
                .rule,
            "storage-class-exists");
}

TEST(RulesTest, DeleteIsAlwaysAllowed) {
  const json broken = {{"kind", "Nonsense"}};
  EXPECT_TRUE(Validate(Operation::kDelete, nullptr, &broken, Context()).allowed);
}

TEST(RulesTest, NotADiskConfigIsDenied) {
  const json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  const Decision decision = Create(pod);
  EXPECT_EQ(decision.rule, "well-formed");
  EXPECT_NE(decision.message.find("not a discoblocks.ondat.io/v1 DiskConfig"), std::string::npos);
}

TEST(RulesTest, DriverErrorDeniesSayingTheDriverFailed) {
  testing::TempDir dir;
  dir.CopyDriver("ebs.csi.aws.com", testing::HostileDir() / "trap.wasm");
  drivers::RegistryOptions options;
  options.directory = dir.path();
  const auto broken = drivers::Registry::Load(testing::SharedEngine(), options);
  const Decision decision = Create(DiskConfigWith(json::object()), Context(*broken));
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "driver-error");
  EXPECT_EQ(decision.message,
            "driver-error: the driver failed, so the DiskConfig cannot be validated: driver "
            "ebs.csi.aws.com: IsStorageClassValid: trapped: wasm trap: wasm `unreachable` "
            "instruction executed");
}

TEST(RulesTest, DriverWarningsAreCarried) {
  testing::TempDir dir;
  dir.CopyDriver("ebs.csi.aws.com", testing::HostileDir() / "scripted.wasm");
  drivers::RegistryOptions options;
  options.directory = dir.path();
  const auto scripted = drivers::Registry::Load(testing::SharedEngine(), options);
  RuleContext context = Context(*scripted);
  context.call_options.extra_env = {{"OUT", "true"}, {"ERR", "gp2 is deprecated"}};
  const Decision decision = Create(DiskConfigWith(json::object()), context);
  EXPECT_TRUE(decision.allowed) << decision.message;
  EXPECT_EQ(decision.warnings, std::vector<std::string>{"gp2 is deprecated"});
}

}  // namespace
}  // namespace discoblocks::admission
