// The inputs of the conformance suite: built-in ones for any provisioner, or a
// fixtures directory in the repository's layout.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "drivers/conformance.h"
#include "util/document.h"
#include "util/files.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;

// A volume handle in the format the provisioner's CSI driver creates, where we
// know it: drivers check it before building a shell command from it. Others get
// a UUID-like name, the most common shape.
std::string VolumeHandleFor(std::string_view provisioner) {
  if (provisioner == "pd.csi.storage.gke.io") {
    return "projects/demo-project/zones/europe-west1-b/disks/pvc-0a1b2c3d";
  }
  if (provisioner == "ebs.csi.aws.com") return "vol-0123456789abcdef0";
  if (provisioner == "disk.csi.azure.com") {
    return "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/demo/providers/"
           "Microsoft.Compute/disks/pvc-0a1b2c3d";
  }
  if (provisioner == "rbd.csi.ceph.com") {
    return "0001-0009-rook-ceph-0000000000000002-0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  }
  return "pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789";
}

// The contract's reference StorageOS driver accepts only Immediate binding.
std::string BindingModeFor(std::string_view provisioner) {
  return provisioner == "csi.storageos.com" ? "Immediate" : "WaitForFirstConsumer";
}

bool IsYamlOrJson(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// The string at `path` of `object`, or "" (a fixture may be any shape).
std::string StringAt(const json& object, const std::vector<std::string_view>& path) {
  const json* at = &object;
  for (std::string_view key : path) {
    if (!at->is_object()) return {};
    const auto found = at->find(std::string(key));
    if (found == at->end()) return {};
    at = &*found;
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

// The distinctive words of a provisioner name: "pd" and "gke" for
// pd.csi.storage.gke.io, without the words every CSI driver name has.
std::vector<std::string> Words(std::string_view provisioner) {
  static constexpr std::array<std::string_view, 7> kCommon{"csi", "io",  "com",       "storage",
                                                           "k8s", "org", "kubernetes"};
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start <= provisioner.size()) {
    const auto dot = std::min(provisioner.find('.', start), provisioner.size());
    const std::string_view word = provisioner.substr(start, dot - start);
    if (word.size() > 1 && std::find(kCommon.begin(), kCommon.end(), word) == kCommon.end()) {
      words.emplace_back(word);
    }
    start = dot + 1;
  }
  return words;
}

// A Node names no provisioner: it is taken for one when its file name or a
// label key has a word of the provisioner's (node-gke-... or topology.gke.io/zone
// for pd.csi.storage.gke.io).
bool NodeFor(const json& node, const std::filesystem::path& file, std::string_view provisioner) {
  std::string haystack = file.filename().string();
  const auto labels = node.find("metadata");
  if (labels != node.end() && labels->is_object()) {
    const auto found = labels->find("labels");
    if (found != labels->end() && found->is_object()) {
      for (const auto& item : found->items()) haystack += " " + item.key();
    }
  }
  const auto words = Words(provisioner);
  return std::any_of(words.begin(), words.end(), [&](const std::string& word) {
    return haystack.find(word) != std::string::npos;
  });
}

// Picks the file for `provisioner` from `dir`/`kind` (`key` is where an object
// names its provisioner; empty for nodes, see NodeFor), else the first one.
// Empty: no file.
Result<std::optional<json>> PickFixture(const std::filesystem::path& dir, std::string_view kind,
                                        std::string_view provisioner,
                                        const std::vector<std::string_view>& key) {
  const std::filesystem::path folder = dir / kind;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return std::optional<json>();
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec) && IsYamlOrJson(entry.path())) files.push_back(entry.path());
  }
  if (ec) return MakeError(fmt::format("{}: {}", folder.string(), ec.message()));
  std::sort(files.begin(), files.end());
  std::optional<json> first;
  for (const auto& file : files) {
    auto text = ReadFile(file);
    if (!text) return text.error();
    auto doc = ParseDocument(*text, file.string());
    if (!doc) return doc.error();
    if (!doc->is_object()) {
      return MakeError(file.string() + ": expected a Kubernetes object (a mapping)");
    }
    const bool match =
        key.empty() ? NodeFor(*doc, file, provisioner) : StringAt(*doc, key) == provisioner;
    if (match) return std::optional<json>(std::move(doc).value());
    if (!first) first = std::move(doc).value();
  }
  return first;
}

}  // namespace

