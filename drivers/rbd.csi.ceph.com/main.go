// Command rbd.csi.ceph.com is the Discoblocks driver for the Ceph CSI RBD driver.
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
	"strings"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

// main is required by the toolchain but never runs: the host calls
// _initialize and then one export.
func main() {}

const (
	// maxClusterID is ceph-csi's limit on the clusterID parameter.
	maxClusterID = 36
	// maxName bounds the pool, namespace and image names copied into shell
	// commands; Kubernetes object names are at most 253 bytes.
	maxName = 253

	secretPrefix = "csi.storage.k8s.io/"
)

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driver.Run(isStorageClassValid) }

// GetStorageClassAllowedTopology prints nothing: an RBD image is reachable from
// every node that can reach the Ceph cluster.
//
//go:wasmexport GetStorageClassAllowedTopology
func GetStorageClassAllowedTopology() { driver.Run(storageClassAllowedTopology) }

//go:wasmexport GetPVCStub
func GetPVCStub() { driver.Run(driver.GetPVCStub(driver.PVCStub)) }

// GetCSIDriverNamespace is the namespace ceph-csi's Helm chart installs into.
//
//go:wasmexport GetCSIDriverNamespace
func GetCSIDriverNamespace() {
	driver.Run(driver.GetCSIDriverNamespace(driver.Constant(driver.Text("ceph-csi-rbd"))))
}

//go:wasmexport GetCSIDriverPodLabels
func GetCSIDriverPodLabels() { driver.Run(podLabels) }

//go:wasmexport GetPreMountCommand
func GetPreMountCommand() { driver.Run(preMountCommand) }

//go:wasmexport GetPreResizeCommand
func GetPreResizeCommand() { driver.Run(preResizeCommand) }

// IsFileSystemManaged is true: the RBD node plugin grows the file system
// (NodeExpandVolume) after the controller grows the image.
//
//go:wasmexport IsFileSystemManaged
func IsFileSystemManaged() { driver.Run(fileSystemManaged) }

// WaitForVolumeAttachmentMeta prints nothing: the device is found by pool and
// image name, which the PV carries.
//
//go:wasmexport WaitForVolumeAttachmentMeta
func WaitForVolumeAttachmentMeta() { driver.Run(attachmentMetaKey) }

var (
	storageClassAllowedTopology = driver.GetStorageClassAllowedTopology(func(driver.Node) driver.Result {
		return driver.Nothing()
	})
	// The node plugin DaemonSet's pod labels in ceph-csi's Helm chart (chart name
	// and component).
	podLabels = driver.GetCSIDriverPodLabels(driver.Constant(driver.Labels(map[string]string{
		"app": "ceph-csi-rbd", "component": "nodeplugin",
	})))
	fileSystemManaged = driver.IsFileSystemManaged(driver.Constant(driver.Bool(true, "")))
	attachmentMetaKey = driver.WaitForVolumeAttachmentMeta(driver.Constant(driver.Nothing()))
)

// imageFeatures are the features ceph-csi can create images with.
var imageFeatures = map[string]bool{
	"layering": true, "journaling": true, "exclusive-lock": true,
	"object-map": true, "fast-diff": true, "deep-flatten": true,
}

// requiredSecrets are the secret parameters (name and namespace each) the
// operations Discoblocks uses need: creating the image, mapping it on the node,
// and growing it.
var requiredSecrets = []string{"provisioner", "node-stage", "controller-expand"}

// isStorageClassValid checks the class's parameters the way ceph-csi documents
// them, and what Discoblocks itself needs: expansion, and a device it can find
// on the node (krbd, not rbd-nbd; not LUKS-encrypted).
var isStorageClassValid = driver.IsStorageClassValid(func(sc driver.StorageClass) driver.Result {
	for _, m := range []string{sc.VolumeBindingMode.Mismatch, sc.AllowVolumeExpansion.Mismatch, sc.Parameters.Mismatch} {
		if m != "" {
			return driver.Fail("%s", m)
		}
	}
	p := sc.Parameters.Or(map[string]string{})

	clusterID := p["clusterID"]
	if clusterID == "" {
		return driver.Bool(false, "parameters.clusterID is required")
	}
	if len(clusterID) > maxClusterID {
		return driver.Bool(false, fmt.Sprintf("parameters.clusterID is %d bytes long, more than %d", len(clusterID), maxClusterID))
	}
	constrained := p["topologyConstrainedPools"] != ""
	if p["pool"] == "" && !constrained {
		return driver.Bool(false, "parameters.pool is required (or topologyConstrainedPools)")
	}
	for _, secret := range requiredSecrets {
		for _, suffix := range []string{"-secret-name", "-secret-namespace"} {
			if key := secretPrefix + secret + suffix; p[key] == "" {
				return driver.Bool(false, "parameters."+key+" is required")
			}
		}
	}
	if features, ok := p["imageFeatures"]; ok {
		for _, f := range strings.Split(features, ",") {
			if !imageFeatures[strings.TrimSpace(f)] {
				return driver.Bool(false, fmt.Sprintf("parameters.imageFeatures: %q is not one of layering, journaling, exclusive-lock, object-map, fast-diff, deep-flatten", f))
			}
		}
	}
	if fs, ok := p[secretPrefix+"fstype"]; ok && fs != "ext4" && fs != "xfs" {
		return driver.Bool(false, "parameters.csi.storage.k8s.io/fstype must be ext4 or xfs")
	}
	// rbd-nbd maps images as /dev/nbdN, which the device lookup below does not
	// know; tryOtherMounters may fall back to it.
	if m := p["mounter"]; m != "" && m != "rbd" {
		return driver.Bool(false, "only the krbd mounter is supported (parameters.mounter absent or rbd)")
	}
	if p["tryOtherMounters"] == "true" {
		return driver.Bool(false, "parameters.tryOtherMounters true is not supported: it may map with rbd-nbd")
	}
	// An encrypted image is used through a dm-crypt device the node plugin opens;
	// formatting the mapped image itself would destroy the LUKS header.
	if p["encrypted"] == "true" {
		return driver.Bool(false, "parameters.encrypted true is not supported")
	}
	// Pools chosen by topology need the pod's node: delayed binding.
	if constrained && sc.VolumeBindingMode.Or("") != "WaitForFirstConsumer" {
		return driver.Bool(false, "topologyConstrainedPools needs volumeBindingMode WaitForFirstConsumer")
	}
	if !sc.AllowVolumeExpansion.Or(false) {
		return driver.Bool(false, "only allowVolumeExpansion true is supported")
	}
	return driver.Bool(true, "")
})

