// Command ebs.csi.aws.com is the Discoblocks driver for the AWS EBS CSI driver.
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
	"errors"
	"fmt"
	"strings"

	"discoblocks.dev/drivers/internal/driverio"
)

// main is required by the toolchain but never runs: the host calls
// _initialize and then one export.
func main() {}

const (
	// zoneLabel is the well-known node label the EBS CSI driver uses for
	// topology; an EBS volume can only be attached in its own zone.
	zoneLabel = "topology.kubernetes.io/zone"

	// maxVolumeHandle bounds the volume handle copied into shell commands. EBS
	// volume IDs are 21 characters long; the slack covers future formats.
	maxVolumeHandle = 128
)

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driverio.Run(isStorageClassValid) }

//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() { driverio.Run(storageClassAllowedTopology) }

//go:wasmexport GetPVCStub
func GetPVCStub() { driverio.Run(driverio.PVCStub) }

//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() { driverio.Run(constant("kube-system")) }

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() { driverio.Run(constant(`{"app":"ebs-csi-controller"}`)) }

//go:wasmexport GetPreMountCommand
func GetPreMountCommand() { driverio.Run(preMountCommand) }

//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() { driverio.Run(preResizeCommand) }

// IsFileSystemManaged is false: the EBS CSI driver grows the volume but leaves
// the file system of a volume mounted by Discoblocks to the resize job.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() { driverio.Run(constant("false")) }

// WaitForVolumeAttachmentMeta prints nothing: the device is found by its serial,
// so there is no attachment metadata to wait for.
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() {}

// constant returns a driver function that always prints s.
func constant(s string) func(driverio.Env) driverio.Result {
	return func(driverio.Env) driverio.Result { return driverio.Text(s) }
}

// isStorageClassValid accepts only StorageClasses the operator can work with:
// volumes must be created lazily in the zone of the pod's node
// (WaitForFirstConsumer), and must be expandable since growing disks is the
// point of Discoblocks.
func isStorageClassValid(env driverio.Env) driverio.Result {
	sc, err := env.JSONObject("STORAGE_CLASS_JSON")
	if err != nil {
		return driverio.Fail("%v", err)
	}
	// Both fields are optional; a JSON null counts as absent, as it does for the
	// API server. A present mode must be exactly WaitForFirstConsumer.
	if mode := driverio.Field(sc, "volumeBindingMode"); mode != nil {
		if s, ok := driverio.String(mode); !ok || s != "WaitForFirstConsumer" {
			return driverio.Bool(false, "only volumeBindingMode WaitForFirstConsumer is supported")
		}
	}
	if !driverio.IsTrue(sc, "allowVolumeExpansion") {
		return driverio.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driverio.Bool(true, "")
}

// storageClassAllowedTopology pins new volumes to the zone of the node the pod
// runs on.
func storageClassAllowedTopology(env driverio.Env) driverio.Result {
	node, err := env.JSONObject("NODE_JSON")
	if err != nil {
		return driverio.Fail("%v", err)
	}
	// An empty zone would give a selector no node can satisfy, so it is treated
	// like a missing label.
	zone, ok := driverio.String(node, "metadata", "labels", zoneLabel)
	if !ok || zone == "" {
		return driverio.Fail("metadata.labels.'%s' not found", zoneLabel)
	}
	b := []byte(`[{"matchLabelExpressions":[{"key":`)
	b = driverio.AppendString(b, zoneLabel)
	b = append(b, `,"values":[`...)
	b = driverio.AppendString(b, zone)
	b = append(b, "]}]}]"...)
	return driverio.Text(string(b))
}

// volumeSerial returns the NVMe serial number of the PV's EBS volume: on Nitro
// instances it is the volume ID without its dash (vol-0abc… → vol0abc…).
//
// The handle comes from a cluster object and ends up in a shell command run as
// root on the node, so it is restricted to the characters of a volume ID.
func volumeSerial(env driverio.Env) (string, error) {
	pv, err := env.JSONObject("PERSISTENT_VOLUME_JSON")
	if err != nil {
		return "", err
	}
	handle, ok := driverio.String(pv, "spec", "csi", "volumeHandle")
	if !ok || handle == "" {
		return "", errors.New("spec.csi.volumeHandle not found")
	}
	if len(handle) > maxVolumeHandle {
		return "", fmt.Errorf("spec.csi.volumeHandle is %d bytes long, more than %d", len(handle), maxVolumeHandle)
	}
	for _, c := range []byte(handle) {
		if !isVolumeIDChar(c) {
			return "", fmt.Errorf("spec.csi.volumeHandle %q is not an EBS volume ID: only letters, digits and dashes are allowed", handle)
		}
	}
	serial := strings.ReplaceAll(handle, "-", "")
	if serial == "" {
		return "", fmt.Errorf("spec.csi.volumeHandle %q is not an EBS volume ID", handle)
	}
	return serial, nil
}

func isVolumeIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

// findDeviceCommand is a POSIX sh fragment setting DEV to the NVMe disk whose
// serial is @SERIAL@ (replaced by the validated serial), or failing the job.
//
// It reads sysfs rather than running nvme-cli or lsblk so that it needs nothing
// but tr; block devices are not namespaced, so the job container's /sys shows
// the node's disks. The kernel pads serials with spaces, hence the tr. Names
// with a "c" (nvme0c0n1) are the hidden per-controller paths of a multipath
// namespace, not disks to use.
const findDeviceCommand = `DEV=
for f in /sys/block/nvme*/device/serial; do
  d=${f#/sys/block/}
  d=${d%%/*}
  case $d in *c*) continue ;; esac
  if [ -r "$f" ] && [ "$(tr -d '[:space:]' < "$f")" = "@SERIAL@" ]; then
    DEV=/dev/$d
    break
  fi
done
if [ -z "$DEV" ]; then
  echo "no NVMe disk with serial @SERIAL@ found" >&2
  exit 1
fi`

// formatCommand formats DEV with the file system FS of the job, on the node.
//
// A mount job also runs for disks that already hold data, so the disk is only
// formatted when blkid finds no signature on it. The mkfs failure is tolerated as
// a second line of defence: without blkid on the node, mkfs refuses to overwrite
// an existing file system when it cannot ask for confirmation.
const formatCommand = `
if ! chroot /host nsenter --target 1 --mount blkid -p "$DEV" >/dev/null 2>&1; then
  chroot /host nsenter --target 1 --mount mkfs."$FS" "$DEV" || true
fi`

// preMountCommand finds the disk and formats it if it is new.
func preMountCommand(env driverio.Env) driverio.Result {
	serial, err := volumeSerial(env)
	if err != nil {
		return driverio.Fail("%v", err)
	}
	return driverio.Text(strings.ReplaceAll(findDeviceCommand, "@SERIAL@", serial) + formatCommand)
}

// preResizeCommand finds the disk; the resize job grows its file system.
func preResizeCommand(env driverio.Env) driverio.Result {
	serial, err := volumeSerial(env)
	if err != nil {
		return driverio.Fail("%v", err)
	}
	return driverio.Text(strings.ReplaceAll(findDeviceCommand, "@SERIAL@", serial))
}
