package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The old start script failed with "etcd exited during start" under load and
// whenever it ran in a command substitution under timeout, and one such
// failure left etcd running. Both ways of running it, together: a command
// substitution under timeout while every core is busy.
func TestStartUnderTimeoutAndLoad(t *testing.T) {
	var stop atomic.Bool
	for range runtime.NumCPU() {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	defer stop.Store(true)
	for attempt := range 3 {
		dir := t.TempDir()
		shell := `kubeconfig=$(timeout 300 "$0" start --control-plane-only --data-dir "$1") && test -s "$kubeconfig"`
		out, err := exec.Command("bash", "-c", shell, script(), dir).CombinedOutput()
		if err != nil {
			t.Fatalf("start %d: %v\n%s", attempt, err, out)
		}
		if _, err := runScript("stop", "--data-dir", dir); err != nil {
			t.Fatal(err)
		}
		if left := processesUsing(dir); len(left) != 0 {
			t.Fatalf("left after stop %d:\n%s", attempt, strings.Join(left, "\n"))
		}
	}
}

// A component that cannot start fails the start with its log's end, and
// leaves nothing running.
func TestFailedStartLeavesNothing(t *testing.T) {
	binDir, err := runScript("build", "--control-plane-only")
	if err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	for _, name := range []string{"kube-apiserver", "kubectl"} {
		if err := os.Symlink(filepath.Join(binDir, name), filepath.Join(broken, name)); err != nil {
			t.Fatal(err)
		}
	}
	// etcd that says why it cannot run, then exits.
	if err := os.WriteFile(filepath.Join(broken, "etcd"), []byte("#!/bin/sh\necho 'etcd: simulated failure' >&2\nsleep 0.5\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	localcluster := buildLocalcluster(t)
	out, err := exec.Command(localcluster, "start", "--control-plane-only", "--data-dir", dir, "--bin-dir", broken).CombinedOutput()
	if err == nil {
		t.Fatalf("start succeeded with a broken etcd:\n%s", out)
	}
	for _, want := range []string{"etcd exited during start", "exit status 3", "etcd: simulated failure"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
	if left := processesUsing(dir); len(left) != 0 {
		t.Errorf("left after a failed start:\n%s", strings.Join(left, "\n"))
	}
}

// A cluster started for a process stops by itself once that process is gone.
func TestOwnerGoneStopsCluster(t *testing.T) {
	owner := exec.Command("sleep", "600")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := runScript("start", "--control-plane-only", "--data-dir", dir, "--owner-pid", itoa(owner.Process.Pid)); err != nil {
		owner.Process.Kill()
		t.Fatal(err)
	}
	defer runScript("stop", "--data-dir", dir) //nolint:errcheck // only if the test failed
	if len(processesUsing(dir)) < 3 {
		t.Fatalf("the cluster does not run: %v", processesUsing(dir))
	}
	owner.Process.Kill()
	owner.Wait()
	eventually(t, 60*time.Second, "the cluster stops after its owner", func(context.Context) error {
		if left := processesUsing(dir); len(left) != 0 {
			return errorf("still running: %v", left)
		}
		return nil
	})
}

// The API server stops and starts again on the same port, etcd keeping the
// data. Before that: a second start keeps the running cluster (start is
// idempotent).
func TestRestartAPIServer(t *testing.T) {
	c := startCluster(t, "--control-plane-only")
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, namespaceObject("kept"), createOptions); err != nil {
		t.Fatal(err)
	}
	again, err := runScript("start", "--control-plane-only", "--data-dir", c.dir)
	if err != nil || again != c.kubeconfig {
		t.Fatalf("a second start: %q, %v", again, err)
	}
	if _, err := c.kube.CoreV1().Namespaces().Get(ctx, "kept", getOptions); err != nil {
		t.Fatalf("after a second start, the cluster lost its data or its address: %v", err)
	}
	if _, err := runScript("stop-apiserver", "--data-dir", c.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.CoreV1().Namespaces().Get(ctx, "kept", getOptions); err == nil {
		t.Fatal("the API server answers after stop-apiserver")
	}
	if _, err := runScript("start-apiserver", "--data-dir", c.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.CoreV1().Namespaces().Get(ctx, "kept", getOptions); err != nil {
		t.Fatalf("after start-apiserver: %v", err)
	}
}
