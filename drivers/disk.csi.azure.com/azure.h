// The logic of the disk.csi.azure.com driver (Azure Disk CSI), as pure
// functions of typed inputs so that it can be unit-tested on the host; main.cc
// exports them. Behaviour, and the upstream documents each rule comes from:
// README.md next to this file.
#ifndef DISCOBLOCKS_DRIVERS_AZURE_H
#define DISCOBLOCKS_DRIVERS_AZURE_H

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "discoblocks/driver.h"

namespace azure {

namespace sdk = discoblocks::driver;

// The node plugin labels each node with its zone under this key; in a region
// without zones the label is there but empty.
inline constexpr const char* kZoneLabel = "topology.disk.csi.azure.com/zone";
// The key of the publish context the controller fills in on attach; it lands in
// VolumeAttachment.status.attachmentMetadata.
inline constexpr const char* kLunKey = "LUN";
// Azure VMs take at most 64 data disks, LUN 0 to 63.
inline constexpr int kMaxLun = 63;

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

inline bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed,
                  bool fold) {
  for (const std::string_view a : allowed) {
    if (fold ? EqualFold(value, a) : value == a) return true;
  }
  return false;
}

// The Azure driver lower-cases parameter names before reading them, so
// "skuName", "skuname" and "SKUNAME" are one parameter. Two spellings of one name
// in a class would depend on map order upstream: the caller refuses that.
struct Parameter {
  std::optional<std::string> value;
  std::string duplicate;  // the second spelling found, if any
};

inline Parameter Param(const sdk::StringMap& parameters, std::string_view name) {
  Parameter found;
  std::string spelling;
  for (const auto& [key, value] : parameters) {
    if (!EqualFold(key, name)) continue;
    if (found.value) {
      found.duplicate = spelling + "' and '" + key;
      return found;
    }
    spelling = key;
    found.value = value;
  }
  return found;
}

// Zone-redundant SKUs attach in every zone; the others are zonal.
inline bool IsZoneRedundant(std::string_view sku) {
  return sku.size() > 4 && EqualFold(sku.substr(sku.size() - 4), "_ZRS");
}

inline sdk::Result IsStorageClassValid(const sdk::StorageClass& sc) {
  // Types first, so that a malformed class is an error, never "invalid".
  if (!sc.volume_binding_mode.mismatch.empty()) return sdk::Fail(sc.volume_binding_mode.mismatch);
  if (!sc.allow_volume_expansion.mismatch.empty()) {
    return sdk::Fail(sc.allow_volume_expansion.mismatch);
  }
  if (!sc.parameters.mismatch.empty()) return sdk::Fail(sc.parameters.mismatch);
  const sdk::StringMap parameters = sc.parameters.value_or({});

  for (const char* name : {"skuName", "storageAccountType", "kind", "cachingMode", "fsType",
                           "csi.storage.k8s.io/fstype"}) {
    const Parameter p = Param(parameters, name);
    if (!p.duplicate.empty()) {
      return sdk::Bool(false, "parameters '" + p.duplicate + "' name the same parameter");
    }
  }
  const Parameter sku_name = Param(parameters, "skuName");
  const Parameter account_type = Param(parameters, "storageAccountType");  // its alias
  if (sku_name.value && account_type.value && !EqualFold(*sku_name.value, *account_type.value)) {
    return sdk::Bool(false, "parameters skuName and storageAccountType disagree");
  }
  // Unset, the driver creates StandardSSD_LRS disks.
  const std::string sku = sku_name.value.value_or(account_type.value.value_or("StandardSSD_LRS"));
  if (!OneOf(sku,
             {"Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "PremiumV2_LRS",
              "Premium_ZRS", "StandardSSD_ZRS"},
             true)) {
    return sdk::Bool(false, "parameters.skuName " + sdk::Quote(sku, 64) +
                                " is not one of Standard_LRS, Premium_LRS, StandardSSD_LRS, "
                                "UltraSSD_LRS, PremiumV2_LRS, Premium_ZRS, StandardSSD_ZRS");
  }
  // dedicated and shared are the deprecated unmanaged (blob) disks.
  if (const auto kind = Param(parameters, "kind").value; kind && !EqualFold(*kind, "managed")) {
    return sdk::Bool(false, "only parameters.kind managed is supported");
  }
  if (const auto mode = Param(parameters, "cachingMode").value;
      mode && !OneOf(*mode, {"None", "ReadOnly", "ReadWrite"}, false)) {
    return sdk::Bool(false, "parameters.cachingMode must be None, ReadOnly or ReadWrite");
  }
  for (const char* name : {"fsType", "csi.storage.k8s.io/fstype"}) {
    if (const auto fs = Param(parameters, name).value;
        fs && !OneOf(*fs, {"ext4", "ext3", "ext2", "xfs"}, false)) {
      return sdk::Bool(false,
                       std::string("parameters.") + name + " must be ext4, ext3, ext2 or xfs");
    }
  }
  // A zonal disk must be created in the zone of the pod's node, which needs
  // WaitForFirstConsumer (absent means Immediate). A ZRS disk attaches anywhere.
  if (!IsZoneRedundant(sku) && sc.volume_binding_mode.value_or("") != "WaitForFirstConsumer") {
    return sdk::Bool(false,
                     "only volumeBindingMode WaitForFirstConsumer is supported for zonal disks "
                     "(skuName " +
                         sku + ")");
  }
  if (!sc.allow_volume_expansion.value_or(false)) {
    return sdk::Bool(false, "only allowVolumeExpansion true is supported");
  }
  return sdk::Bool(true);
}

