// A call's input reaches the function on stdin (ABI v2), in as many reads as it
// takes, and only the function: the initializer reads an empty stdin. Reads the
// host must refuse leave the input where it was.
#include <string>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "wasm/module.h"

namespace discoblocks::wasm {
namespace {

using testing::HostileDir;
using testing::ReadBytes;
using testing::SharedEngine;

std::shared_ptr<const Module> StdinReader() {
  auto module = Module::Compile(SharedEngine(), ReadBytes(HostileDir() / "stdin_reader.wasm"));
  EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().message);
  return module.ok() ? module.value() : nullptr;
}

RunResult RunWithInput(const Module& module, std::string export_name, std::string input) {
  RunRequest request;
  request.program_name = "test";
  request.export_name = std::move(export_name);
  request.input = std::move(input);
  return module.Run(request);
}

TEST(CallInputTest, FunctionReadsTheWholeInputAcrossManyReads) {
  auto module = StdinReader();
  ASSERT_NE(module, nullptr);
  std::string input = R"({"STORAGE_CLASS_JSON":{"provisioner":"x"}})";
  for (int i = 0; i < 500; ++i) input += static_cast<char>('a' + i % 26);
  const RunResult result = RunWithInput(*module, "Echo", input);
  ASSERT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, input);
  EXPECT_EQ(result.stderr_data, "0") << "the initializer must read an empty stdin";
}

TEST(CallInputTest, NoInputReadsEndOfFileAtOnce) {
  auto module = StdinReader();
  ASSERT_NE(module, nullptr);
  const RunResult result = RunWithInput(*module, "Echo", "");
  ASSERT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "");
}

TEST(CallInputTest, OtherDescriptorsAreNotReadable) {
  auto module = StdinReader();
  ASSERT_NE(module, nullptr);
  const RunResult result = RunWithInput(*module, "ReadOtherFd", "input");
  ASSERT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "8");  // EBADF
}

TEST(CallInputTest, BufferOutsideMemoryFaultsAndConsumesNothing) {
  auto module = StdinReader();
  ASSERT_NE(module, nullptr);
  const RunResult result = RunWithInput(*module, "ReadBadBuffer", "all of it");
  ASSERT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "219all of it");  // EFAULT (21), then the input whole
}

TEST(CallInputTest, EachCallReadsItsOwnInput) {
  auto module = StdinReader();
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(RunWithInput(*module, "Echo", "first").stdout_data, "first");
  EXPECT_EQ(RunWithInput(*module, "Echo", "second").stdout_data, "second");
}

}  // namespace
}  // namespace discoblocks::wasm