// image is where a PV's RBD image lives, from the volume attributes ceph-csi
// puts on the PVs it creates.
type image struct{ pool, namespace, name string }

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// attribute reads spec.csi.volumeAttributes.<key>; the value ends up in a shell
// command run as root on the node, so only name characters pass.
func attribute(pv driver.PersistentVolume, key string, required bool) (string, error) {
	f := driver.StringField(pv.Raw, driver.PersistentVolumeVar, "spec", "csi", "volumeAttributes", key)
	if f.Mismatch != "" {
		return "", fmt.Errorf("%s", f.Mismatch)
	}
	if !f.OK || f.Value == "" {
		if required {
			return "", fmt.Errorf("spec.csi.volumeAttributes.%s not found", key)
		}
		return "", nil
	}
	if len(f.Value) > maxName {
		return "", fmt.Errorf("spec.csi.volumeAttributes.%s is %d bytes long, more than %d", key, len(f.Value), maxName)
	}
	for i := 0; i < len(f.Value); i++ {
		if !isNameChar(f.Value[i]) {
			return "", fmt.Errorf("spec.csi.volumeAttributes.%s %q has characters outside [A-Za-z0-9._-]", key, f.Value)
		}
	}
	return f.Value, nil
}

func imageOf(pv driver.PersistentVolume) (image, error) {
	var img image
	var err error
	if img.pool, err = attribute(pv, "pool", true); err != nil {
		return img, err
	}
	if img.name, err = attribute(pv, "imageName", true); err != nil {
		return img, err
	}
	if img.namespace, err = attribute(pv, "radosNamespace", false); err != nil {
		return img, err
	}
	// The same refusals as for the class, for PVs made by another class.
	// A slice, not a map: the message must not depend on map order.
	for _, bad := range [][2]string{{"mounter", "rbd-nbd"}, {"encrypted", "true"}} {
		if v, _ := driver.String(pv.Raw, "spec", "csi", "volumeAttributes", bad[0]); v == bad[1] {
			return img, fmt.Errorf("spec.csi.volumeAttributes.%s %s is not supported", bad[0], bad[1])
		}
	}
	return img, nil
}

// findDeviceCommand sets DEV to the krbd device mapping the image, from the
// attributes the kernel shows for each mapping under /sys/bus/rbd/devices (pool,
// pool_ns, name, and current_snap, "-" for the image itself rather than a
// snapshot). pool_ns is missing on kernels without namespace support, which
// reads as the default namespace.
const findDeviceCommand = `DEV=
for d in /sys/bus/rbd/devices/*; do
  [ -r "$d/name" ] || continue
  if [ "$(cat "$d/pool")" = "@POOL@" ] && [ "$(cat "$d/pool_ns" 2>/dev/null)" = "@NS@" ] &&
     [ "$(cat "$d/name")" = "@IMAGE@" ] && [ "$(cat "$d/current_snap")" = "-" ]; then
    DEV=/dev/rbd${d##*/}
    break
  fi
done
if [ -z "$DEV" ]; then
  echo "RBD image @WHAT@ is not mapped on this node" >&2
  exit 1
fi`

// formatCommand formats DEV with the job's file system FS only when blkid finds
// no signature on it: the mount job also runs for images that hold data.
const formatCommand = `
if ! blkid -p "$DEV" >/dev/null 2>&1; then
  mkfs."$FS" "$DEV" || true
fi`

func deviceCommand(pv driver.PersistentVolume) (string, error) {
	img, err := imageOf(pv)
	if err != nil {
		return "", err
	}
	what := img.pool + "/" + img.name
	if img.namespace != "" {
		what = img.pool + "/" + img.namespace + "/" + img.name
	}
	return strings.NewReplacer("@POOL@", img.pool, "@NS@", img.namespace, "@IMAGE@", img.name, "@WHAT@", what).
		Replace(findDeviceCommand), nil
}

var preMountCommand = driver.GetPreMountCommand(func(in driver.VolumeInputs) driver.Result {
	cmd, err := deviceCommand(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(cmd + formatCommand)
})

var preResizeCommand = driver.GetPreResizeCommand(func(in driver.VolumeInputs) driver.Result {
	cmd, err := deviceCommand(in.PV)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return driver.Text(cmd)
})
