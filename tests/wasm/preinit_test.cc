// Pre-initialized modules (preinit.h): a snapshot starts every call in the
// state its initializer left, no call sees another's state whichever reset path
// the pooling allocator takes, the monotonic clock continues from the
// initializer's, and what cannot be snapshotted is refused with its reason.
#include "wasm/preinit.h"

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "wasm/wasm_binary.h"

namespace discoblocks::wasm {
namespace {

using std::chrono::milliseconds;
using testing::DriversDir;
using testing::HostileDir;
using testing::ReadBytes;
using testing::SharedEngine;

Limits TestLimits() {
  Limits limits;
  limits.time = milliseconds(2000);
  limits.memory_bytes = 16ULL << 20;
  limits.stdout_bytes = 64ULL << 10;
  limits.stderr_bytes = 8ULL << 10;
  return limits;
}

RunRequest Call(std::string export_name) {
  RunRequest request;
  request.program_name = "test";
  request.export_name = std::move(export_name);
  request.limits = TestLimits();
  return request;
}

Result<Preinitialized, PreinitError> PreinitHostile(const std::shared_ptr<Engine>& engine,
                                                    const std::string& name,
                                                    const Limits& limits = TestLimits()) {
  return PreInitialize(engine, ReadBytes(HostileDir() / (name + ".wasm")), limits);
}

double Milliseconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

TEST(PreinitTest, SnapshotHoldsTheInitializersStateAndSkipsTheStartFunction) {
  // The probe itself, on the original module (start function and initializer
  // at every call), must find everything clean.
  auto original = Module::Compile(SharedEngine(), ReadBytes(HostileDir() / "isolation.wasm"));
  ASSERT_TRUE(original.ok()) << original.error().message;
  const RunResult control = (*original)->Run(Call("probe"));
  ASSERT_EQ(control.status, RunStatus::kOk) << control.detail;
  ASSERT_EQ(control.stdout_data, "clean\n");

  auto pre = PreinitHostile(SharedEngine(), "isolation");
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  const ModuleInfo& info = pre->module->info();
  EXPECT_TRUE(info.preinitialized);
  EXPECT_EQ(info.initializer, InitializerKind::kNone);
  EXPECT_EQ(info.monotonic_base_ns, pre->extras.monotonic_base_ns);
  EXPECT_EQ(pre->memory_bytes, 3 * binary::kPageBytes);
  EXPECT_EQ(info.initial_memory_bytes, 3 * binary::kPageBytes);
  EXPECT_GE(pre->data_segments, 1U);
  // The initializer slept 20 ms before it read the clock.
  EXPECT_GT(pre->extras.monotonic_base_ns, 20'000'000);
  EXPECT_TRUE(pre->init_stdout.empty());

  auto layout = binary::ParseLayout(pre->wasm);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_FALSE(layout->start.has_value());
  EXPECT_EQ(layout->FindExport("_initialize"), nullptr);
  ASSERT_FALSE(layout->globals.empty());
  // 1 from the start function, times 10 in the initializer; never re-run.
  EXPECT_EQ(layout->globals[0].const_bits, 10U);

  const RunResult result = pre->module->Run(Call("probe"));
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, "clean\n");
}

TEST(PreinitTest, MonotonicClockContinuesFromTheInitializer) {
  auto pre = PreinitHostile(SharedEngine(), "isolation");
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  for (int i = 0; i < 20; ++i) {
    const RunResult result = pre->module->Run(Call("probe"));
    ASSERT_EQ(result.stdout_data, "clean\n") << "call " << i << ": " << result.detail;
  }
  // The same snapshot with the clock starting at 0, as Wasmtime's does in every
  // new WASI context: the call reads a time before the initializer's reading.
  auto restarted = Module::Compile(SharedEngine(), pre->wasm);
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  EXPECT_EQ((*restarted)->Run(Call("probe")).stdout_data, "dirty clock\n");
}

// Many calls on an engine whose pool has 4 slots, so that every slot is reused
// hundreds of times: with nothing kept resident (every page returned to the
// kernel), with 128 KiB kept (part of the 192 KiB memory copied back from the
// image, the rest returned) and with 8 MiB kept (all of it copied back).
class PreinitIsolationTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(PreinitIsolationTest, EveryCallStartsFromTheSnapshot) {
  EngineOptions options;
  options.max_concurrent_instances = 4;
  options.keep_resident_bytes = GetParam();
  auto engine = Engine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  auto pre = PreinitHostile(*engine, "isolation");
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  const RunRequest request = Call("probe");

