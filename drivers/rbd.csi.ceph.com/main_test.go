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

// class returns the valid testdata class with its parameters changed: a value
// of "" removes the parameter.
func class(t *testing.T, mode string, params map[string]string) string {
	t.Helper()
	sc := drivertest.File(t, "testdata/storageclass.json")
	raw := driver.MapEnv(map[string]string{driver.StorageClassVar: sc})
	v, err := raw.JSONObject(driver.StorageClassVar)
	if err != nil {
		t.Fatal(err)
	}
	p := v.Get("parameters")
	for k, val := range params {
		if val == "" {
			p.Del(k)
			continue
		}
		p.Set(k, fastString(val))
	}
	if mode != "" {
		v.Set("volumeBindingMode", fastString(mode))
	}
	return v.String()
}

func TestValidClasses(t *testing.T) {
	drivertest.ExpectBool(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{
		StorageClass: drivertest.File(t, "testdata/storageclass.json"),
	}), true, "")
	for _, params := range []map[string]string{
		{"imageFeatures": "layering,journaling,exclusive-lock,object-map,fast-diff,deep-flatten"},
		{"csi.storage.k8s.io/fstype": "xfs", "mounter": "rbd"},
		{"encrypted": "false", "tryOtherMounters": "false"},
		{"imageFeatures": ""},
	} {
		drivertest.ExpectBool(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{StorageClass: class(t, "", params)}), true, "")
	}
	drivertest.ExpectBool(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{
		StorageClass: class(t, "WaitForFirstConsumer", map[string]string{"pool": "", "topologyConstrainedPools": `[{"poolName":"p0"}]`}),
	}), true, "")
}

func TestInvalidClasses(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		params map[string]string
		reason string
	}{
		{"", map[string]string{"clusterID": ""}, "parameters.clusterID is required"},
		{"", map[string]string{"clusterID": strings.Repeat("c", 37)}, "parameters.clusterID is 37 bytes long, more than 36"},
		{"", map[string]string{"pool": ""}, "parameters.pool is required (or topologyConstrainedPools)"},
		{"", map[string]string{"csi.storage.k8s.io/provisioner-secret-name": ""}, "parameters.csi.storage.k8s.io/provisioner-secret-name is required"},
		{"", map[string]string{"csi.storage.k8s.io/node-stage-secret-namespace": ""}, "parameters.csi.storage.k8s.io/node-stage-secret-namespace is required"},
		{"", map[string]string{"csi.storage.k8s.io/controller-expand-secret-name": ""}, "parameters.csi.storage.k8s.io/controller-expand-secret-name is required"},
		{"", map[string]string{"imageFeatures": "layering,striping"}, `parameters.imageFeatures: "striping" is not one of layering, journaling, exclusive-lock, object-map, fast-diff, deep-flatten`},
		{"", map[string]string{"csi.storage.k8s.io/fstype": "btrfs"}, "parameters.csi.storage.k8s.io/fstype must be ext4 or xfs"},
		{"", map[string]string{"mounter": "rbd-nbd"}, "only the krbd mounter is supported (parameters.mounter absent or rbd)"},
		{"", map[string]string{"tryOtherMounters": "true"}, "parameters.tryOtherMounters true is not supported: it may map with rbd-nbd"},
		{"", map[string]string{"encrypted": "true"}, "parameters.encrypted true is not supported"},
		{"Immediate", map[string]string{"topologyConstrainedPools": `[{"poolName":"p0"}]`}, "topologyConstrainedPools needs volumeBindingMode WaitForFirstConsumer"},
	} {
		drivertest.ExpectBool(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{StorageClass: class(t, tc.mode, tc.params)}), false, tc.reason)
	}
	drivertest.ExpectBool(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{
		StorageClass: `{"parameters":{"clusterID":"c","pool":"p","csi.storage.k8s.io/provisioner-secret-name":"s","csi.storage.k8s.io/provisioner-secret-namespace":"n","csi.storage.k8s.io/node-stage-secret-name":"s","csi.storage.k8s.io/node-stage-secret-namespace":"n","csi.storage.k8s.io/controller-expand-secret-name":"s","csi.storage.k8s.io/controller-expand-secret-namespace":"n"}}`,
	}), false, "only allowVolumeExpansion true is supported")
}

