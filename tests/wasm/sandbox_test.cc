// Every way a driver can misbehave ends in the right error, within its limit,
// and the engine keeps serving normal calls afterwards.
#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "wasm/module.h"

namespace discoblocks::wasm {
namespace {

using std::chrono::milliseconds;
using testing::HostileDir;
using testing::ReadBytes;
using testing::SharedEngine;

std::shared_ptr<const Module> CompileHostile(const std::string& name) {
  auto module = Module::Compile(SharedEngine(), ReadBytes(HostileDir() / (name + ".wasm")));
  EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().message);
  return module.ok() ? module.value() : nullptr;
}

RunRequest Request(std::string export_name = "IsStorageClassValid") {
  RunRequest request;
  request.program_name = "test";
  request.export_name = std::move(export_name);
  request.limits.time = milliseconds(300);
  request.limits.memory_bytes = 16ULL << 20;
  request.limits.stdout_bytes = 64ULL << 10;
  request.limits.stderr_bytes = 8ULL << 10;
  return request;
}

// A well-behaved call: the scripted module echoes OUT to stdout.
void ExpectNormalCallStillWorks() {
  auto module = CompileHostile("scripted");
  ASSERT_NE(module, nullptr);
  RunRequest request = Request();
  request.env = {{"OUT", "true"}};
  const RunResult result = module->Run(request);
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "true");
}

// Containment bound, not a speed assertion: a breach must end near its limit,
// never after the hour a hostile module asks for. Generous for sanitizer builds.
constexpr auto kContainmentSlack = std::chrono::seconds(5);

struct HostileCase {
  std::string module;
  RunStatus status;
  bool in_initializer;
  std::string detail_contains;
};

void PrintTo(const HostileCase& c, std::ostream* out) { *out << c.module; }

class HostileModuleTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileModuleTest, EndsInTheRightErrorWithinTheLimit) {
  const HostileCase& param = GetParam();
  auto module = CompileHostile(param.module);
  ASSERT_NE(module, nullptr);
  const RunRequest request = Request();
  const RunResult result = module->Run(request);
  EXPECT_EQ(RunStatusName(result.status), RunStatusName(param.status)) << result.detail;
  EXPECT_EQ(result.in_initializer, param.in_initializer);
  EXPECT_NE(result.detail.find(param.detail_contains), std::string::npos) << result.detail;
  EXPECT_LT(result.elapsed, request.limits.time + kContainmentSlack);
  ExpectNormalCallStillWorks();
}

INSTANTIATE_TEST_SUITE_P(
    Sandbox, HostileModuleTest,
    ::testing::Values(
        HostileCase{"loop_in_function", RunStatus::kTimeLimit, false, "time limit of 300 ms"},
        HostileCase{"loop_in_initializer", RunStatus::kTimeLimit, true, "time limit of 300 ms"},
        HostileCase{"long_sleep", RunStatus::kTimeLimit, false, "time limit of 300 ms"},
        HostileCase{"memory_growth", RunStatus::kMemoryLimit, false, "memory limit of 16 MiB"},
        HostileCase{"huge_initial_memory", RunStatus::kMemoryLimit, false,
                    "initial memory of 187 MiB is above the memory limit of 16 MiB"},
        HostileCase{"stdout_flood", RunStatus::kOutputLimit, false, "stdout limit of 65536 bytes"},
        HostileCase{"stderr_flood", RunStatus::kOutputLimit, false, "stderr limit of 8192 bytes"},
        HostileCase{"nonzero_exit", RunStatus::kExit, false, "exited with code 3"},
        HostileCase{"trap", RunStatus::kTrap, false, "trapped: wasm trap: wasm `unreachable`"},
        HostileCase{"recursion", RunStatus::kStackOverflow, false, "stack overflow"},
        HostileCase{"missing_export", RunStatus::kMissingExport, false, "IsStorageClassValid"},
        HostileCase{"wrong_signature", RunStatus::kMissingExport, false,
                    "exports IsStorageClassValid, but not as a function without parameters"}),
    [](const auto& test_info) { return test_info.param.module; });

TEST(SandboxTest, OutputIsCappedAtTheLimit) {
  auto module = CompileHostile("stdout_flood");
  ASSERT_NE(module, nullptr);
  const RunRequest request = Request();
  const RunResult result = module->Run(request);
  EXPECT_EQ(result.stdout_data.size(), request.limits.stdout_bytes);
}

TEST(SandboxTest, WritesOutsideStdoutStderrOrMemoryAreRefusedCleanly) {
  auto module = CompileHostile("bad_writes");
  ASSERT_NE(module, nullptr);
  const RunResult result = module->Run(Request());
  ASSERT_EQ(result.status, RunStatus::kOk) << result.detail;
  // EBADF for fd 3, EFAULT for an iovec array or a buffer outside memory; nothing
  // of the bad writes reaches the output.
  EXPECT_EQ(result.stdout_data, "08 21 21\n");
  ExpectNormalCallStillWorks();
}