ConformanceInputs BuiltInInputs(std::string_view provisioner) {
  const std::string driver(provisioner);
  ConformanceInputs in;
  in.storage_class = {
      {"apiVersion", "storage.k8s.io/v1"},
      {"kind", "StorageClass"},
      {"metadata", {{"name", in.storage_class_name}}},
      {"provisioner", driver},
      {"parameters", json::object()},
      {"reclaimPolicy", "Delete"},
      {"volumeBindingMode", BindingModeFor(provisioner)},
      {"allowVolumeExpansion", true},
  };
  // The zone labels of the common clouds and CSI drivers, so that a driver
  // pinning volumes to a zone finds its own.
  in.node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", "node-1"},
        {"labels",
         {{"kubernetes.io/hostname", "node-1"},
          {"kubernetes.io/os", "linux"},
          {"topology.kubernetes.io/region", "europe-west1"},
          {"topology.kubernetes.io/zone", "europe-west1-b"},
          {"topology.gke.io/zone", "europe-west1-b"},
          {"topology.ebs.csi.aws.com/zone", "europe-west1-b"},
          {"topology.disk.csi.azure.com/zone", "europe-west1-b"},
          {"topology.topolvm.io/node", "node-1"}}}}},
  };
  const std::string handle = VolumeHandleFor(provisioner);
  in.persistent_volume = {
      {"apiVersion", "v1"},
      {"kind", "PersistentVolume"},
      {"metadata", {{"name", "pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789"}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}},
        {"capacity", {{"storage", "10Gi"}}},
        {"csi", {{"driver", driver}, {"fsType", "ext4"}, {"volumeHandle", handle}}},
        {"claimRef", {{"name", in.pvc_name}, {"namespace", in.pvc_namespace}}},
        {"storageClassName", in.storage_class_name},
        {"persistentVolumeReclaimPolicy", "Delete"}}},
      {"status", {{"phase", "Bound"}}},
  };
  in.volume_attachment = {
      {"apiVersion", "storage.k8s.io/v1"},
      {"kind", "VolumeAttachment"},
      {"metadata", {{"name", "csi-0a1b2c3d"}}},
      {"spec",
       {{"attacher", driver},
        {"nodeName", "node-1"},
        {"source", {{"persistentVolumeName", "pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789"}}}}},
      {"status", {{"attached", true}, {"attachmentMetadata", {{"devicePath", "/dev/sdb"}}}}},
  };
  return in;
}

Result<ConformanceInputs> FixtureInputs(const std::filesystem::path& dir,
                                        std::string_view provisioner) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return MakeError(fmt::format("--fixtures {}: not a directory", dir.string()));
  }
  ConformanceInputs in = BuiltInInputs(provisioner);
  in.source = dir.string();
  in.from_fixtures = true;
  struct Kind {
    std::string_view folder;
    std::vector<std::string_view> key;
    json* target;
  };
  bool any = false;
  for (const Kind& kind :
       {Kind{"storageclasses", {"provisioner"}, &in.storage_class}, Kind{"nodes", {}, &in.node},
        Kind{"persistentvolumes", {"spec", "csi", "driver"}, &in.persistent_volume},
        Kind{"volumeattachments", {"spec", "attacher"}, &in.volume_attachment}}) {
    auto picked = PickFixture(dir, kind.folder, provisioner, kind.key);
    if (!picked) return picked.error();
    if (*picked) {
      *kind.target = std::move(**picked);
      any = true;
    }
  }
  if (!any) {
    return MakeError(fmt::format(
        "--fixtures {}: no storageclasses/, nodes/, persistentvolumes/ or volumeattachments/ "
        "with YAML or JSON files",
        dir.string()));
  }
  // GetPVCStub's inputs follow the StorageClass the driver is tested with.
  if (const std::string name = StringAt(in.storage_class, {"metadata", "name"}); !name.empty()) {
    in.storage_class_name = name;
  }
  return in;
}

}  // namespace discoblocks::drivers
