#include "admission/mount_points.h"

#include <fmt/format.h>

namespace discoblocks::admission {
namespace {

constexpr std::string_view kPlaceholder = "%d";

}  // namespace

std::string DefaultMountPointPattern(std::string_view config_name) {
  return fmt::format("/media/discoblocks/{}-%d", config_name);
}

std::string RenderMountPoint(std::string_view pattern, std::string_view config_name, int index) {
  std::string rendered =
      pattern.empty() ? DefaultMountPointPattern(config_name) : std::string(pattern);
  const auto at = rendered.find(kPlaceholder);
  if (at != std::string::npos) {
    // Only `%d` is replaced: the pattern may hold other '%' characters, which
    // are part of the path (printf would have mangled them).
    return rendered.replace(at, kPlaceholder.size(), std::to_string(index));
  }
  return index == 0 ? rendered : fmt::format("{}-{}", rendered, index);
}

std::optional<int> MountPointIndex(std::string_view pattern, std::string_view config_name,
                                   std::string_view mount_point) {
  // Rendering is cheap and is the definition; parsing the path instead would
  // have to repeat its rules and could disagree with them.
  for (int index = 0; index < kMaxDisks; ++index) {
    if (RenderMountPoint(pattern, config_name, index) == mount_point) return index;
  }
  return std::nullopt;
}

}  // namespace discoblocks::admission
