// Command csi.storageos.com is the Discoblocks driver for the Ondat
// (StorageOS) CSI driver.
//
// It is a WASI preview 1 reactor: build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared
//
// Every export reads its inputs through the SDK (the call document on stdin,
// ABI v2) and answers on stdout (see the driver contract). The exports are
// thin wrappers around pure functions so that the logic can be tested on the
// host.
package main

import (
	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

// main is required by the toolchain but never runs: the host calls
// _initialize and then one export.
func main() {}

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driver.Run(isStorageClassValid) }

// GetStorageClassAllowedTopology prints nothing: StorageOS volumes are reachable
// from every node of the cluster, so there is no topology to pin.
//
//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() {}

//go:wasmexport GetPVCStub
func GetPVCStub() { driver.Run(driver.GetPVCStub(driver.PVCStub)) }

//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() {
	driver.Run(driver.GetCSIDriverNamespace(driver.Constant(driver.Text("storageos"))))
}

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() {
	driver.Run(driver.GetCSIDriverPodLabels(driver.Constant(driver.Labels(map[string]string{
		"app": "storageos", "app.kubernetes.io/component": "csi",
	}))))
}

// GetPreMountCommand prints the fragment below.
//
// It reads no input (the job sets PV_NAME from the PV), so it is a plain function
// of the Env rather than the typed adapter, which would require the PV.
//
//go:wasmexport GetPreMountCommand
func GetPreMountCommand() {
	driver.Run(func(driver.Env) driver.Result { return driver.Text(preMountCommand) })
}

// GetPreResizeCommand prints nothing: StorageOS grows the file system itself
// (see IsFileSystemManaged), so the resize job needs no device.
//
//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() {}

// IsFileSystemManaged is true: the StorageOS CSI driver grows the file system
// along with the volume.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() {
	driver.Run(driver.IsFileSystemManaged(driver.Constant(driver.Bool(true, ""))))
}

// WaitForVolumeAttachmentMeta prints nothing: the volume is found by its PV
// name, so there is no attachment metadata to wait for.
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() {}

// isStorageClassValid accepts only StorageClasses the operator can work with:
// volumes must be provisioned as soon as the claim exists (Immediate), which is
// how the operator drives StorageOS, and must be expandable since growing disks
// is the point of Discoblocks.
var isStorageClassValid = driver.IsStorageClassValid(func(sc driver.StorageClass) driver.Result {
	// Both fields are optional; a JSON null counts as absent, as it does for the
	// API server. A present mode must be exactly Immediate.
	if sc.VolumeBindingMode.Set {
		if s, ok := sc.VolumeBindingMode.Get(); !ok || s != "Immediate" {
			return driver.Bool(false, "only volumeBindingMode Immediate is supported")
		}
	}
	if !sc.AllowVolumeExpansion.Or(false) {
		return driver.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driver.Bool(true, "")
})

// preMountCommand is a POSIX sh fragment run by the mount job (privileged, with
// the node's root file system at /host and the node's PID namespace). It finds
// the StorageOS volume of the PV named by the job's PV_NAME, mounts it under the
// kubelet CSI directory of that PV and sets DEV=/$PV_NAME.
//
// StorageOS keeps one state file per volume, /var/lib/storageos/state/v.ID.json,
// which holds the PV name, and exposes the volume as
// /var/lib/storageos/volumes/v.ID. The PV name is matched with its JSON quotes
// so that pvc-1 does not match pvc-12. Those paths are on the node, so the
// commands run in its mount namespace. More or less than one match, or a match
// with unexpected characters, fails the job rather than mounting the wrong
// volume. An existing mount (a job run again) is kept.
//
// The driver does not substitute PV_NAME: the job sets it from the PV object.
const preMountCommand = `: "${PV_NAME:?PV_NAME is not set}"
VOL=$(chroot /host nsenter --target 1 --mount sh -c 'grep -l -F -e "\"$1\"" /var/lib/storageos/state/v.*.json' sh "$PV_NAME" | sed -n 's|^.*/\(v\.[^/]*\)\.json$|\1|p')
case $VOL in
  '' | *[!A-Za-z0-9.-]*)
    echo "expected one StorageOS volume for PV $PV_NAME, found: ${VOL:-none}" >&2
    exit 1 ;;
esac
MNT=/var/lib/kubelet/plugins/kubernetes.io/csi/pv/$PV_NAME/discoblocks
chroot /host nsenter --target 1 --mount mkdir -p "$MNT" &&
{ chroot /host nsenter --target 1 --mount mountpoint -q "$MNT" ||
  chroot /host nsenter --target 1 --mount mount "/var/lib/storageos/volumes/$VOL" "$MNT"; } &&
DEV=/$PV_NAME`
