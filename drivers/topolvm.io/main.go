// Command topolvm.io is the Discoblocks driver for TopoLVM, the CSI driver for
// node-local LVM logical volumes.
//
// It is a WASI preview 1 reactor: build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared
//
// Every export is a thin wrapper around a pure function of the SDK's typed
// inputs, tested on the host (main_test.go). The rules and the upstream
// documents they come from are in README.md.
package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

// main is required by the toolchain but never runs: the host calls
// _initialize and then one export.
func main() {}

const (
	// nodeKey is TopoLVM's topology key: a volume lives on exactly one node,
	// and the node plugin labels each node with its own name under this key.
	nodeKey = "topology.topolvm.io/node"
	// maxVolumeID bounds the volume ID copied into shell commands. TopoLVM's
	// IDs are UUIDs; the slack covers other formats.
	maxVolumeID = 128
)

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driver.Run(isStorageClassValid) }

//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() { driver.Run(storageClassAllowedTopology) }

//go:wasmexport GetPVCStub
func GetPVCStub() { driver.Run(driver.GetPVCStub(driver.PVCStub)) }

// GetCSIDriverNamespace is the namespace TopoLVM's documentation installs its
// Helm chart into.
//
//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() {
	driver.Run(driver.GetCSIDriverNamespace(driver.Constant(driver.Text("topolvm-system"))))
}

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() { driver.Run(podLabels) }

//go:wasmexport GetPreMountCommand
func GetPreMountCommand() { driver.Run(preMountCommand) }

//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() { driver.Run(preResizeCommand) }

// IsFileSystemManaged is true: topolvm-node implements EXPAND_VOLUME and grows
// the file system after growing the logical volume.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() { driver.Run(fileSystemManaged) }

// WaitForVolumeAttachmentMeta prints nothing: TopoLVM volumes are local and not
// attached (no VolumeAttachment at all).
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() { driver.Run(attachmentMetaKey) }

var (
	// The pod labels of the node DaemonSet in TopoLVM's Helm chart, without the
	// release's instance label, which depends on the release name.
	podLabels = driver.GetCSIDriverPodLabels(driver.Constant(driver.Labels(map[string]string{
		"app.kubernetes.io/name": "topolvm", "app.kubernetes.io/component": "node",
	})))
	fileSystemManaged = driver.IsFileSystemManaged(driver.Constant(driver.Bool(true, "")))
	attachmentMetaKey = driver.WaitForVolumeAttachmentMeta(driver.Constant(driver.Nothing()))
)

// isStorageClassValid accepts classes whose volumes Discoblocks can place and
// grow: a node-local volume must be created on the pod's node, which only
// WaitForFirstConsumer guarantees.
var isStorageClassValid = driver.IsStorageClassValid(func(sc driver.StorageClass) driver.Result {
	for _, m := range []string{sc.VolumeBindingMode.Mismatch, sc.AllowVolumeExpansion.Mismatch, sc.Parameters.Mismatch} {
		if m != "" {
			return driver.Fail("%s", m)
		}
	}
	p := sc.Parameters.Or(map[string]string{})
	if fs, ok := p["csi.storage.k8s.io/fstype"]; ok && fs != "ext4" && fs != "xfs" && fs != "btrfs" {
		return driver.Bool(false, "parameters.csi.storage.k8s.io/fstype must be ext4, xfs or btrfs")
	}
	// The pre-rename names belong to the topolvm.cybozu.com provisioner; here
	// they would be ignored silently and the default device class used.
	// Sorted, so that the message does not depend on map order.
	keys := make([]string, 0, len(p))
	for key := range p {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if strings.HasPrefix(key, "topolvm.cybozu.com/") {
			return driver.Bool(false, fmt.Sprintf("parameters.%s is a topolvm.cybozu.com parameter; use topolvm.io/%s", key, strings.TrimPrefix(key, "topolvm.cybozu.com/")))
		}
	}
	if sc.VolumeBindingMode.Or("") != "WaitForFirstConsumer" {
		return driver.Bool(false, "only volumeBindingMode WaitForFirstConsumer is supported")
	}
	if !sc.AllowVolumeExpansion.Or(false) {
		return driver.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driver.Bool(true, "")
})

// storageClassAllowedTopology pins a new volume to the pod's node.
var storageClassAllowedTopology = driver.GetStorageClassAllowedTopology(func(node driver.Node) driver.Result {
	label := node.Label(nodeKey)
	if label.Mismatch != "" {
		return driver.Fail("%s", label.Mismatch)
	}
	name, ok := label.Get()
	if !ok || name == "" {
		return driver.Fail("metadata.labels.'%s' not found (is topolvm-node running on this node?)", nodeKey)
	}
	return driver.Topology(driver.TopologyTerm{MatchLabelExpressions: []driver.LabelRequirement{
		{Key: nodeKey, Values: []string{name}},
	}})
})

func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// volumeID is the PV's volume handle, which TopoLVM also uses as the name of
// the logical volume. It ends up in a shell command run as root on the node,
// so only LVM name characters pass.
func volumeID(pv driver.PersistentVolume) (string, error) {
	if pv.VolumeHandle.Mismatch != "" {
		return "", fmt.Errorf("%s", pv.VolumeHandle.Mismatch)
	}
	id, ok := pv.VolumeHandle.Get()
	if !ok || id == "" {
		return "", fmt.Errorf("spec.csi.volumeHandle not found")
	}
	if len(id) > maxVolumeID {
		return "", fmt.Errorf("spec.csi.volumeHandle is %d bytes long, more than %d", len(id), maxVolumeID)
	}
	if id[0] == '-' || id == "." || id == ".." {
		return "", fmt.Errorf("spec.csi.volumeHandle %q is not a logical volume name", id)
	}
	for i := 0; i < len(id); i++ {
		if !isIDChar(id[i]) {
			return "", fmt.Errorf("spec.csi.volumeHandle %q is not a logical volume name", id)
		}
	}
	return id, nil
}

// findDeviceCommand sets DEV to the logical volume named @ID@ in whichever
// volume group its device class uses (the PV does not say which): LVM keeps a
// /dev/<volume group>/<logical volume> symlink for every active volume. Only
// symlinks count, so that a device node of the same name (topolvm-node makes
// them under /dev/topolvm when it publishes a volume) is not taken for a second
// volume. More than one match is refused rather than guessed.
const findDeviceCommand = `DEV=
for l in /dev/*/@ID@; do
  [ -L "$l" ] && [ -b "$l" ] || continue
  if [ -n "$DEV" ]; then
    echo "more than one logical volume named @ID@" >&2
    exit 1
  fi
  DEV=$(readlink -f "$l")
done
if [ -z "$DEV" ]; then
  echo "no active logical volume named @ID@ on this node" >&2
  exit 1
fi`

// formatCommand formats DEV with the job's file system FS only when blkid finds
// no signature on it: the mount job also runs for volumes that hold data.
const formatCommand = `
if ! blkid -p "$DEV" >/dev/null 2>&1; then
  mkfs."$FS" "$DEV" || true
fi`

var preMountCommand = driver.GetPreMountCommand(func(in driver.VolumeInputs) driver.Result {
	id, err := volumeID(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(strings.ReplaceAll(findDeviceCommand, "@ID@", id) + formatCommand)
})

var preResizeCommand = driver.GetPreResizeCommand(func(in driver.VolumeInputs) driver.Result {
	id, err := volumeID(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(strings.ReplaceAll(findDeviceCommand, "@ID@", id))
})
