// The registry loads what it can, reports the rest, and never stops for a bad module.
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/registry.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::DriversDir;
using testing::HostileDir;
using testing::SharedEngine;
using testing::TempDir;

std::unique_ptr<Registry> LoadFrom(const std::filesystem::path& directory) {
  RegistryOptions options;
  options.directory = directory;
  return Registry::Load(SharedEngine(), options);
}

TEST(RegistryTest, LoadsGoodModulesAndReportsSkippedAndFailedOnes) {
  TempDir dir;
  dir.CopyDriver("good.example.com", DriversDir() / "pd.csi.storage.gke.io" / "main.wasm");
  dir.CopyDriver("unknown-import.example.com", HostileDir() / "unknown_import.wasm");
  dir.AddDriver("not-wasm.example.com", "#!/bin/sh\necho true\n");
  dir.AddDriver("empty.example.com", "");
  const std::string good = testing::ReadBytes(HostileDir() / "scripted.wasm");
  dir.AddDriver("truncated.example.com", good.substr(0, good.size() - 7));
  std::filesystem::create_directories(dir.path() / "no-module.example.com");
  std::ofstream(dir.path() / "README.txt") << "not a folder, ignored";

  auto registry = LoadFrom(dir.path());
  EXPECT_FALSE(registry->directory_error());
  const auto entries = registry->Entries();
  ASSERT_EQ(entries.size(), 6U);  // README.txt is ignored
  auto state = [&](const std::string& name) {
    auto entry = registry->Entry(name);
    return entry ? std::string(DriverStateName(entry->state)) : "absent";
  };
  auto reason = [&](const std::string& name) { return registry->Entry(name)->reason; };
  EXPECT_EQ(state("good.example.com"), "loaded");
  EXPECT_EQ(state("no-module.example.com"), "skipped");
  EXPECT_NE(reason("no-module.example.com").find("no main.wasm"), std::string::npos);
  EXPECT_EQ(state("unknown-import.example.com"), "failed");
  EXPECT_NE(reason("unknown-import.example.com").find("launch_missiles"), std::string::npos);
  EXPECT_EQ(state("not-wasm.example.com"), "failed");
  EXPECT_NE(reason("not-wasm.example.com").find("does not compile"), std::string::npos);
  EXPECT_EQ(state("empty.example.com"), "failed");
  EXPECT_NE(reason("empty.example.com").find("empty"), std::string::npos);
  EXPECT_EQ(state("truncated.example.com"), "failed");
  EXPECT_EQ(state("README.txt"), "absent");

  // Entries come sorted by provisioner.
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.provisioner < b.provisioner;
  }));
  // The good driver still answers.
  CallInputs inputs;
  inputs.storage_class = testing::Fixture("storageclasses/gke-pd-balanced.yaml");
  EXPECT_EQ(registry->Call("good.example.com", Function::kIsStorageClassValid, inputs).kind,
            OutcomeKind::kValid);
}

// Compiling takes time and memory in proportion to the bytes: a module above
// the limit is refused before it is read, naming its size and the limit.
TEST(RegistryTest, AModuleAboveTheMaximumSizeIsRefusedNamingSizeAndLimit) {
  TempDir dir;
  dir.AddDriver("huge.example.com", "");
  // Sparse: 65 MiB long without 65 MiB written.
  std::filesystem::resize_file(dir.path() / "huge.example.com" / "main.wasm",
                               std::uintmax_t{65} << 20);
  dir.CopyDriver("small.example.com", DriversDir() / "pd.csi.storage.gke.io" / "main.wasm");
  const auto small_size =
      std::filesystem::file_size(dir.path() / "small.example.com" / "main.wasm");

  auto registry = LoadFrom(dir.path());
  auto huge = registry->Entry("huge.example.com");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->state, DriverState::kFailed);
  EXPECT_NE(huge->reason.find("the module is 65.0 MiB (68157440 bytes), above the maximum module "
                              "size of 64Mi"),
            std::string::npos)
      << huge->reason;
  EXPECT_EQ(registry->Entry("small.example.com")->state, DriverState::kLoaded);

  RegistryOptions options;
  options.directory = dir.path();
  options.max_module_bytes = small_size - 1;
  auto strict = Registry::Load(SharedEngine(), options);
  const auto small = strict->Entry("small.example.com");
  EXPECT_EQ(small->state, DriverState::kFailed);
  EXPECT_NE(small->reason.find(fmt::format("above the maximum module size of {}", small_size - 1)),
            std::string::npos)
      << small->reason;
}

