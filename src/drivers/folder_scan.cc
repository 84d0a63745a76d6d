#include "drivers/folder_scan.h"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "drivers/driver.h"
#include "drivers/manifest.h"

namespace discoblocks::drivers {

FileStamp StampOf(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return {};
  constexpr std::int64_t kNanos = 1'000'000'000;
  return FileStamp{true,
                   static_cast<std::uint64_t>(info.st_dev),
                   static_cast<std::uint64_t>(info.st_ino),
                   static_cast<std::int64_t>(info.st_size),
                   static_cast<std::int64_t>(info.st_mtim.tv_sec) * kNanos + info.st_mtim.tv_nsec,
                   static_cast<std::int64_t>(info.st_ctim.tv_sec) * kNanos + info.st_ctim.tv_nsec};
}

Result<std::vector<ScannedFolder>> ScanDriversDirectory(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    if (!std::filesystem::exists(directory, ec)) {
      return MakeError(fmt::format("drivers directory {} does not exist", directory.string()));
    }
    return MakeError(fmt::format("drivers directory {} is not a directory", directory.string()));
  }
  std::filesystem::directory_iterator it(directory, ec);
  if (ec) {
    return MakeError(
        fmt::format("cannot read drivers directory {}: {}", directory.string(), ec.message()));
  }
  std::vector<ScannedFolder> folders;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& item = *it;
    // Kubernetes volumes keep their data in hidden "..data" folders; the visible
    // names are symlinks into them.
    const std::string name = item.path().filename().string();
    if (name.starts_with(".") || !item.is_directory(ec)) continue;
    folders.push_back({name,
                       item.path(),
                       {StampOf(item.path() / kModuleFile), StampOf(item.path() / kManifestFile)}});
  }
  if (ec) {
    return MakeError(
        fmt::format("cannot read drivers directory {}: {}", directory.string(), ec.message()));
  }
  std::sort(folders.begin(), folders.end(), [](const ScannedFolder& a, const ScannedFolder& b) {
    return a.provisioner < b.provisioner;
  });
  return folders;
}

}  // namespace discoblocks::drivers
