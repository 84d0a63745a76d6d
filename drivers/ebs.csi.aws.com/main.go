// Command ebs.csi.aws.com is the Discoblocks driver for the AWS EBS CSI driver.
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
	"errors"
	"fmt"
	"strings"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
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
func IsStorageClassValid() { driver.Run(isStorageClassValid) }

//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() { driver.Run(storageClassAllowedTopology) }

//go:wasmexport GetPVCStub
func GetPVCStub() { driver.Run(driver.GetPVCStub(driver.PVCStub)) }

//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() {
	driver.Run(driver.GetCSIDriverNamespace(driver.Constant(driver.Text("kube-system"))))
}

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() {
	driver.Run(driver.GetCSIDriverPodLabels(driver.Constant(driver.Labels(map[string]string{"app": "ebs-csi-controller"}))))
}

//go:wasmexport GetPreMountCommand
func GetPreMountCommand() { driver.Run(preMountCommand) }

//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() { driver.Run(preResizeCommand) }

// IsFileSystemManaged is false: the EBS CSI driver grows the volume but leaves
// the file system of a volume mounted by Discoblocks to the resize job.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() {
	driver.Run(driver.IsFileSystemManaged(driver.Constant(driver.Bool(false, ""))))
}

// WaitForVolumeAttachmentMeta prints nothing: the device is found by its serial,
// so there is no attachment metadata to wait for.
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() {}

// GetResizePolicy declares what Amazon EBS Elastic Volumes allow, the same for
// every volume type:
//   - sizes are whole GiB: ModifyVolume takes the target size as an integer
//     number of GiB ("The target size of the volume, in GiB"), and it must not
//     be below the current size; so the smallest growth is 1 GiB;
//   - "You can modify a volume up to four times within a rolling 24-hour
//     period", each after the previous modification completed (the ModifyVolume
//     API reference; older versions of it stated a six-hour cooldown between
//     modifications instead, which allows no more than four per 24 hours either).
//
// Sources: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVolume.html
// (parameter Size, and the description), and the same page of the SDKs (e.g.
// the EC2 ModifyVolume request of the AWS SDK for Kotlin).
//
//go:wasmexport GetResizePolicy
func GetResizePolicy() { driver.Run(resizePolicy) }

var resizePolicy = driver.GetResizePolicy(func(driver.StorageClass) driver.Result {
	return driver.ResizePolicy(driver.ResizeLimits{
		Granularity:      "1Gi",
		MinimumIncrease:  "1Gi",
		MaxModifications: 4,
		Window:           "24h",
	})
})

// isStorageClassValid accepts only StorageClasses the operator can work with:
// volumes must be created lazily in the zone of the pod's node
// (WaitForFirstConsumer), and must be expandable since growing disks is the
// point of Discoblocks.
var isStorageClassValid = driver.IsStorageClassValid(func(sc driver.StorageClass) driver.Result {
	// Both fields are optional; a JSON null counts as absent, as it does for the
	// API server. A present mode must be exactly WaitForFirstConsumer.
	if sc.VolumeBindingMode.Set {
		if s, ok := sc.VolumeBindingMode.Get(); !ok || s != "WaitForFirstConsumer" {
			return driver.Bool(false, "only volumeBindingMode WaitForFirstConsumer is supported")
		}
	}
	if !sc.AllowVolumeExpansion.Or(false) {
		return driver.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driver.Bool(true, "")
})

// storageClassAllowedTopology pins new volumes to the zone of the node the pod
// runs on.
var storageClassAllowedTopology = driver.GetStorageClassAllowedTopology(func(node driver.Node) driver.Result {
	// An empty zone would give a selector no node can satisfy, so it is treated
	// like a missing label.
	zone, ok := node.Label(zoneLabel).Get()
	if !ok || zone == "" {
		return driver.Fail("metadata.labels.'%s' not found", zoneLabel)
	}
	return driver.Topology(driver.TopologyTerm{MatchLabelExpressions: []driver.LabelRequirement{
		{Key: zoneLabel, Values: []string{zone}},
	}})
})

// volumeSerial returns the NVMe serial number of the PV's EBS volume: on Nitro
// instances it is the volume ID without its dash (vol-0abc… → vol0abc…).
//
// The handle comes from a cluster object and ends up in a shell command run as
// root on the node, so it is restricted to the characters of a volume ID.
func volumeSerial(pv driver.PersistentVolume) (string, error) {
	handle, ok := pv.VolumeHandle.Get()
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
var preMountCommand = driver.GetPreMountCommand(func(in driver.VolumeInputs) driver.Result {
	serial, err := volumeSerial(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(strings.ReplaceAll(findDeviceCommand, "@SERIAL@", serial) + formatCommand)
})

// preResizeCommand finds the disk; the resize job grows its file system.
var preResizeCommand = driver.GetPreResizeCommand(func(in driver.VolumeInputs) driver.Result {
	serial, err := volumeSerial(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(strings.ReplaceAll(findDeviceCommand, "@SERIAL@", serial))
})
