// Command csi.storageos.com is the Discoblocks driver for the Ondat
// (StorageOS) CSI driver.
//
// It is a WASI preview 1 reactor: build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared
//
// Every export reads its inputs from environment variables and answers on
// stdout (see the driver contract, ABI v1). The exports are thin wrappers around
// pure functions so that the logic can be tested on the host.
package main

import (
	"discoblocks.dev/drivers/internal/driverio"
)

// main is required by the toolchain but never runs: the host calls
// _initialize and then one export.
func main() {}

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driverio.Run(isStorageClassValid) }

// GetStorageClassAllowedTopology prints nothing: StorageOS volumes are reachable
// from every node of the cluster, so there is no topology to pin.
//
//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() {}

//go:wasmexport GetPVCStub
func GetPVCStub() { driverio.Run(driverio.PVCStub) }

//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() { driverio.Run(constant("storageos")) }

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() {
	driverio.Run(constant(`{"app":"storageos","app.kubernetes.io/component":"csi"}`))
}

//go:wasmexport GetPreMountCommand
func GetPreMountCommand() { driverio.Run(constant(preMountCommand)) }

// GetPreResizeCommand prints nothing: StorageOS grows the file system itself
// (see IsFileSystemManaged), so the resize job needs no device.
//
//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() {}

// IsFileSystemManaged is true: the StorageOS CSI driver grows the file system
// along with the volume.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() { driverio.Run(constant("true")) }

// WaitForVolumeAttachmentMeta prints nothing: the volume is found by its PV
// name, so there is no attachment metadata to wait for.
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() {}

// constant returns a driver function that always prints s.
func constant(s string) func(driverio.Env) driverio.Result {
	return func(driverio.Env) driverio.Result { return driverio.Text(s) }
}

// isStorageClassValid accepts only StorageClasses the operator can work with:
// volumes must be provisioned as soon as the claim exists (Immediate), which is
// how the operator drives StorageOS, and must be expandable since growing disks
// is the point of Discoblocks.
func isStorageClassValid(env driverio.Env) driverio.Result {
	sc, err := env.JSONObject("STORAGE_CLASS_JSON")
	if err != nil {
		return driverio.Fail("%v", err)
	}
	// Both fields are optional; a JSON null counts as absent, as it does for the
	// API server. A present mode must be exactly Immediate.
	if mode := driverio.Field(sc, "volumeBindingMode"); mode != nil {
		if s, ok := driverio.String(mode); !ok || s != "Immediate" {
			return driverio.Bool(false, "only volumeBindingMode Immediate is supported")
		}
	}
	if !driverio.IsTrue(sc, "allowVolumeExpansion") {
		return driverio.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driverio.Bool(true, "")
}

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
