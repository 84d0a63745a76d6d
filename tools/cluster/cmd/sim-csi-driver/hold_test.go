package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeHolds gives the hold of each volume in held; fails every lookup when
// err is set.
type fakeHolds struct {
	held map[string]string
	err  error
}

func (f *fakeHolds) heldBy(_ context.Context, driver, volumeID string) (string, string, error) {
	if f.err != nil {
		return "", "", f.err
	}
	return "e2e/data", f.held[driver+"/"+volumeID], nil
}

func startHeld(t *testing.T, holds holdChecker) csi.ControllerClient {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "ebs.sock")
	sim, err := start([]driverSpec{{ebsName, socket, ""}}, slog.New(slog.NewTextHandler(io.Discard, nil)), holds)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { sim.Stop(shutdownTimeout) })
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return csi.NewControllerClient(conn)
}

func TestExpansionHeldUntilReleased(t *testing.T) {
	holds := &fakeHolds{held: map[string]string{}}
	ctrl := startHeld(t, holds)
	ctx := testCtx(t)
	created, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-held", CapacityRange: &csi.CapacityRange{RequiredBytes: gib},
		VolumeCapabilities: mountCapability(),
	})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	id := created.GetVolume().GetVolumeId()
	expand := func() (*csi.ControllerExpandVolumeResponse, error) {
		return ctrl.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
			VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 * gib},
			VolumeCapability: mountCapability()[0],
		})
	}

	for hold, code := range map[string]codes.Code{"true": codes.Unavailable, "fail": codes.Internal} {
		holds.held[ebsName+"/"+id] = hold
		_, err = expand()
		if status.Code(err) != code || !strings.Contains(err.Error(), "SIMULATION: expansion held") ||
			!strings.Contains(err.Error(), "e2e/data") || !strings.Contains(err.Error(), holdAnnotation) {
			t.Fatalf("hold %q: error %v, want %v naming the simulation, the PVC and the annotation", hold, err, code)
		}
	}

	holds.err = errors.New("connection refused")
	if _, err := expand(); status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("lookup failing: error %v, want Unavailable with the cause", err)
	}

	holds.err = nil
	holds.held[ebsName+"/"+id] = "false" // not a hold
	resp, err := expand()
	if err != nil || resp.GetCapacityBytes() != 2*gib {
		t.Fatalf("released: %v, %v; want 2 GiB", resp, err)
	}
}

func TestWithoutKubeconfigNothingIsHeld(t *testing.T) {
	ctrl := startHeld(t, nil)
	ctx := testCtx(t)
	created, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-free", CapacityRange: &csi.CapacityRange{RequiredBytes: gib},
		VolumeCapabilities: mountCapability(),
	})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	if _, err := ctrl.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
		VolumeId: created.GetVolume().GetVolumeId(), CapacityRange: &csi.CapacityRange{RequiredBytes: 2 * gib},
		VolumeCapability: mountCapability()[0],
	}); err != nil {
		t.Fatalf("ControllerExpandVolume: %v", err)
	}
}

func TestAPIHoldsReadsThePVCOfTheVolume(t *testing.T) {
	pv := func(name, driver, handle, claim string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}},
				ClaimRef:               &corev1.ObjectReference{Namespace: "e2e", Name: claim},
			},
		}
	}
	pvc := func(name, hold string) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "e2e", Name: name}}
		if hold != "" {
			c.Annotations = map[string]string{holdAnnotation: hold}
		}
		return c
	}
	h := &apiHolds{client: fake.NewClientset(
		pv("pv-a", ebsName, "1", "held"), pvc("held", "true"),
		// The same handle under another driver: mock IDs repeat across drivers.
		pv("pv-b", gkeName, "1", "free"), pvc("free", ""),
		pv("pv-c", ebsName, "2", "other"), pvc("other", "false"),
	)}
	for _, tc := range []struct {
		driver, id, claim, hold string
	}{
		{ebsName, "1", "e2e/held", "true"},
		{gkeName, "1", "e2e/free", ""},
		{ebsName, "2", "e2e/other", "false"},
		{ebsName, "3", "", ""}, // no PV yet
	} {
		claim, hold, err := h.heldBy(context.Background(), tc.driver, tc.id)
		if err != nil || claim != tc.claim || hold != tc.hold {
			t.Errorf("%s %s: %q %q %v; want %q %q", tc.driver, tc.id, claim, hold, err, tc.claim, tc.hold)
		}
	}
}