func TestMalformedClassesAreErrors(t *testing.T) {
	for sc, want := range map[string]string{
		`{"parameters":[]}`:             "STORAGE_CLASS_JSON: parameters is an array, not an object",
		`{"allowVolumeExpansion":"no"}`: "STORAGE_CLASS_JSON: allowVolumeExpansion is a string, not a boolean",
		`[]`:                            "STORAGE_CLASS_JSON",
	} {
		drivertest.ExpectError(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{StorageClass: sc}), want)
	}
	drivertest.ExpectError(t, drivertest.Call(t, isStorageClassValid, drivertest.Inputs{}), "STORAGE_CLASS_JSON is not set")
}

func TestConstants(t *testing.T) {
	node := drivertest.Inputs{Node: `{"metadata":{"labels":{"topology.kubernetes.io/zone":"a"}}}`}
	if got := drivertest.Call(t, storageClassAllowedTopology, node); got != (driver.Result{}) {
		t.Errorf("topology: %+v", got)
	}
	drivertest.ExpectJSON(t, drivertest.Call(t, podLabels, drivertest.Inputs{}), `{"app":"ceph-csi-rbd","component":"nodeplugin"}`)
	drivertest.ExpectBool(t, drivertest.Call(t, fileSystemManaged, drivertest.Inputs{}), true, "")
	if got := drivertest.Call(t, attachmentMetaKey, drivertest.Inputs{}); got != (driver.Result{}) {
		t.Errorf("attachment meta: %+v", got)
	}
}

// pv returns the testdata PV with its volume attributes changed ("" removes).
func pv(t *testing.T, attrs map[string]string) string {
	t.Helper()
	env := driver.MapEnv(map[string]string{driver.PersistentVolumeVar: drivertest.File(t, "testdata/pv.json")})
	v, err := env.JSONObject(driver.PersistentVolumeVar)
	if err != nil {
		t.Fatal(err)
	}
	a := v.Get("spec", "csi", "volumeAttributes")
	for k, val := range attrs {
		if val == "" {
			a.Del(k)
			continue
		}
		a.Set(k, fastString(val))
	}
	return v.String()
}

func TestBadVolumeAttributesAreErrors(t *testing.T) {
	for _, tc := range []struct {
		attrs map[string]string
		want  string
	}{
		{map[string]string{"imageName": ""}, "spec.csi.volumeAttributes.imageName not found"},
		{map[string]string{"pool": ""}, "spec.csi.volumeAttributes.pool not found"},
		{map[string]string{"imageName": "csi-vol-1;reboot"}, `spec.csi.volumeAttributes.imageName "csi-vol-1;reboot" has characters outside [A-Za-z0-9._-]`},
		{map[string]string{"radosNamespace": "$(reboot)"}, `spec.csi.volumeAttributes.radosNamespace "$(reboot)" has characters outside`},
		{map[string]string{"pool": strings.Repeat("p", 254)}, "spec.csi.volumeAttributes.pool is 254 bytes long, more than 253"},
		{map[string]string{"mounter": "rbd-nbd"}, "spec.csi.volumeAttributes.mounter rbd-nbd is not supported"},
		{map[string]string{"encrypted": "true"}, "spec.csi.volumeAttributes.encrypted true is not supported"},
	} {
		for _, f := range []func(driver.Env) driver.Result{preMountCommand, preResizeCommand} {
			drivertest.ExpectError(t, drivertest.Call(t, f, drivertest.Inputs{PersistentVolume: pv(t, tc.attrs)}), tc.want)
		}
	}
	drivertest.ExpectError(t, drivertest.Call(t, preResizeCommand, drivertest.Inputs{
		PersistentVolume: `{"spec":{"csi":{"volumeAttributes":[]}}}`,
	}), "PERSISTENT_VOLUME_JSON: spec.csi.volumeAttributes is an array, not an object")
	drivertest.ExpectError(t, drivertest.Call(t, preResizeCommand, drivertest.Inputs{}), "PERSISTENT_VOLUME_JSON is not set")
}

