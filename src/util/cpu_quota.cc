#include "util/cpu_quota.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace discoblocks {
namespace {

std::optional<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text;
  // cpu.max and /proc/self/cgroup are a line or a few; anything longer is not
  // one of them.
  text.resize(4096);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::optional<long long> ParsePositive(std::string_view text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

}  // namespace

std::optional<double> ParseCpuMax(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const auto space = text.find(' ');
  const std::string_view quota = text.substr(0, space);
  // The period is optional in what the kernel accepts, and 100000 by default.
  const std::string_view period =
      space == std::string_view::npos ? std::string_view("100000") : text.substr(space + 1);
  const auto quota_us = ParsePositive(quota);
  const auto period_us = ParsePositive(period);
  if (!quota_us || !period_us) return std::nullopt;  // "max", or not a quota
  return static_cast<double>(*quota_us) / static_cast<double>(*period_us);
}

std::optional<double> CgroupCpuLimit(const std::filesystem::path& proc_self_cgroup,
                                     const std::filesystem::path& cgroup_root) {
  const auto membership = ReadSmallFile(proc_self_cgroup);
  if (!membership) return std::nullopt;
  // cgroup v2 has one line, "0::/path"; v1 lines name their controllers.
  std::istringstream lines(*membership);
  std::string line;
  std::optional<std::filesystem::path> own;
  while (std::getline(lines, line)) {
    if (line.rfind("0::", 0) == 0) own = std::filesystem::path(line.substr(3)).relative_path();
  }
  if (!own) return std::nullopt;
  // A parent's quota bounds its children too, so the tightest one counts.
  std::optional<double> limit;
  for (std::filesystem::path dir = *own;; dir = dir.parent_path()) {
    if (const auto text = ReadSmallFile(cgroup_root / dir / "cpu.max")) {
      if (const auto cpus = ParseCpuMax(*text)) limit = std::min(limit.value_or(*cpus), *cpus);
    }
    if (dir.empty() || dir == dir.parent_path()) break;
  }
  return limit;
}

unsigned UsableCpus(std::optional<double> cgroup_limit) {
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  if (!cgroup_limit) return cores;
  const double rounded = std::ceil(*cgroup_limit);
  if (!(rounded >= 1)) return 1;  // also NaN
  if (rounded >= static_cast<double>(cores)) return cores;
  return static_cast<unsigned>(rounded);
}

}  // namespace discoblocks
