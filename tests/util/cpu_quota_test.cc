// CPUs from the cgroup v2 quota: the file's syntax, the tightest quota up the
// hierarchy, and what happens without one.
#include "util/cpu_quota.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace discoblocks {
namespace {

TEST(CpuQuotaTest, ParsesCpuMax) {
  EXPECT_EQ(ParseCpuMax("200000 100000\n"), 2.0);
  EXPECT_EQ(ParseCpuMax("150000 100000"), 1.5);
  EXPECT_EQ(ParseCpuMax("50000"), 0.5);
  EXPECT_FALSE(ParseCpuMax("max 100000\n"));
  EXPECT_FALSE(ParseCpuMax("max"));
  EXPECT_FALSE(ParseCpuMax(""));
  EXPECT_FALSE(ParseCpuMax("0 100000"));
  EXPECT_FALSE(ParseCpuMax("-100000 100000"));
  EXPECT_FALSE(ParseCpuMax("100000 0"));
  EXPECT_FALSE(ParseCpuMax("1e5 100000"));
  EXPECT_FALSE(ParseCpuMax("99999999999999999999999999 100000"));
  EXPECT_FALSE(ParseCpuMax("100000 100000 100000"));
}

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(CpuQuotaTest, TakesTheTightestQuotaFromTheOwnCgroupUpToTheRoot) {
  testing::TempDir dir;
  const auto proc = dir.path() / "cgroup";
  const auto root = dir.path() / "fs";
  Write(proc, "0::/kubepods/pod1/container\n");
  Write(root / "kubepods/pod1/container/cpu.max", "400000 100000\n");
  Write(root / "kubepods/pod1/cpu.max", "max 100000\n");
  Write(root / "kubepods/cpu.max", "150000 100000\n");
  EXPECT_EQ(CgroupCpuLimit(proc, root), 1.5);

  Write(root / "kubepods/cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuLimit(proc, root), 4.0);
}

TEST(CpuQuotaTest, NoQuotaWithoutCgroupV2OrWithoutLimits) {
  testing::TempDir dir;
  const auto proc = dir.path() / "cgroup";
  const auto root = dir.path() / "fs";
  EXPECT_FALSE(CgroupCpuLimit(proc, root)) << "no /proc/self/cgroup";
  Write(proc, "4:memory:/a\n1:cpu:/\n");
  EXPECT_FALSE(CgroupCpuLimit(proc, root)) << "cgroup v1 only";
  Write(proc, "0::/\n");
  EXPECT_FALSE(CgroupCpuLimit(proc, root)) << "no cpu.max at all";
  Write(root / "cpu.max", "max 100000\n");
  EXPECT_FALSE(CgroupCpuLimit(proc, root));
}

TEST(CpuQuotaTest, UsableCpusRoundsUpWithinTheMachine) {
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  EXPECT_EQ(UsableCpus(std::nullopt), cores);
  EXPECT_EQ(UsableCpus(0.1), 1U);
  EXPECT_EQ(UsableCpus(1.0), 1U);
  EXPECT_EQ(UsableCpus(1.5), std::min(2U, cores));
  EXPECT_EQ(UsableCpus(1e12), cores);
}

}  // namespace
}  // namespace discoblocks
