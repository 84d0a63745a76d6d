package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

// TestRunStopsCleanly runs the program as main does and cancels it as a
// signal would: exit code 0 and no socket file left.
func TestRunStopsCleanly(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "run.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"--driver", ebsName + "=" + socket}, &logs) }()

	conn := dial(t, socket)
	// The client waits for the socket to appear (WaitForReady), so this also
	// waits for run to start serving.
	resp, err := csi.NewIdentityClient(conn).GetPluginInfo(testCtx(t), &csi.GetPluginInfoRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetName() != ebsName {
		t.Fatalf("GetPluginInfo = %v, %v", resp, err)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d, want 0; logs:\n%s", c, logs.String())
		}
	case <-time.After(testWait):
		t.Fatal("run did not return after cancel")
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
	first, _, _ := strings.Cut(logs.String(), "\n")
	if !strings.Contains(first, "SIMULATION") || !strings.Contains(first, ebsName) {
		t.Errorf("first log line %q does not announce the simulation", first)
	}
	if !strings.Contains(logs.String(), "method=Identity/GetPluginInfo") {
		t.Errorf("call not logged; logs:\n%s", logs.String())
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--driver", "no-socket"},
		{"--driver", "bad_name!=/tmp/x.sock"},
		{"--driver", "a.b=/tmp/x.sock", "--driver", "c.d=/tmp/x.sock"},
		{"--driver", "a.b=,topology.kubernetes.io/zone"},
		{"--driver", "a.b=/tmp/x.sock", "extra"},
	} {
		var out bytes.Buffer
		if c := run(context.Background(), args, &out); c != 2 {
			t.Errorf("run(%q) = %d, want 2; output:\n%s", args, c, out.String())
		}
	}
}

func TestRunListenFailure(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "missing-dir", "x.sock")
	var out bytes.Buffer
	if c := run(context.Background(), []string{"--driver", ebsName + "=" + socket}, &out); c != 1 {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.Contains(out.String(), socket) {
		t.Errorf("error does not name the socket %s:\n%s", socket, out.String())
	}
}