inline sdk::Result AllowedTopology(const sdk::Node& node) {
  const auto zone = node.Label(kZoneLabel);
  if (!zone.mismatch.empty()) return sdk::Fail(zone.mismatch);
  if (!zone) return sdk::Fail(std::string("metadata.labels.'") + kZoneLabel + "' not found");
  // Empty: a node in a region without zones, where a disk attaches to any node.
  if (zone->empty()) return sdk::Nothing();
  return sdk::Topology({{{{kZoneLabel, {*zone}}}}});
}

inline sdk::Result Namespace() { return sdk::Text("kube-system"); }

// The node plugin's DaemonSet (csi-azuredisk-node): the pods that must run on a
// node for its disks to be mounted there.
inline sdk::Result PodLabels() { return sdk::Labels({{"app", "csi-azuredisk-node"}}); }

// The LUN the disk is attached at, from the VolumeAttachment of this PV.
inline sdk::Result Lun(const sdk::VolumeInputs& in, std::string* lun) {
  const auto attachment = in.Attachment();
  if (!attachment) return sdk::Fail(attachment.error());
  if (!*attachment) {
    return sdk::Fail(std::string(sdk::kVolumeAttachmentVar) +
                     " is empty: the disk's LUN comes from its VolumeAttachment");
  }
  const sdk::VolumeAttachment& va = **attachment;
  if (!va.persistent_volume_name.mismatch.empty()) {
    return sdk::Fail(va.persistent_volume_name.mismatch);
  }
  if (!in.pv.name.mismatch.empty()) return sdk::Fail(in.pv.name.mismatch);
  if (va.persistent_volume_name && in.pv.name && *va.persistent_volume_name != *in.pv.name) {
    return sdk::Fail("the VolumeAttachment is for PersistentVolume " +
                     sdk::Quote(*va.persistent_volume_name) + ", not " + sdk::Quote(*in.pv.name));
  }
  if (!va.attachment_metadata.mismatch.empty()) return sdk::Fail(va.attachment_metadata.mismatch);
  const sdk::StringMap metadata = va.attachment_metadata.value_or({});
  const auto it = metadata.find(kLunKey);
  if (it == metadata.end() || it->second.empty()) {
    return sdk::Fail(std::string("status.attachmentMetadata.") + kLunKey + " not found");
  }
  // Digits only: the value ends up in a shell command run as root on the node.
  int value = 0;
  for (const char c : it->second) {
    if (c < '0' || c > '9' || it->second.size() > 2) {
      value = kMaxLun + 1;
      break;
    }
    value = value * 10 + (c - '0');
  }
  if (value > kMaxLun) {
    return sdk::Fail(std::string("status.attachmentMetadata.") + kLunKey + " " +
                     sdk::Quote(it->second, 64) + " is not a LUN from 0 to 63");
  }
  *lun = std::to_string(value);
  return sdk::Nothing();
}

// Sets DEV from the udev link Azure images keep for each data disk by LUN, and
// fails with a message when the link does not lead to a block device (readlink
// -f prints a missing path unchanged).
inline sdk::Result DeviceAssignment(const sdk::VolumeInputs& in) {
  std::string lun;
  if (sdk::Result r = Lun(in, &lun); !r.err.empty()) return r;
  const std::string link = "/dev/disk/azure/scsi1/lun" + lun;
  return sdk::Text("DEV=$(readlink -f " + link + ") &&\n{ [ -b \"$DEV\" ] || { echo \"no disk at " +
                   link + "\" >&2; false; }; }");
}

// Formats only a disk without a file system signature: the mount job also runs
// for disks that hold data. The host appends " && " and its steps, so no
// trailing newline.
inline sdk::Result PreMountCommand(const sdk::VolumeInputs& in) {
  sdk::Result result = DeviceAssignment(in);
  if (result.err.empty()) {
    result.out += " &&\n{ blkid -p \"$DEV\" >/dev/null 2>&1 || mkfs.${FS} \"$DEV\" || true; }";
  }
  return result;
}

inline sdk::Result PreResizeCommand(const sdk::VolumeInputs& in) { return DeviceAssignment(in); }

// The node plugin grows the file system (NodeExpandVolume; online resize is on
// by default).
inline sdk::Result FileSystemManaged() { return sdk::Bool(true); }

// The LUN is only known once the controller has attached the disk.
inline sdk::Result AttachmentMetaKey() { return sdk::Text(kLunKey); }

// Managed disk sizes are whole GiB: the Disks API takes diskSizeGB, an integer,
// and a resize may only increase it. README.md has the sources, and what we
// could not confirm (limits on how often a disk may be resized).
inline sdk::Result ResizePolicy(const sdk::StorageClass& /*sc*/) {
  return sdk::ResizePolicy({"1Gi", "", 0, ""});
}

}  // namespace azure

#endif  // DISCOBLOCKS_DRIVERS_AZURE_H
