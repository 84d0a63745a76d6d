// The logic of the driver.longhorn.io driver (Longhorn CSI), as pure functions
// of typed inputs so that it can be unit-tested on the host; main.cc exports
// them. Behaviour, and the upstream documents each rule comes from: README.md
// next to this file.
#ifndef DISCOBLOCKS_DRIVERS_LONGHORN_H
#define DISCOBLOCKS_DRIVERS_LONGHORN_H

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "discoblocks/driver.h"

namespace longhorn {

namespace sdk = discoblocks::driver;

// Longhorn's own bounds on a volume's replica count.
inline constexpr int kMinReplicas = 1;
inline constexpr int kMaxReplicas = 20;
// Kubernetes object names (a PV's, which Longhorn uses as the volume name) are
// at most 253 bytes.
inline constexpr std::size_t kMaxVolumeName = 253;

inline bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (const std::string_view a : allowed) {
    if (value == a) return true;
  }
  return false;
}

// A decimal number without sign or leading garbage, or -1.
inline long Number(std::string_view text) {
  if (text.empty() || text.size() > 9) return -1;
  long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

inline sdk::Result IsStorageClassValid(const sdk::StorageClass& sc) {
  // Types first, so that a malformed class is an error, never "invalid".
  if (!sc.volume_binding_mode.mismatch.empty()) return sdk::Fail(sc.volume_binding_mode.mismatch);
  if (!sc.allow_volume_expansion.mismatch.empty()) {
    return sdk::Fail(sc.allow_volume_expansion.mismatch);
  }
  if (!sc.parameters.mismatch.empty()) return sdk::Fail(sc.parameters.mismatch);
  const sdk::StringMap parameters = sc.parameters.value_or({});
  auto param = [&](const char* name) -> const std::string* {
    const auto it = parameters.find(name);
    return it == parameters.end() ? nullptr : &it->second;
  };

  // Longhorn's default is 3 replicas (a global setting) when the class says nothing.
  long replicas = -1;
  if (const std::string* text = param("numberOfReplicas")) {
    replicas = Number(*text);
    if (replicas < kMinReplicas || replicas > kMaxReplicas) {
      return sdk::Bool(false, "parameters.numberOfReplicas must be a number from 1 to 20");
    }
  }
  if (const std::string* text = param("staleReplicaTimeout"); text && Number(*text) < 0) {
    return sdk::Bool(false, "parameters.staleReplicaTimeout must be a number of minutes");
  }
  if (const std::string* locality = param("dataLocality")) {
    if (!OneOf(*locality, {"disabled", "best-effort", "strict-local"})) {
      return sdk::Bool(false,
                       "parameters.dataLocality must be disabled, best-effort or strict-local");
    }
    // strict-local keeps the only replica on the volume's node.
    if (*locality == "strict-local" && replicas != 1) {
      return sdk::Bool(false, "parameters.dataLocality strict-local needs numberOfReplicas \"1\"");
    }
  }
  for (const char* name : {"fsType", "csi.storage.k8s.io/fstype"}) {
    if (const std::string* fs = param(name); fs && !OneOf(*fs, {"ext4", "xfs"})) {
      return sdk::Bool(false, std::string("parameters.") + name + " must be ext4 or xfs");
    }
  }
  if (const std::string* engine = param("dataEngine"); engine && !OneOf(*engine, {"v1", "v2"})) {
    return sdk::Bool(false, "parameters.dataEngine must be v1 or v2");
  }
  // An encrypted volume is used through the dm-crypt device Longhorn opens on
  // top of /dev/longhorn/<name>, which the device lookup does not know.
  if (const std::string* encrypted = param("encrypted"); encrypted && *encrypted == "true") {
    return sdk::Bool(false, "parameters.encrypted true is not supported");
  }
  // Longhorn volumes attach on any node, so both binding modes work; only
  // expansion is required, since growing disks is the point of Discoblocks.
  if (!sc.allow_volume_expansion.value_or(false)) {
    return sdk::Bool(false, "only allowVolumeExpansion true is supported");
  }
  return sdk::Bool(true);
}

// No topology: the Longhorn CSI driver reports none, a volume's engine serves it
// over the network to whichever node it is attached to.
inline sdk::Result AllowedTopology(const sdk::Node& /*node*/) { return sdk::Nothing(); }

inline sdk::Result Namespace() { return sdk::Text("longhorn-system"); }

// The CSI node plugin's DaemonSet, which longhorn-manager deploys.
inline sdk::Result PodLabels() { return sdk::Labels({{"app", "longhorn-csi-plugin"}}); }

inline bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// The engine of an attached volume exposes it as /dev/longhorn/<volume name>,
// and the volume handle is that name.
inline sdk::Result DeviceAssignment(const sdk::PersistentVolume& pv) {
  const auto& handle = pv.volume_handle;
  if (!handle.mismatch.empty()) return sdk::Fail(handle.mismatch);
  if (!handle || handle->empty()) return sdk::Fail("spec.csi.volumeHandle not found");
  const std::string& name = *handle;
  // The name ends up in a shell command run as root on the node.
  bool ok = name.size() <= kMaxVolumeName && name != "." && name != "..";
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = IsNameChar(name[i]);
  if (!ok || name.front() == '-' || name.front() == '.') {
    return sdk::Fail(std::string(sdk::kPersistentVolumeVar) + ": spec.csi.volumeHandle " +
                     sdk::Quote(name) + " is not a Longhorn volume name");
  }
  const std::string path = "/dev/longhorn/" + name;
  return sdk::Text("DEV=" + path + " &&\n{ [ -b \"$DEV\" ] || { echo \"no Longhorn device " + path +
                   " (is the volume attached to this node?)\" >&2; false; }; }");
}

// Formats only a device without a file system signature: the mount job also runs
// for volumes that hold data. No trailing newline: the host appends " && ".
inline sdk::Result PreMountCommand(const sdk::VolumeInputs& in) {
  sdk::Result result = DeviceAssignment(in.pv);
  if (result.err.empty()) {
    result.out += " &&\n{ blkid -p \"$DEV\" >/dev/null 2>&1 || mkfs.${FS} \"$DEV\" || true; }";
  }
  return result;
}

inline sdk::Result PreResizeCommand(const sdk::VolumeInputs& in) { return DeviceAssignment(in.pv); }

// Longhorn expands ext4 and xfs file systems itself after growing the volume.
inline sdk::Result FileSystemManaged() { return sdk::Bool(true); }

// The device is found by the volume's name: no attachment metadata to wait for.
inline sdk::Result AttachmentMetaKey() { return sdk::Nothing(); }

}  // namespace longhorn

#endif  // DISCOBLOCKS_DRIVERS_LONGHORN_H
