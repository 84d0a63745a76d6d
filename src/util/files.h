// Small file-system helpers that report failures as values with the path and
// the operating system's reason.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "util/result.h"

namespace discoblocks {

// Reads a whole file. Refuses files larger than max_bytes, naming the limit, so
// that a mistaken path (a device, a huge log) cannot exhaust memory.
Result<std::string> ReadFile(const std::filesystem::path& path,
                             std::size_t max_bytes = std::size_t{256} << 20);

}  // namespace discoblocks
