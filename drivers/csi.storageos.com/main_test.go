package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

func TestIsStorageClassValid(t *testing.T) {
	const immediate = "only volumeBindingMode Immediate is supported"
	const expansion = "only allowVolumeExpansion true is supported"
	for _, tc := range []struct {
		name, sc string
		want     driver.Result
	}{
		{"storageos", `{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"storageos"},"provisioner":"csi.storageos.com","parameters":{"csi.storage.k8s.io/fstype":"ext4","storageos.com/replicas":"1"},"allowVolumeExpansion":true,"volumeBindingMode":"Immediate"}`,
			driver.Result{Stdout: "true"}},
		{"storageos-wffc", `{"metadata":{"name":"storageos-wffc"},"provisioner":"csi.storageos.com","allowVolumeExpansion":true,"volumeBindingMode":"WaitForFirstConsumer"}`,
			driver.Result{Stdout: "false", Stderr: immediate}},
		{"mode absent", `{"allowVolumeExpansion":true}`, driver.Result{Stdout: "true"}},
		{"mode null", `{"allowVolumeExpansion":true,"volumeBindingMode":null}`, driver.Result{Stdout: "true"}},
		{"mode checked first", `{"volumeBindingMode":"WaitForFirstConsumer"}`,
			driver.Result{Stdout: "false", Stderr: immediate}},
		{"no expansion", `{"volumeBindingMode":"Immediate"}`, driver.Result{Stdout: "false", Stderr: expansion}},
		{"expansion false", `{"allowVolumeExpansion":false}`, driver.Result{Stdout: "false", Stderr: expansion}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := driver.MapEnv(map[string]string{"STORAGE_CLASS_JSON": tc.sc})
			if got := isStorageClassValid(e); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	got := isStorageClassValid(driver.MapEnv(map[string]string{"STORAGE_CLASS_JSON": "not json"}))
	if got.Stdout != "" || !strings.HasPrefix(got.Stderr, "STORAGE_CLASS_JSON is not valid JSON: ") {
		t.Errorf("malformed: got %+v", got)
	}
}

// TestPreMountCommand runs the fragment against a fake node: the chroot shim
// runs the node's lookup with /var/lib moved into a temporary directory, and
// only logs mkdir, mountpoint (answering "not mounted") and mount.
func TestPreMountCommand(t *testing.T) {
	for _, shell := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for _, tc := range []struct {
			name, pv string
			states   map[string]string
			wantDev  string
			wantLog  string
		}{
			{"one match", "pvc-1", map[string]string{
				"v.aaa.json": `{"name":"pvc-12"}`,
				"v.bbb.json": `{"name":"pvc-1"}`,
			}, "DEV=/pvc-1", "mkdir\nmountpoint\nmount /var/lib/storageos/volumes/v.bbb /var/lib/kubelet/plugins/kubernetes.io/csi/pv/pvc-1/discoblocks\n"},
			{"no match", "pvc-3", map[string]string{"v.aaa.json": `{"name":"pvc-12"}`}, "", ""},
			{"two matches", "pvc-1", map[string]string{
				"v.aaa.json": `{"name":"pvc-1"}`,
				"v.bbb.json": `{"name":"pvc-1"}`,
			}, "", ""},
		} {
			dir := t.TempDir()
			varLib := filepath.Join(dir, "var", "lib")
			state := filepath.Join(varLib, "storageos", "state")
			if err := os.MkdirAll(state, 0o755); err != nil {
				t.Fatal(err)
			}
			for f, content := range tc.states {
				if err := os.WriteFile(filepath.Join(state, f), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(dir, "log")
			shim := `#!/bin/sh
shift 5
case $1 in
mkdir|mountpoint) echo "$1" >> "` + log + `"; [ "$1" = mkdir ] ;;
mount) echo "$*" >> "` + log + `" ;;
*) for a; do set -- "$@" "$(echo "$a" | sed "s|/var/lib/|` + varLib + `/|g")"; shift; done; "$@" ;;
esac
`
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "chroot"), []byte(shim), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(shell, "-c", preMountCommand+` && echo "DEV=$DEV"`)
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "PV_NAME=" + tc.pv}
			out, err := cmd.Output()
			dev := strings.TrimSpace(string(out))
			logged, _ := os.ReadFile(log)
			want := tc.wantLog
			if dev != tc.wantDev || string(logged) != want || (err == nil) != (tc.wantDev != "") {
				t.Errorf("%s, %s: DEV %q, err %v, node commands %q; want DEV %q, commands %q",
					shell, tc.name, dev, err, logged, tc.wantDev, want)
			}
		}
	}
}

func TestPreMountCommandNeedsPVName(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command("sh", "-c", preMountCommand)
	cmd.Env = []string{"PATH=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "PV_NAME is not set") {
		t.Errorf("got %q, %v", out, err)
	}
}
