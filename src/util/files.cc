#include "util/files.h"

#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace discoblocks {

Result<std::string> ReadFile(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return MakeError(fmt::format("cannot read {}: {}", path.string(), ec.message()));
  if (std::filesystem::is_directory(status)) {
    return MakeError(fmt::format("cannot read {}: is a directory", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(fmt::format("cannot read {}: {}", path.string(),
                                 std::error_code(errno, std::generic_category()).message()));
  }
  std::string data;
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  std::string chunk(kChunk, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(kChunk));
    data.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return MakeError(
          fmt::format("cannot read {}: larger than the {} byte limit", path.string(), max_bytes));
    }
  }
  if (in.bad()) {
    return MakeError(fmt::format("cannot read {}: {}", path.string(),
                                 std::error_code(errno, std::generic_category()).message()));
  }
  return data;
}

}  // namespace discoblocks
