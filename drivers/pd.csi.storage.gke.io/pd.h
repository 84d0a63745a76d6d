// The logic of the pd.csi.storage.gke.io driver (GCE Persistent Disk CSI), as
// pure functions of typed inputs so that it can be unit-tested on the host;
// main.cc exports them. Behaviour: README.md next to this file.
#ifndef DISCOBLOCKS_DRIVERS_PD_H
#define DISCOBLOCKS_DRIVERS_PD_H

#include <string>
#include <string_view>

#include "discoblocks/driver.h"

namespace pd {

namespace sdk = discoblocks::driver;

inline constexpr const char* kZoneLabel = "topology.gke.io/zone";
// The PD CSI driver attaches a regional disk under the device name
// "<disk name>_regional" (common.GetDeviceName upstream).
inline constexpr const char* kRegionalDeviceSuffix = "_regional";

inline sdk::Result IsStorageClassValid(const sdk::StorageClass& sc) {
  // Both fields are type-checked before deciding, so a malformed class is always
  // an error, never merely "invalid".
  if (!sc.volume_binding_mode.mismatch.empty()) return sdk::Fail(sc.volume_binding_mode.mismatch);
  if (!sc.allow_volume_expansion.mismatch.empty()) {
    return sdk::Fail(sc.allow_volume_expansion.mismatch);
  }
  // Absent is invalid: the API server defaults it to Immediate.
  if (sc.volume_binding_mode.value_or("") != "WaitForFirstConsumer") {
    return sdk::Bool(false, "only volumeBindingMode WaitForFirstConsumer is supported");
  }
  if (!sc.allow_volume_expansion.value_or(false)) {
    return sdk::Bool(false, "only allowVolumeExpansion true is supported");
  }
  return sdk::Bool(true);
}

inline sdk::Result AllowedTopology(const sdk::Node& node) {
  const auto zone = node.Label(kZoneLabel);
  if (!zone.mismatch.empty()) return sdk::Fail(zone.mismatch);
  // An empty zone selects nothing: the same as no label, as in the EBS driver.
  if (!zone || zone->empty()) {
    return sdk::Fail(std::string("metadata.labels.'") + kZoneLabel + "' not found");
  }
  return sdk::Topology({{{{kZoneLabel, {*zone}}}}});
}

inline sdk::Result Namespace() { return sdk::Text("kube-system"); }

inline sdk::Result PodLabels() {
  return sdk::Labels({{"k8s-app", "gcp-compute-persistent-disk-csi-driver"}});
}

// "DEV=$(readlink -f /dev/disk/by-id/google-<device name>)" for the PV's disk,
// from spec.csi.volumeHandle, which must be
//   projects/<project>/{zones|regions}/<location>/disks/<name>.
// The name ends up in a shell command run as root on the node, so only GCE name
// characters pass.
inline sdk::Result DeviceAssignment(const sdk::PersistentVolume& pv) {
  const auto& handle = pv.volume_handle;
  if (!handle.mismatch.empty()) return sdk::Fail(handle.mismatch);
  if (!handle || handle->empty()) return sdk::Fail("spec.csi.volumeHandle not found");
  const std::string_view text = *handle;

  std::string_view parts[6];
  std::size_t count = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size() && count <= 6; ++i) {
    if (i == text.size() || text[i] == '/') {
      if (count < 6) parts[count] = text.substr(start, i - start);
      ++count;
      start = i + 1;
    }
  }
  const std::string prefix = std::string(sdk::kPersistentVolumeVar) + ": spec.csi.volumeHandle ";
  if (count != 6 || parts[0] != "projects" || parts[1].empty() ||
      (parts[2] != "zones" && parts[2] != "regions") || parts[3].empty() || parts[4] != "disks" ||
      parts[5].empty()) {
    return sdk::Fail(prefix + sdk::Quote(text) +
                     " is not of the form projects/<project>/zones/<zone>/disks/<name>"
                     " or projects/<project>/regions/<region>/disks/<name>");
  }
  for (const char c : parts[5]) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return sdk::Fail(prefix + sdk::Quote(text) +
                       " has a disk name with characters outside [a-z0-9-]");
    }
  }
  std::string command = "DEV=$(readlink -f /dev/disk/by-id/google-";
  command += parts[5];
  if (parts[2] == "regions") command += kRegionalDeviceSuffix;
  command += ")";
  return sdk::Text(std::move(command));
}

// The host appends " && " and the mount steps, so no trailing newline.
inline sdk::Result PreMountCommand(const sdk::VolumeInputs& in) {
  sdk::Result result = DeviceAssignment(in.pv);
  if (result.err.empty()) result.out += " &&\n(mkfs.${FS} \"$DEV\" || true)";
  return result;
}

inline sdk::Result PreResizeCommand(const sdk::VolumeInputs& in) { return DeviceAssignment(in.pv); }

// The PD CSI node plugin grows the file system itself.
inline sdk::Result FileSystemManaged() { return sdk::Bool(true); }

// The device is found by its name, so there is no attachment metadata to wait for.
inline sdk::Result AttachmentMetaKey() { return sdk::Nothing(); }

// Persistent Disk sizes are whole GiB: Compute Engine takes a disk's size in
// "GB" that must be a whole number ("Disk size must be a multiple of 1 GB",
// gcloud compute disks resize), and the PD CSI driver rounds every requested
// capacity up to a multiple of 1024^3 bytes (BytesToGbRoundUp in its
// pkg/common/utils.go). No limit on how often a disk may grow was found in
// Google's documentation, so none is declared. README.md has the sources.
inline sdk::Result ResizePolicy(const sdk::StorageClass& /*sc*/) {
  return sdk::ResizePolicy({"1Gi", "", 0, ""});
}

}  // namespace pd

#endif  // DISCOBLOCKS_DRIVERS_PD_H