TEST(SandboxTest, NonZeroExitKeepsStderrAndCode) {
  auto module = CompileHostile("nonzero_exit");
  ASSERT_NE(module, nullptr);
  const RunResult result = module->Run(Request());
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.stderr_data, "driver broke");
}

TEST(SandboxTest, OnlyTheGivenEnvironmentIsVisible) {
  // The scripted module copies OUT and ERR; anything inherited would not be named
  // OUT, so set a process variable of that name and check it does not leak.
  ::setenv("ERR", "leaked from the host", 1);
  auto module = CompileHostile("scripted");
  ASSERT_NE(module, nullptr);
  RunRequest request = Request();
  request.env = {{"OUT", "false"}};
  const RunResult result = module->Run(request);
  ::unsetenv("ERR");
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "false");
  EXPECT_EQ(result.stderr_data, "");
}

TEST(SandboxTest, StartEndingInProcExitZeroIsANormalInitializer) {
  auto module = CompileHostile("scripted");
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(module->info().initializer, InitializerKind::kStart);
  RunRequest request = Request("GetCSIDriverNamespace");
  request.env = {{"OUT", "kube-system"}, {"ERR", "a warning"}};
  const RunResult result = module->Run(request);
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "kube-system");
  EXPECT_EQ(result.stderr_data, "a warning");
}

TEST(SandboxTest, EachCallGetsAFreshInstance) {
  // memory_growth grows memory until refused; if instances were reused, the
  // second call would start at the cap and fail differently (or at once).
  auto module = CompileHostile("memory_growth");
  ASSERT_NE(module, nullptr);
  const RunResult first = module->Run(Request());
  const RunResult second = module->Run(Request());
  EXPECT_EQ(first.status, RunStatus::kMemoryLimit);
  EXPECT_EQ(second.status, RunStatus::kMemoryLimit);
  EXPECT_EQ(first.detail, second.detail);
}

TEST(SandboxTest, LimitsOfAnySizeDoNotOverflow) {
  // Runs past a few epoch ticks, where the deadline is checked.
  auto module = CompileHostile("bounded_loop");
  ASSERT_NE(module, nullptr);
  RunRequest request = Request();
  // The deadline is the start plus the limit: with the largest limit that sum
  // overflowed (to a millisecond before the start), and the call was stopped
  // at the first tick with "time limit exceeded".
  request.limits.time = milliseconds::max();
  request.limits.memory_bytes = UINT64_MAX;
  const RunResult result = module->Run(request);
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
}

TEST(CompileTest, UnknownImportIsRefusedWithItsName) {
  auto module = Module::Compile(SharedEngine(), ReadBytes(HostileDir() / "unknown_import.wasm"));
  ASSERT_FALSE(module.ok());
  EXPECT_NE(module.error().message.find("does not link"), std::string::npos)
      << module.error().message;
  EXPECT_NE(module.error().message.find("launch_missiles"), std::string::npos)
      << module.error().message;
}

TEST(CompileTest, BytesThatAreNotWebAssemblyAreRefused) {
  auto module = Module::Compile(SharedEngine(), "#!/bin/sh\necho true\n");
  ASSERT_FALSE(module.ok());
  EXPECT_NE(module.error().message.find("does not compile"), std::string::npos)
      << module.error().message;
}

TEST(CompileTest, EmptyBytesAreRefused) {
  auto module = Module::Compile(SharedEngine(), "");
  ASSERT_FALSE(module.ok());
  EXPECT_NE(module.error().message.find("empty"), std::string::npos) << module.error().message;
}

TEST(CompileTest, TruncatedModuleIsRefused) {
  const std::string bytes = ReadBytes(HostileDir() / "scripted.wasm");
  auto module = Module::Compile(SharedEngine(), bytes.substr(0, bytes.size() / 2));
  ASSERT_FALSE(module.ok());
  EXPECT_NE(module.error().message.find("does not compile"), std::string::npos)
      << module.error().message;
}

TEST(CompileTest, DescribesImportsExportsAndInitializer) {
  auto module = CompileHostile("nonzero_exit");
  ASSERT_NE(module, nullptr);
  const ModuleInfo& info = module->info();
  EXPECT_EQ(info.initializer, InitializerKind::kInitialize);
  ASSERT_EQ(info.imports.size(), 2U);
  EXPECT_EQ(info.imports[0].module, "wasi_snapshot_preview1");
  EXPECT_EQ(info.imports[0].name, "fd_write");
  EXPECT_EQ(info.imports[0].kind, "func");
  EXPECT_TRUE(module->Exports("IsStorageClassValid"));
  EXPECT_FALSE(module->Exports("GetPVCStub"));
}

}  // namespace
}  // namespace discoblocks::wasm
