#include "util/failpoint.h"

#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace discoblocks {

void Failpoint(std::string_view name) {
  static const std::string armed = [] {
    // Read once, at the first failpoint reached; nothing sets it meanwhile.
    const char* value = std::getenv("DISCOBLOCKS_FAILPOINT");  // NOLINT(concurrency-mt-unsafe)
    return value != nullptr ? std::string(value) : std::string();
  }();
  if (armed.empty() || armed != name) return;
  spdlog::critical("failpoint {}: exiting as a crash would", name);
  spdlog::default_logger()->flush();
  std::_Exit(137);
}

}  // namespace discoblocks
