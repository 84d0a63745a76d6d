package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

func env(kv ...string) driver.Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return driver.MapEnv(m)
}

func TestIsStorageClassValid(t *testing.T) {
	const wffc = "only volumeBindingMode WaitForFirstConsumer is supported"
	const expansion = "only allowVolumeExpansion true is supported"
	for _, tc := range []struct {
		name, sc string
		want     driver.Result
	}{
		{"ebs-gp3", `{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"ebs-gp3"},"provisioner":"ebs.csi.aws.com","parameters":{"type":"gp3","csi.storage.k8s.io/fstype":"ext4"},"allowVolumeExpansion":true,"reclaimPolicy":"Retain","volumeBindingMode":"WaitForFirstConsumer"}`,
			driver.Result{Stdout: "true"}},
		{"ebs-no-expansion", `{"metadata":{"name":"ebs-no-expansion"},"provisioner":"ebs.csi.aws.com","volumeBindingMode":"WaitForFirstConsumer"}`,
			driver.Result{Stdout: "false", Stderr: expansion}},
		{"ebs-immediate", `{"metadata":{"name":"ebs-immediate"},"provisioner":"ebs.csi.aws.com","allowVolumeExpansion":true,"volumeBindingMode":"Immediate"}`,
			driver.Result{Stdout: "false", Stderr: wffc}},
		{"mode checked first", `{"allowVolumeExpansion":false,"volumeBindingMode":"Immediate"}`,
			driver.Result{Stdout: "false", Stderr: wffc}},
		{"mode absent", `{"allowVolumeExpansion":true}`, driver.Result{Stdout: "true"}},
		{"mode null", `{"allowVolumeExpansion":true,"volumeBindingMode":null}`, driver.Result{Stdout: "true"}},
		{"mode not a string", `{"allowVolumeExpansion":true,"volumeBindingMode":1}`,
			driver.Result{Stdout: "false", Stderr: wffc}},
		{"expansion false", `{"allowVolumeExpansion":false}`, driver.Result{Stdout: "false", Stderr: expansion}},
		{"expansion a string", `{"allowVolumeExpansion":"true"}`, driver.Result{Stdout: "false", Stderr: expansion}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isStorageClassValid(env("STORAGE_CLASS_JSON", tc.sc)); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIsStorageClassValidMalformed(t *testing.T) {
	for _, e := range []driver.Env{env(), env("STORAGE_CLASS_JSON", "{"), env("STORAGE_CLASS_JSON", `"x"`)} {
		got := isStorageClassValid(e)
		// Nothing on stdout: the host must see an error, never true or false.
		if got.Stdout != "" || !strings.HasPrefix(got.Stderr, "STORAGE_CLASS_JSON ") {
			t.Errorf("got %+v", got)
		}
	}
}

func TestStorageClassAllowedTopology(t *testing.T) {
	const node = `{"apiVersion":"v1","kind":"Node","metadata":{"name":"ip-10-0-1-23.eu-west-1.compute.internal","labels":{"kubernetes.io/os":"linux","topology.kubernetes.io/region":"eu-west-1","topology.kubernetes.io/zone":"eu-west-1a"}}}`
	want := driver.Result{Stdout: `[{"matchLabelExpressions":[{"key":"topology.kubernetes.io/zone","values":["eu-west-1a"]}]}]`}
	if got := storageClassAllowedTopology(env("NODE_JSON", node)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	notFound := driver.Result{Stderr: "metadata.labels.'topology.kubernetes.io/zone' not found"}
	for _, n := range []string{
		`{"metadata":{"name":"n"}}`,
		`{"metadata":{"labels":{"topology.kubernetes.io/region":"eu-west-1"}}}`,
		`{"metadata":{"labels":{"topology.kubernetes.io/zone":""}}}`,
	} {
		if got := storageClassAllowedTopology(env("NODE_JSON", n)); got != notFound {
			t.Errorf("%s: got %+v", n, got)
		}
	}

	if got := storageClassAllowedTopology(env()); got != (driver.Result{Stderr: "NODE_JSON is not set"}) {
		t.Errorf("without NODE_JSON: got %+v", got)
	}
}

func pvEnv(handle string) driver.Env {
	pv := `{"kind":"PersistentVolume","spec":{"csi":{"driver":"ebs.csi.aws.com","volumeHandle":"` + handle + `"}}}`
	return env("PERSISTENT_VOLUME_JSON", pv, "VOLUME_ATTACHMENT_JSON", "")
}

func TestPreCommandsErrors(t *testing.T) {
	for name, f := range map[string]func(driver.Env) driver.Result{
		"mount": preMountCommand, "resize": preResizeCommand,
	} {
		notFound := driver.Result{Stderr: "spec.csi.volumeHandle not found"}
		if got := f(env("PERSISTENT_VOLUME_JSON", `{"spec":{"csi":{}}}`)); got != notFound {
			t.Errorf("%s without handle: got %+v", name, got)
		}
		if got := f(pvEnv("")); got != notFound {
			t.Errorf("%s with empty handle: got %+v", name, got)
		}
		for _, bad := range []string{`vol-1;reboot`, `vol-1 $(reboot)`, "vol-`reboot`", `vol-1\"`, `---`, strings.Repeat("a", 129)} {
			got := f(pvEnv(bad))
			if got.Stdout != "" || !strings.HasPrefix(got.Stderr, "spec.csi.volumeHandle ") {
				t.Errorf("%s with handle %q: got %+v", name, bad, got)
			}
		}
		if got := f(env()); got != (driver.Result{Stderr: "PERSISTENT_VOLUME_JSON is not set"}) {
			t.Errorf("%s without PV: got %+v", name, got)
		}
	}
}

// fakeNode makes a directory standing for /sys/block with the given disks and
// their serials (padded like the kernel does), and a PATH whose chroot logs
// the commands meant for the node to log and answers blkid with blkidStatus.
func fakeNode(t *testing.T, serials map[string]string, blkidStatus string) (sysBlock, path, log string) {
	t.Helper()
	dir := t.TempDir()
	sysBlock = filepath.Join(dir, "sys", "block")
	for disk, serial := range serials {
		d := filepath.Join(sysBlock, disk, "device")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "serial"), []byte(serial+"    \n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	log = filepath.Join(dir, "log")
	shim := `#!/bin/sh
# chroot /host nsenter --target 1 --mount CMD ARGS...
shift 5
echo "$*" >> "` + log + `"
case $1 in
blkid) exit ` + blkidStatus + ` ;;
esac
`
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "chroot"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	return sysBlock, bin + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// runFragment runs a command fragment the way the jobs do (followed by && and
// more commands) with sh and bash, and returns what DEV was set to.
func runFragment(t *testing.T, shell, fragment, sysBlock, path string) (dev string, err error) {
	t.Helper()
	script := strings.ReplaceAll(fragment, "/sys/block/", sysBlock+"/") + ` && echo "DEV=$DEV"`
	cmd := exec.Command(shell, "-c", script)
	cmd.Env = []string{"PATH=" + path, "FS=ext4"}
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func shells(t *testing.T) []string {
	var found []string
	for _, s := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(s); err == nil {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		t.Skip("no shell")
	}
	return found
}

func TestPreCommandsFindDisk(t *testing.T) {
	disks := map[string]string{
		"nvme0n1":   "vol0aaaaaaaaaaaaaaaa", // the root disk
		"nvme1n1":   "vol0123456789abcdef0",
		"nvme1c1n1": "vol0123456789abcdef0", // a multipath path, not a disk
	}
	for _, shell := range shells(t) {
		for _, blkid := range []string{"0", "2"} {
			sysBlock, path, log := fakeNode(t, disks, blkid)
			mount := preMountCommand(pvEnv("vol-0123456789abcdef0"))
			if mount.Stderr != "" {
				t.Fatal(mount.Stderr)
			}
			dev, err := runFragment(t, shell, mount.Stdout, sysBlock, path)
			if err != nil || dev != "DEV=/dev/nvme1n1" {
				t.Errorf("%s: mount command gave %q, %v", shell, dev, err)
			}
			logged, _ := os.ReadFile(log)
			want := "blkid -p /dev/nvme1n1\n"
			if blkid != "0" {
				// No file system yet: format it.
				want += "mkfs.ext4 /dev/nvme1n1\n"
			}
			if string(logged) != want {
				t.Errorf("%s, blkid exit %s: node commands %q, want %q", shell, blkid, logged, want)
			}

			resize := preResizeCommand(pvEnv("vol-0123456789abcdef0"))
			dev, err = runFragment(t, shell, resize.Stdout, sysBlock, path)
			if err != nil || dev != "DEV=/dev/nvme1n1" {
				t.Errorf("%s: resize command gave %q, %v", shell, dev, err)
			}
		}

		// A disk that is not there fails the job instead of going on without DEV.
		sysBlock, path, _ := fakeNode(t, disks, "2")
		missing := preResizeCommand(pvEnv("vol-0ffffffffffffffff"))
		dev, err := runFragment(t, shell, missing.Stdout, sysBlock, path)
		if err == nil || dev != "" {
			t.Errorf("%s: missing disk gave %q, %v", shell, dev, err)
		}
	}
}

func TestPreMountToleratesMkfsFailure(t *testing.T) {
	for _, shell := range shells(t) {
		sysBlock, path, _ := fakeNode(t, map[string]string{"nvme1n1": "vol01"}, "2")
		// Make the shim fail every command, mkfs included.
		shimPath := filepath.Join(strings.SplitN(path, string(os.PathListSeparator), 2)[0], "chroot")
		if err := os.WriteFile(shimPath, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		dev, err := runFragment(t, shell, preMountCommand(pvEnv("vol-01")).Stdout, sysBlock, path)
		if err != nil || dev != "DEV=/dev/nvme1n1" {
			t.Errorf("%s: got %q, %v", shell, dev, err)
		}
	}
}

// The limits AWS documents for Elastic Volumes modifications (see
// GetResizePolicy), whatever the StorageClass's volume type.
func TestResizePolicy(t *testing.T) {
	const want = `{"granularity":"1Gi","minimumIncrease":"1Gi","maxModifications":4,"window":"24h"}`
	for _, sc := range []string{
		`{"provisioner":"ebs.csi.aws.com","parameters":{"type":"gp3"}}`,
		`{"provisioner":"ebs.csi.aws.com","parameters":{"type":"io2"}}`,
		`{"provisioner":"ebs.csi.aws.com"}`,
	} {
		if got := resizePolicy(env("STORAGE_CLASS_JSON", sc)); got != (driver.Result{Stdout: want}) {
			t.Errorf("%s: got %+v, want %s", sc, got, want)
		}
	}
	if got := resizePolicy(env()); got.Stdout != "" || !strings.Contains(got.Stderr, "STORAGE_CLASS_JSON") {
		t.Errorf("without a StorageClass: got %+v, want an error naming it", got)
	}
}