// fakeNode builds a /sys/bus/rbd/devices with the given mappings (id -> pool,
// namespace, image, snapshot) and shims for blkid (exiting blkidExit) and mkfs
// that log their arguments.
func fakeNode(t *testing.T, mappings map[string][4]string, blkidExit string) (sys, path, log string) {
	t.Helper()
	dir := t.TempDir()
	sys = filepath.Join(dir, "devices")
	for id, m := range mappings {
		d := filepath.Join(sys, id)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"pool": m[0], "name": m[2], "current_snap": m[3]}
		if m[1] != "-" { // "-": a kernel without namespace support
			files["pool_ns"] = m[1]
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	bin := filepath.Join(dir, "bin")
	log = filepath.Join(dir, "log")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, exit := range map[string]string{"blkid": blkidExit, "mkfs.ext4": "0"} {
		shim := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\nexit " + exit + "\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sys, bin + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// run runs a fragment as the jobs do (followed by && and more commands) and
// returns what DEV was set to.
func run(t *testing.T, shell, fragment, sys, path string) (string, error) {
	t.Helper()
	script := strings.ReplaceAll(fragment, "/sys/bus/rbd/devices", sys) + ` && echo "DEV=$DEV"`
	cmd := exec.Command(shell, "-c", script)
	cmd.Env = []string{"PATH=" + path, "FS=ext4"}
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func TestPreCommandsFindTheMappedImage(t *testing.T) {
	const image = "csi-vol-0c4bd9e6-8a1f-11ee-9d0d-0242ac110002"
	mappings := map[string][4]string{
		"0": {"other", "", image, "-"},       // same image name, other pool
		"1": {"kubernetes", "", image, "s1"}, // a snapshot of it
		"2": {"kubernetes", "", "csi-vol-x", "-"},
		"3": {"kubernetes", "", image, "-"}, // the one
	}
	for _, shell := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for _, blkid := range []string{"0", "2"} {
			sys, path, log := fakeNode(t, mappings, blkid)
			mount := drivertest.Call(t, preMountCommand, drivertest.Inputs{PersistentVolume: drivertest.File(t, "testdata/pv.json")})
			dev, err := run(t, shell, mount.Stdout, sys, path)
			if err != nil || dev != "DEV=/dev/rbd3" {
				t.Errorf("%s: mount gave %q, %v (stderr %q)", shell, dev, err, mount.Stderr)
			}
			logged, _ := os.ReadFile(log)
			want := "blkid -p /dev/rbd3\n"
			if blkid != "0" {
				want += "mkfs.ext4 /dev/rbd3\n" // no signature: a new image
			}
			if string(logged) != want {
				t.Errorf("%s: node commands %q, want %q", shell, logged, want)
			}
		}
		sys, path, _ := fakeNode(t, mappings, "0")
		resize := drivertest.Call(t, preResizeCommand, drivertest.Inputs{PersistentVolume: drivertest.File(t, "testdata/pv.json")})
		if strings.Contains(resize.Stdout, "mkfs") {
			t.Errorf("resize formats: %q", resize.Stdout)
		}
		if dev, err := run(t, shell, resize.Stdout, sys, path); err != nil || dev != "DEV=/dev/rbd3" {
			t.Errorf("%s: resize gave %q, %v", shell, dev, err)
		}
		// In a namespace: only the mapping in that namespace; a kernel without
		// namespaces has none.
		sys, path, _ = fakeNode(t, map[string][4]string{
			"0": {"kubernetes", "-", image, "-"}, "5": {"kubernetes", "tenant", image, "-"},
		}, "0")
		ns := drivertest.Call(t, preResizeCommand, drivertest.Inputs{PersistentVolume: pv(t, map[string]string{"radosNamespace": "tenant"})})
		if dev, err := run(t, shell, ns.Stdout, sys, path); err != nil || dev != "DEV=/dev/rbd5" {
			t.Errorf("%s: namespace gave %q, %v", shell, dev, err)
		}
		// Not mapped: the job fails rather than going on without DEV.
		sys, path, _ = fakeNode(t, map[string][4]string{"2": mappings["2"]}, "0")
		if dev, err := run(t, shell, resize.Stdout, sys, path); err == nil || dev != "" {
			t.Errorf("%s: unmapped image gave %q, %v", shell, dev, err)
		}
	}
}
