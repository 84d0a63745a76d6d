// ABI v2 (inputs on stdin) against ABI v1 (inputs in the environment): the same
// driver source built both ways declares its ABI, and answers every function on
// every fixture, and every malformed input, exactly the same, also when v2's
// calls start from its pre-initialized snapshot.
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "drivers/driver.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::DriversDir;
using testing::Fixture;
using testing::FixturesDir;
using testing::SharedEngine;

std::shared_ptr<const Driver> LoadFrom(const std::filesystem::path& root,
                                       const std::string& provisioner,
                                       const LoadOptions& options = {}) {
  auto driver = Driver::Load(SharedEngine(), provisioner, root / provisioner, options);
  EXPECT_TRUE(driver.ok()) << (driver.ok() ? "" : driver.error().message);
  return driver.ok() ? driver.value() : nullptr;
}

std::vector<nlohmann::json> FixturesIn(const std::string& folder) {
  std::vector<nlohmann::json> fixtures;
  for (const auto& entry : std::filesystem::directory_iterator(FixturesDir() / folder)) {
    fixtures.push_back(Fixture(folder + "/" + entry.path().filename().string()));
  }
  return fixtures;
}

// Every function with every combination of fixtures it reads (and a few inputs
// given as text, as driver authors do with extra variables).
struct Call {
  Function function;
  CallInputs inputs;
  Environment extra;
};

std::vector<Call> AllCalls() {
  std::vector<Call> calls;
  const auto add = [&](Function function, auto&& set_inputs) {
    Call call{function, {}, {}};
    set_inputs(call.inputs);
    calls.push_back(std::move(call));
  };
  for (const auto& sc : FixturesIn("storageclasses")) {
    for (Function function : {Function::kIsStorageClassValid, Function::kGetResizePolicy}) {
      add(function, [&](CallInputs& inputs) { inputs.storage_class = sc; });
    }
  }
  for (const auto& node : FixturesIn("nodes")) {
    add(Function::kGetStorageClassAllowedTopology, [&](CallInputs& inputs) { inputs.node = node; });
  }
  const auto attachments = FixturesIn("volumeattachments");
  for (const auto& pv : FixturesIn("persistentvolumes")) {
    add(Function::kGetPreResizeCommand, [&](CallInputs& inputs) { inputs.persistent_volume = pv; });
    for (const auto& va : attachments) {
      for (Function function : {Function::kGetPreMountCommand, Function::kGetPreResizeCommand}) {
        add(function, [&](CallInputs& inputs) {
          inputs.persistent_volume = pv;
          inputs.volume_attachment = va;
        });
      }
    }
  }
  add(Function::kGetPVCStub, [](CallInputs& inputs) {
    inputs.pvc_name = "data \"quoted\" é";
    inputs.pvc_namespace = "default";
    inputs.storage_class_name = "gp3";
  });
  for (Function function :
       {Function::kGetCSIDriverNamespace, Function::kGetCSIDriverPodLabels,
        Function::kIsFileSystemManaged, Function::kWaitForVolumeAttachmentMeta}) {
    add(function, [](CallInputs&) {});
  }
  // Malformed inputs, as text: each must fail (or pass) the same way.
  for (const char* text : {"", "not json", "[1]", "\"a string\"", "{\"provisioner\":", "null",
                           "{\"provisioner\":\"ebs.csi.aws.com\",\"parameters\":[]}"}) {
    calls.push_back({Function::kIsStorageClassValid, {}, {{"STORAGE_CLASS_JSON", text}}});
    calls.push_back({Function::kGetStorageClassAllowedTopology, {}, {{"NODE_JSON", text}}});
  }
  return calls;
}

void ExpectSameAnswers(const std::string& provisioner) {
  const auto v1 = LoadFrom(DriversDir().parent_path() / "drivers-v1", provisioner);
  const auto v2 = LoadFrom(DriversDir(), provisioner);
  LoadOptions preinitializing;
  preinitializing.preinitialize = true;
  const auto snapshot = LoadFrom(DriversDir(), provisioner, preinitializing);
  ASSERT_NE(v1, nullptr);
  ASSERT_NE(v2, nullptr);
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(v1->abi(), Abi::kV1);
  EXPECT_EQ(v2->abi(), Abi::kV2);
  EXPECT_TRUE(snapshot->preinit().preinitialized) << snapshot->preinit().not_preinitialized;
  int compared = 0;
  for (const Call& call : AllCalls()) {
    const std::string what = std::string(SpecOf(call.function).name) + " " +
                             (call.inputs.storage_class ? call.inputs.storage_class->dump() : "") +
                             (call.extra.empty() ? "" : call.extra[0].second);
    CallOptions options;
    options.extra_env = call.extra;
    const Outcome a = v1->Call(call.function, call.inputs, options);
    for (const Driver* driver : {v2.get(), snapshot.get()}) {
      const Outcome b = driver->Call(call.function, call.inputs, options);
      const std::string which = driver == v2.get() ? "v2: " : "v2 snapshot: ";
      EXPECT_EQ(OutcomeName(b.kind), OutcomeName(a.kind)) << which << what;
      EXPECT_EQ(ErrorCauseName(b.cause), ErrorCauseName(a.cause)) << which << what;
      EXPECT_EQ(b.reason, a.reason) << which << what;
      EXPECT_EQ(b.result, a.result) << which << what;
      EXPECT_EQ(b.warnings, a.warnings) << which << what;
    }
    ++compared;
  }
  EXPECT_GT(compared, 50);
}

TEST(AbiV2Test, GoDriverAnswersTheSameUnderBothAbisAndFromItsSnapshot) {
  ExpectSameAnswers("ebs.csi.aws.com");
}

TEST(AbiV2Test, CppDriverAnswersTheSameUnderBothAbisAndFromItsSnapshot) {
  ExpectSameAnswers("pd.csi.storage.gke.io");
}

// The marker must be what the ABI says: a function without parameters and
// results. Anything else of that name is refused at load, saying why.
TEST(AbiV2Test, AMarkerThatIsNotANullaryFunctionIsALoadError) {
  const auto folder = std::filesystem::temp_directory_path() /
                      ("discoblocks-abi-marker-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(testing::HostileDir() / "bad_abi_marker.wasm", folder / "main.wasm",
                             std::filesystem::copy_options::overwrite_existing);
  auto driver = Driver::Load(SharedEngine(), "bad.example.com", folder);
  std::filesystem::remove_all(folder);
  ASSERT_FALSE(driver.ok());
  EXPECT_NE(driver.error().message.find(
                "discoblocks_abi_v2 must be a function without parameters and results"),
            std::string::npos)
      << driver.error().message;
}

}  // namespace
}  // namespace discoblocks::drivers
