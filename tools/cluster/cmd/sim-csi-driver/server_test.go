package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	gib      = int64(1) << 30
	zoneKey  = "topology.kubernetes.io/zone"
	ebsName  = "ebs.csi.aws.com"
	gkeName  = "pd.csi.storage.gke.io"
	testWait = 10 * time.Second
)

// startSim serves the named drivers on sockets in a fresh temporary directory
// and returns a client connection per driver name.
func startSim(t *testing.T, names ...string) map[string]*grpc.ClientConn {
	t.Helper()
	dir := t.TempDir()
	var specs []driverSpec
	for _, n := range names {
		specs = append(specs, driverSpec{name: n, socket: filepath.Join(dir, n+".sock"), topologyKey: zoneKey})
	}
	sim, err := start(specs, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { sim.Stop(testWait) })
	conns := map[string]*grpc.ClientConn{}
	for _, s := range specs {
		conns[s.name] = dial(t, s.socket)
	}
	return conns
}

func dial(t *testing.T, socket string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", socket, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}

func mountCapability() []*csi.VolumeCapability {
	return []*csi.VolumeCapability{{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}}
}

func zone(z string) *csi.Topology {
	return &csi.Topology{Segments: map[string]string{zoneKey: z}}
}

// TestConcurrentCalls drives two mock instances at once; run with -race it
// checks that mockMu keeps their shared state consistent.
func TestConcurrentCalls(t *testing.T) {
	conns := startSim(t, ebsName, gkeName)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for name, conn := range conns {
		ctrl := csi.NewControllerClient(conn)
		for i := range 4 {
			wg.Go(func() {
				resp, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
					Name:               name + "-" + string(rune('a'+i)),
					CapacityRange:      &csi.CapacityRange{RequiredBytes: gib},
					VolumeCapabilities: mountCapability(),
				})
				if err != nil {
					t.Errorf("CreateVolume: %v", err)
					return
				}
				if _, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
					VolumeId: resp.GetVolume().GetVolumeId(), NodeId: "node-1", VolumeCapability: mountCapability()[0],
				}); err != nil {
					t.Errorf("ControllerPublishVolume: %v", err)
				}
				if _, err := ctrl.ListVolumes(ctx, &csi.ListVolumesRequest{}); err != nil {
					t.Errorf("ListVolumes: %v", err)
				}
			})
		}
	}
	wg.Wait()
}

func TestStaleSocketReplaced(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	// Leave the socket file behind as a crashed process would.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()

	sim, err := start([]driverSpec{{ebsName, socket, zoneKey}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatalf("start over a stale socket: %v", err)
	}
	defer sim.Stop(testWait)
	resp, err := csi.NewIdentityClient(dial(t, socket)).GetPluginInfo(testCtx(t), &csi.GetPluginInfoRequest{})
	if err != nil || resp.GetName() != ebsName {
		t.Fatalf("GetPluginInfo = %v, %v", resp, err)
	}
}

func TestSocketPathRefused(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(regular, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	for _, tc := range []struct{ socket, want string }{
		{regular, "is a regular file, not a socket"},
		{live, "another process is listening on it"},
	} {
		// A good first driver too: its socket must not survive the failure.
		good := filepath.Join(dir, "good.sock")
		_, err := start([]driverSpec{{gkeName, good, ""}, {ebsName, tc.socket, zoneKey}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		if err == nil || !strings.Contains(err.Error(), tc.socket) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start on %s: error %v, want one naming the path and saying %q", tc.socket, err, tc.want)
		}
		if _, err := os.Lstat(good); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket %s left behind after a failed start: %v", good, err)
		}
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
		t.Errorf("regular file changed: %q, %v", b, err)
	}
}
