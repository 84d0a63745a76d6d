package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

func TestGetPluginInfoTwoDrivers(t *testing.T) {
	conns := startSim(t, ebsName, gkeName)
	for name, conn := range conns {
		resp, err := csi.NewIdentityClient(conn).GetPluginInfo(testCtx(t), &csi.GetPluginInfoRequest{})
		if err != nil {
			t.Fatalf("%s: GetPluginInfo: %v", name, err)
		}
		if resp.GetName() != name {
			t.Errorf("GetPluginInfo on %s's socket = %q", name, resp.GetName())
		}
	}
}

func TestGetPluginCapabilities(t *testing.T) {
	conn := startSim(t, ebsName)[ebsName]
	resp, err := csi.NewIdentityClient(conn).GetPluginCapabilities(testCtx(t), &csi.GetPluginCapabilitiesRequest{})
	if err != nil {
		t.Fatalf("GetPluginCapabilities: %v", err)
	}
	got := map[csi.PluginCapability_Service_Type]int{}
	for _, c := range resp.GetCapabilities() {
		if s := c.GetService(); s != nil {
			got[s.GetType()]++
		}
	}
	for _, want := range []csi.PluginCapability_Service_Type{
		csi.PluginCapability_Service_CONTROLLER_SERVICE,
		csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS,
	} {
		if got[want] != 1 {
			t.Errorf("capability %v reported %d times, want once; all: %v", want, got[want], resp.GetCapabilities())
		}
	}
}

func TestCreateVolumeTopology(t *testing.T) {
	ctrl := csi.NewControllerClient(startSim(t, ebsName)[ebsName])
	tests := []struct {
		name     string
		req      *csi.TopologyRequirement
		wantZone string // "" for no topology
	}{
		{"preferred", &csi.TopologyRequirement{
			Requisite: []*csi.Topology{zone("zone-a"), zone("zone-b")},
			Preferred: []*csi.Topology{zone("zone-b"), zone("zone-a")},
		}, "zone-b"},
		{"requisite-only", &csi.TopologyRequirement{
			Requisite: []*csi.Topology{zone("zone-c")},
		}, "zone-c"},
		{"preferred-without-key", &csi.TopologyRequirement{
			Requisite: []*csi.Topology{zone("zone-a")},
			Preferred: []*csi.Topology{{Segments: map[string]string{"other": "x"}}},
		}, "zone-a"},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ctrl.CreateVolume(testCtx(t), &csi.CreateVolumeRequest{
				Name:                      "pvc-" + tc.name,
				CapacityRange:             &csi.CapacityRange{RequiredBytes: 2 * gib},
				VolumeCapabilities:        mountCapability(),
				AccessibilityRequirements: tc.req,
			})
			if err != nil {
				t.Fatalf("CreateVolume: %v", err)
			}
			vol := resp.GetVolume()
			if vol.GetCapacityBytes() != 2*gib {
				t.Errorf("capacity = %d, want %d", vol.GetCapacityBytes(), 2*gib)
			}
			topo := vol.GetAccessibleTopology()
			if tc.wantZone == "" {
				if len(topo) != 0 {
					t.Errorf("accessible topology = %v, want none", topo)
				}
				return
			}
			if len(topo) != 1 || len(topo[0].GetSegments()) != 1 || topo[0].GetSegments()[zoneKey] != tc.wantZone {
				t.Errorf("accessible topology = %v, want one segment %s=%s", topo, zoneKey, tc.wantZone)
			}
		})
	}
}

func TestPublishUnpublishExpand(t *testing.T) {
	ctrl := csi.NewControllerClient(startSim(t, ebsName)[ebsName])
	ctx := testCtx(t)
	created, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "pvc-publish",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 2 * gib},
		VolumeCapabilities: mountCapability(),
	})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	id := created.GetVolume().GetVolumeId()

	pub, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
		VolumeId:         id,
		NodeId:           "node-1",
		VolumeCapability: mountCapability()[0],
	})
	if err != nil {
		t.Fatalf("ControllerPublishVolume to node-1: %v", err)
	}
	if pub.GetPublishContext()["device"] == "" {
		t.Errorf("publish context %v has no device", pub.GetPublishContext())
	}

	exp, err := ctrl.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
		VolumeId:         id,
		CapacityRange:    &csi.CapacityRange{RequiredBytes: 3 * gib},
		VolumeCapability: mountCapability()[0],
	})
	if err != nil {
		t.Fatalf("ControllerExpandVolume: %v", err)
	}
	if exp.GetCapacityBytes() != 3*gib || exp.GetNodeExpansionRequired() {
		t.Errorf("ControllerExpandVolume = %d bytes, node expansion %v; want %d, false",
			exp.GetCapacityBytes(), exp.GetNodeExpansionRequired(), 3*gib)
	}

	if _, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{
		VolumeId: id, NodeId: "node-1",
	}); err != nil {
		t.Fatalf("ControllerUnpublishVolume from node-1: %v", err)
	}
	if _, err := ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
}

// TestNodeCallsLeaveFilesystemAlone checks that the mock's node service, kept
// on memDirIO, neither creates nor removes directories on this host.
func TestNodeCallsLeaveFilesystemAlone(t *testing.T) {
	conn := startSim(t, ebsName)[ebsName]
	ctrl, node := csi.NewControllerClient(conn), csi.NewNodeClient(conn)
	ctx := testCtx(t)
	created, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-node", CapacityRange: &csi.CapacityRange{RequiredBytes: gib}, VolumeCapabilities: mountCapability(),
	})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	id := created.GetVolume().GetVolumeId()
	pub, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
		VolumeId: id, NodeId: "node-1", VolumeCapability: mountCapability()[0],
	})
	if err != nil {
		t.Fatalf("ControllerPublishVolume: %v", err)
	}

	dir := t.TempDir()
	target := filepath.Join(dir, "mount")
	if _, err := node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: id, TargetPath: target, VolumeCapability: mountCapability()[0], PublishContext: pub.GetPublishContext(),
	}); err != nil {
		t.Fatalf("NodePublishVolume: %v", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NodePublishVolume touched %s: %v", target, err)
	}

	// A real directory at the target path must survive NodeUnpublishVolume.
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target}); err != nil {
		t.Fatalf("NodeUnpublishVolume: %v", err)
	}
	if _, err := os.Stat(target); err != nil {
		t.Errorf("NodeUnpublishVolume removed %s: %v", target, err)
	}
}

// A driver without a topology key is a network disk: no accessibility
// constraints, so the provisioner passes none and the PV has no node affinity.
func TestNoTopologyKeyNoConstraints(t *testing.T) {
	mockMu.Lock() // called directly, not through the serialising interceptor
	defer mockMu.Unlock()
	d, err := newSimDriver("csi.storageos.com", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.GetPluginCapabilities(testCtx(t), &csi.GetPluginCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.GetCapabilities() {
		if c.GetService().GetType() == csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS {
			t.Errorf("a driver without a topology key reports VOLUME_ACCESSIBILITY_CONSTRAINTS")
		}
	}
	created, err := d.CreateVolume(testCtx(t), &csi.CreateVolumeRequest{
		Name:                      "no-topology",
		CapacityRange:             &csi.CapacityRange{RequiredBytes: 1 << 30},
		VolumeCapabilities:        []*csi.VolumeCapability{{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}}, AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}},
		AccessibilityRequirements: &csi.TopologyRequirement{Preferred: []*csi.Topology{zone("zone-a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if topo := created.GetVolume().GetAccessibleTopology(); len(topo) != 0 {
		t.Errorf("accessible topology = %v, want none", topo)
	}
}