  for (int i = 0; i < 500; ++i) {
    const RunResult result = pre->module->Run(request);
    ASSERT_EQ(result.stdout_data, "clean\n") << "call " << i << ": " << result.detail;
  }

  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 200;
  std::vector<std::string> first_failure(kThreads);
  std::vector<int> clean(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const RunResult result = pre->module->Run(request);
        if (result.ok() && result.stdout_data == "clean\n") {
          ++clean[t];
        } else if (first_failure[t].empty()) {
          first_failure[t] = std::string(RunStatusName(result.status)) + ": " + result.detail +
                             " / " + result.stdout_data;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(clean[t], kCallsPerThread) << "thread " << t << ": " << first_failure[t];
  }
}

INSTANTIATE_TEST_SUITE_P(KeepResident, PreinitIsolationTest,
                         ::testing::Values(std::size_t{0}, std::size_t{128} << 10,
                                           std::size_t{8} << 20),
                         [](const auto& test_info) {
                           return std::to_string(test_info.param >> 10) + "KiB";
                         });

struct RefusalCase {
  std::string module;
  NoSnapshot reason;
  std::string message_contains;
};

void PrintTo(const RefusalCase& c, std::ostream* out) { *out << c.module; }

class PreinitRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(PreinitRefusalTest, RefusesWithTheReason) {
  const RefusalCase& param = GetParam();
  Limits limits = TestLimits();
  limits.time = milliseconds(300);
  auto pre = PreinitHostile(SharedEngine(), param.module, limits);
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(NoSnapshotName(pre.error().reason), NoSnapshotName(param.reason));
  EXPECT_EQ(pre.error().message.rfind("cannot snapshot: ", 0), 0U) << pre.error().message;
  EXPECT_NE(pre.error().message.find(param.message_contains), std::string::npos)
      << pre.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Preinit, PreinitRefusalTest,
    ::testing::Values(RefusalCase{"init_trap", NoSnapshot::kInitializerFailed,
                                  "_initialize failed (trap)"},
                      RefusalCase{"loop_in_initializer", NoSnapshot::kInitializerFailed,
                                  "time limit of 300 ms exceeded"},
                      RefusalCase{"passive_data", NoSnapshot::kNotSnapshottable, "passive"},
                      RefusalCase{"funcref_global", NoSnapshot::kNotSnapshottable,
                                  "global 0 is a mutable reference"},
                      RefusalCase{"init_table_grow", NoSnapshot::kStateNotCaptured,
                                  "grew table 0 from 1 to 4 elements"},
                      RefusalCase{"scripted", NoSnapshot::kNoInitializer, "no _initialize"}),
    [](const auto& test_info) { return test_info.param.module; });

TEST(PreinitTest, RefusesBytesThatAreNotAModule) {
  auto pre = PreInitialize(SharedEngine(), "not a module", TestLimits());
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.error().reason, NoSnapshot::kInvalidModule);
  EXPECT_NE(pre.error().message.find("not a valid WebAssembly module"), std::string::npos)
      << pre.error().message;
}

TEST(PreinitTest, InitializerFailureKeepsItsRun) {
  auto pre = PreinitHostile(SharedEngine(), "init_trap");
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.error().initializer.status, RunStatus::kTrap);
  EXPECT_TRUE(pre.error().initializer.in_initializer);
}

TEST(PreinitTest, InitializerOutputIsNotReplayedIntoCalls) {
  auto pre = PreinitHostile(SharedEngine(), "init_writes_stdout");
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  EXPECT_EQ(pre->init_stdout, "from init\n");
  for (int i = 0; i < 3; ++i) {
    const RunResult result = pre->module->Run(Call("IsStorageClassValid"));
    EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
    EXPECT_EQ(result.stdout_data, "from call\n");
  }
}

// A Go driver pre-initializes and its snapshot compiles. Its calls are not
// compared here: a v1 Go driver reads its environment in the initializer,
// which the snapshot has already run with none (ABI v2 passes inputs per call).
TEST(PreinitTest, GoDriverPreInitializes) {
  const std::string provisioner = "ebs.csi.aws.com";
  const std::string bytes = ReadBytes(DriversDir() / provisioner / "main.wasm");
  Limits limits;
  limits.time = milliseconds(60000);  // generous for sanitizer builds
  auto pre = PreInitialize(SharedEngine(), bytes, limits);
  ASSERT_TRUE(pre.ok()) << pre.error().message << "\n" << pre.error().initializer.stderr_data;
  EXPECT_TRUE(pre->module->info().preinitialized);
  EXPECT_EQ(pre->module->info().initializer, InitializerKind::kNone);
  EXPECT_GE(pre->data_segments, 1U);
  EXPECT_LE(pre->data_segments, 10000U);
  const RunResult call = pre->module->Run(Call("IsStorageClassValid"));
  std::printf(
      "%s: initializer run %.1f ms, rewrite %.1f ms, two compiles %.1f ms, total %.1f ms; memory "
      "%llu KiB, "
      "%zu data segments, %zu -> %zu bytes; monotonic base %.3f ms; a call: %s in %.3f ms\n",
      provisioner.c_str(), Milliseconds(pre->initializer_time), Milliseconds(pre->rewrite_time),
      Milliseconds(pre->compile_time), Milliseconds(pre->total_time),
      static_cast<unsigned long long>(pre->memory_bytes >> 10), pre->data_segments, bytes.size(),
      pre->wasm.size(), static_cast<double>(pre->extras.monotonic_base_ns) / 1e6,
      std::string(RunStatusName(call.status)).c_str(), Milliseconds(call.elapsed));
}

}  // namespace
}  // namespace discoblocks::wasm