TEST(RegistryTest, CallingAFailedDriverSaysWhyThereIsNone) {
  TempDir dir;
  dir.AddDriver("broken.example.com", "garbage");
  auto registry = LoadFrom(dir.path());
  const Outcome outcome = registry->Call("broken.example.com", Function::kIsFileSystemManaged, {});
  EXPECT_EQ(outcome.cause, ErrorCause::kNoDriver);
  EXPECT_NE(outcome.reason.find("no driver for broken.example.com (failed: "), std::string::npos)
      << outcome.reason;
}

TEST(RegistryTest, MissingDirectoryIsReportedNotFatal) {
  auto registry = LoadFrom("/nonexistent/discoblocks/drivers");
  ASSERT_TRUE(registry->directory_error());
  EXPECT_EQ(*registry->directory_error(),
            "drivers directory /nonexistent/discoblocks/drivers does not exist");
  EXPECT_TRUE(registry->Entries().empty());
  EXPECT_EQ(registry->Call("x", Function::kIsFileSystemManaged, {}).reason, "no driver for x");
}

TEST(RegistryTest, FileInsteadOfDirectoryIsReported) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto registry = LoadFrom(dir.path() / "file");
  ASSERT_TRUE(registry->directory_error());
  EXPECT_NE(registry->directory_error()->find("is not a directory"), std::string::npos);
}

TEST(RegistryTest, OnlyLoadsTheRequestedFolder) {
  RegistryOptions options;
  options.directory = DriversDir();
  options.only = "csi.storageos.com";
  auto registry = Registry::Load(SharedEngine(), options);
  ASSERT_EQ(registry->Entries().size(), 1U);
  EXPECT_NE(registry->Find("csi.storageos.com"), nullptr);
  EXPECT_EQ(registry->Find("ebs.csi.aws.com"), nullptr);
}

TEST(RegistryTest, LoadedDriverRecordsItsIdentity) {
  const auto driver = testing::BundledDrivers().Find("pd.csi.storage.gke.io");
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->sha256().size(), 64U);
  EXPECT_EQ(driver->size_bytes(),
            std::filesystem::file_size(DriversDir() / "pd.csi.storage.gke.io" / "main.wasm"));
  EXPECT_GT(driver->module_info().compile_time.count(), 0);
  EXPECT_EQ(driver->module_info().initializer, wasm::InitializerKind::kInitialize);
}

TEST(RegistryTest, DriversDirComesFromFlagThenEnvironmentThenDefault) {
  ::setenv("DISCOBLOCKS_DRIVERS_DIR", "/from/env", 1);
  EXPECT_EQ(ResolveDriversDir(std::string("/from/flag")), "/from/flag");
  EXPECT_EQ(ResolveDriversDir(std::nullopt), "/from/env");
  ::unsetenv("DISCOBLOCKS_DRIVERS_DIR");
  EXPECT_EQ(ResolveDriversDir(std::nullopt), "/drivers");
}

TEST(RegistryTest, ACallKeepsItsDriverVersionAliveAfterTheRegistryIsGone) {
  std::shared_ptr<const Driver> held;
  {
    RegistryOptions options;
    options.directory = DriversDir();
    options.only = "pd.csi.storage.gke.io";
    auto registry = Registry::Load(SharedEngine(), options);
    held = registry->Find("pd.csi.storage.gke.io");
  }
  ASSERT_NE(held, nullptr);
  auto outcome = held->Call(Function::kGetCSIDriverNamespace, {});
  EXPECT_EQ(outcome.result, "kube-system");
}

}  // namespace
}  // namespace discoblocks::drivers
