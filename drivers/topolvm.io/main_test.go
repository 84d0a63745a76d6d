package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
	"github.com/discoblocks/discoblocks/sdk/go/driver/drivertest"
)

const wffc = "only volumeBindingMode WaitForFirstConsumer is supported"

func valid(t *testing.T, sc string) driver.Result {
	t.Helper()
	return drivertest.Call(t, isStorageClassValid, drivertest.Inputs{StorageClass: sc})
}

func TestStorageClasses(t *testing.T) {
	for _, tc := range []struct {
		sc     string
		want   bool
		reason string
	}{
		{`{"provisioner":"topolvm.io","parameters":{"csi.storage.k8s.io/fstype":"xfs","topolvm.io/device-class":"ssd"},"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`, true, ""},
		{`{"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`, true, ""},
		{`{"parameters":{"csi.storage.k8s.io/fstype":"btrfs"},"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`, true, ""},
		{`{"parameters":{"csi.storage.k8s.io/fstype":"ext3"},"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`, false, "parameters.csi.storage.k8s.io/fstype must be ext4, xfs or btrfs"},
		{`{"parameters":{"topolvm.cybozu.com/device-class":"ssd","topolvm.cybozu.com/a":"b"},"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`, false, "parameters.topolvm.cybozu.com/a is a topolvm.cybozu.com parameter; use topolvm.io/a"},
		// Immediate would create the volume on a node the pod may not land on.
		{`{"volumeBindingMode":"Immediate","allowVolumeExpansion":true}`, false, wffc},
		{`{"allowVolumeExpansion":true}`, false, wffc}, // absent means Immediate
		{`{"volumeBindingMode":"WaitForFirstConsumer"}`, false, "only allowVolumeExpansion true is supported"},
		{`{"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":false}`, false, "only allowVolumeExpansion true is supported"},
	} {
		drivertest.ExpectBool(t, valid(t, tc.sc), tc.want, tc.reason)
	}
	drivertest.ExpectError(t, valid(t, `{"volumeBindingMode":["WaitForFirstConsumer"]}`), "STORAGE_CLASS_JSON: volumeBindingMode is an array, not a string")
	drivertest.ExpectError(t, valid(t, `{"parameters":1}`), "STORAGE_CLASS_JSON: parameters is a number, not an object")
	drivertest.ExpectError(t, valid(t, `nope`), "STORAGE_CLASS_JSON is not valid JSON")
}

func TestTopologyIsTheNode(t *testing.T) {
	topology := func(node string) driver.Result {
		return drivertest.Call(t, storageClassAllowedTopology, drivertest.Inputs{Node: node})
	}
	drivertest.ExpectJSON(t, topology(`{"metadata":{"name":"worker-1","labels":{"topology.topolvm.io/node":"worker-1"}}}`),
		`[{"matchLabelExpressions":[{"key":"topology.topolvm.io/node","values":["worker-1"]}]}]`)
	for _, node := range []string{`{"metadata":{"name":"worker-1"}}`, `{"metadata":{"labels":{"topology.topolvm.io/node":""}}}`} {
		drivertest.ExpectError(t, topology(node), "metadata.labels.'topology.topolvm.io/node' not found (is topolvm-node running on this node?)")
	}
	drivertest.ExpectError(t, topology(`{"metadata":{"labels":{"topology.topolvm.io/node":true}}}`),
		"NODE_JSON: metadata.labels.'topology.topolvm.io/node' is a boolean, not a string")
}

func TestConstants(t *testing.T) {
	drivertest.ExpectJSON(t, drivertest.Call(t, podLabels, drivertest.Inputs{}),
		`{"app.kubernetes.io/name":"topolvm","app.kubernetes.io/component":"node"}`)
	drivertest.ExpectBool(t, drivertest.Call(t, fileSystemManaged, drivertest.Inputs{}), true, "")
	if got := drivertest.Call(t, attachmentMetaKey, drivertest.Inputs{}); got != (driver.Result{}) {
		t.Errorf("attachment meta: %+v", got)
	}
}

func pvWith(handle string) string {
	return `{"metadata":{"name":"pvc-1"},"spec":{"csi":{"driver":"topolvm.io","volumeHandle":"` + handle + `"}}}`
}

