// What the drivers directory holds right now, and a fingerprint of each folder's
// files to tell when they change. Internal to src/drivers/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace discoblocks::drivers {

// Identity and last change of one file, following symlinks (a Kubernetes volume
// swaps a symlink, which changes the inode it resolves to).
struct FileStamp {
  bool exists = false;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t modified_ns = 0;
  std::int64_t changed_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::filesystem::path& path);

struct FolderStamp {
  FileStamp module;    // main.wasm
  FileStamp manifest;  // driver.yaml
  bool operator==(const FolderStamp&) const = default;
};

struct ScannedFolder {
  std::string provisioner;  // the folder name
  std::filesystem::path path;
  FolderStamp stamp;
};

// The provisioner folders, sorted by name; entries that are not folders are
// ignored. An error when the directory is missing, not a directory or unreadable.
Result<std::vector<ScannedFolder>> ScanDriversDirectory(const std::filesystem::path& directory);

}  // namespace discoblocks::drivers
