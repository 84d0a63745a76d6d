// Small helpers shared by the benchmarks.
#pragma once

#include <fstream>
#include <string>

namespace discoblocks::bench {

// Resident set size of this process in MiB, from /proc/self/status.
inline double ResidentMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

}  // namespace discoblocks::bench