func TestBadVolumeHandlesAreErrors(t *testing.T) {
	for handle, want := range map[string]string{
		"":                       "spec.csi.volumeHandle not found",
		"lv;reboot":              `spec.csi.volumeHandle "lv;reboot" is not a logical volume name`,
		"$(reboot)":              `spec.csi.volumeHandle "$(reboot)" is not a logical volume name`,
		"-lv":                    `spec.csi.volumeHandle "-lv" is not a logical volume name`,
		"..":                     `spec.csi.volumeHandle ".." is not a logical volume name`,
		"a/b":                    `spec.csi.volumeHandle "a/b" is not a logical volume name`,
		strings.Repeat("v", 129): "spec.csi.volumeHandle is 129 bytes long, more than 128",
	} {
		for _, f := range []func(driver.Env) driver.Result{preMountCommand, preResizeCommand} {
			drivertest.ExpectError(t, drivertest.Call(t, f, drivertest.Inputs{PersistentVolume: pvWith(handle)}), want)
		}
	}
	drivertest.ExpectError(t, drivertest.Call(t, preMountCommand, drivertest.Inputs{PersistentVolume: `{"spec":{"csi":"x"}}`}),
		"PERSISTENT_VOLUME_JSON: spec.csi is a string, not an object")
}

// fakeDev builds a /dev with the given <volume group>/<volume> entries, each a
// symlink to a file standing for a block device, and shims for blkid (exiting
// blkidExit) and mkfs that log their arguments. Test files cannot be block
// devices, so run swaps the fragment's -b test for -e.
func fakeDev(t *testing.T, volumes []string, blkidExit string) (dev, path, log string) {
	t.Helper()
	dir := t.TempDir()
	dev = filepath.Join(dir, "dev")
	for i, v := range volumes {
		target := filepath.Join(dev, "dm-"+string(rune('0'+i)))
		if err := os.MkdirAll(filepath.Join(dev, filepath.Dir(v)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dev, v)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	log = filepath.Join(dir, "log")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, exit := range map[string]string{"blkid": blkidExit, "mkfs.xfs": "0"} {
		shim := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\nexit " + exit + "\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dev, bin + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

func run(t *testing.T, shell, fragment, dev, path string) (string, error) {
	t.Helper()
	script := strings.ReplaceAll(strings.ReplaceAll(fragment, "/dev/*/", dev+"/*/"), "[ -b ", "[ -e ") +
		` && echo "DEV=$DEV"`
	cmd := exec.Command(shell, "-c", script)
	cmd.Env = []string{"PATH=" + path, "FS=xfs"}
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func TestPreCommandsFindTheLogicalVolume(t *testing.T) {
	const id = "0f6a4c2e-5c6b-4b7e-9d3a-1c2b3a4d5e6f"
	for _, shell := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for _, blkid := range []string{"0", "2"} {
			dev, path, log := fakeDev(t, []string{"vg-ssd/other", "vg-ssd/" + id}, blkid)
			mount := drivertest.Call(t, preMountCommand, drivertest.Inputs{PersistentVolume: pvWith(id)})
			got, err := run(t, shell, mount.Stdout, dev, path)
			want := "DEV=" + filepath.Join(dev, "dm-1")
			if err != nil || got != want {
				t.Errorf("%s: mount gave %q, %v; want %q", shell, got, err, want)
			}
			logged, _ := os.ReadFile(log)
			wantLog := "blkid -p " + filepath.Join(dev, "dm-1") + "\n"
			if blkid != "0" {
				wantLog += "mkfs.xfs " + filepath.Join(dev, "dm-1") + "\n"
			}
			if string(logged) != wantLog {
				t.Errorf("%s: node commands %q, want %q", shell, logged, wantLog)
			}
		}
		resize := drivertest.Call(t, preResizeCommand, drivertest.Inputs{PersistentVolume: pvWith(id)})
		if strings.Contains(resize.Stdout, "mkfs") {
			t.Errorf("resize formats: %q", resize.Stdout)
		}
		// Missing, or in two volume groups: the job fails rather than guess.
		// A device node that is not an LVM symlink is not a second volume.
		dev, path, _ := fakeDev(t, []string{"vg-ssd/" + id}, "0")
		if err := os.MkdirAll(filepath.Join(dev, "topolvm"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dev, "topolvm", id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := run(t, shell, resize.Stdout, dev, path); err != nil || got != "DEV="+filepath.Join(dev, "dm-0") {
			t.Errorf("%s: with /dev/topolvm: %q, %v", shell, got, err)
		}
		for _, volumes := range [][]string{{"vg-ssd/other"}, {"vg-a/" + id, "vg-b/" + id}} {
			dev, path, _ := fakeDev(t, volumes, "0")
			if got, err := run(t, shell, resize.Stdout, dev, path); err == nil || got != "" {
				t.Errorf("%s: %v gave %q, %v", shell, volumes, got, err)
			}
		}
	}
}
