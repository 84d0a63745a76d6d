package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/mock/service"
)

// simDriver is the Kubernetes CSI mock service with the few answers changed
// that a cluster of simulated nodes needs. Every method not overridden here
// (DeleteVolume, ControllerExpandVolume, NodeGetInfo, ...) is the mock's own:
// it already keeps volumes in memory and honours requested and expanded sizes.
// ControllerExpandVolume is the mock's unless a test holds the expansion back
// (hold.go).
type simDriver struct {
	service.Service

	name   string
	logger *slog.Logger
	// holds tells whether an expansion is held back; nil: never.
	holds holdChecker

	// topologyKey is the one segment key this driver reports in CreateVolume.
	topologyKey string
	// mockNodeID is the only node ID the mock accepts in ControllerPublish and
	// ControllerUnpublish (today its driver name); learned from the mock itself
	// so that this does not depend on how the mock picks it.
	mockNodeID string
}

// newSimDriver creates one mock service instance named name. The caller must
// hold mockMu: service.New resets a map that all mock instances share.
func newSimDriver(name, topologyKey string) (*simDriver, error) {
	svc := service.New(service.Config{
		DriverName: name,
		// Not the mock's EnableTopology: that reports a fixed key of the mock's
		// own, while the simulated nodes are labelled with topologyKey.
		EnableTopology: false,
		// The simulated disks are attached by external-attacher and grown by
		// external-resizer alone; there is no kubelet to finish a node expansion.
		NodeExpansionRequired: false,
		// Node calls must never create or remove directories on this host.
		IO: newMemDirIO(),
	})
	info, err := svc.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("driver %s: asking the mock for its node ID: %w", name, err)
	}
	return &simDriver{Service: svc, name: name, logger: slog.Default(), topologyKey: topologyKey, mockNodeID: info.GetNodeId()}, nil
}

// GetPluginCapabilities adds VOLUME_ACCESSIBILITY_CONSTRAINTS to the mock's
// capabilities for a driver with a topology key: only then does
// external-provisioner pass the topology requirements to CreateVolume and give
// the PV a node affinity.
func (d *simDriver) GetPluginCapabilities(ctx context.Context, req *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	resp, err := d.Service.GetPluginCapabilities(ctx, req)
	if err != nil || d.topologyKey == "" {
		return resp, err
	}
	for _, c := range resp.GetCapabilities() {
		if c.GetService().GetType() == csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS {
			return resp, nil
		}
	}
	resp.Capabilities = append(resp.Capabilities, &csi.PluginCapability{
		Type: &csi.PluginCapability_Service_{
			Service: &csi.PluginCapability_Service{
				Type: csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS,
			},
		},
	})
	return resp, nil
}

// CreateVolume lets the mock create the volume (with the requested size) and
// then places it in the topology segment the request asked for, as a real
// zonal disk would be. Without requirements the volume has no topology, so
// the PV gets no node affinity.
func (d *simDriver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	resp, err := d.Service.CreateVolume(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.GetVolume() != nil {
		resp.Volume.AccessibleTopology = pickTopology(req.GetAccessibilityRequirements(), d.topologyKey)
	}
	return resp, nil
}

// pickTopology returns one segment {key: value}, value taken from the first
// preferred term that has key, else from the first requisite term that has it
// (external-provisioner puts the selected node's segment first in preferred).
// It returns nil when no term names key.
func pickTopology(req *csi.TopologyRequirement, key string) []*csi.Topology {
	for _, terms := range [][]*csi.Topology{req.GetPreferred(), req.GetRequisite()} {
		for _, t := range terms {
			if v, ok := t.GetSegments()[key]; ok {
				return []*csi.Topology{{Segments: map[string]string{key: v}}}
			}
		}
	}
	return nil
}

// ControllerPublishVolume maps whatever node ID the caller sends to the
// mock's own: the simulated CSINode objects carry Kubernetes node names, which
// the mock would refuse. The publish context the mock returns is kept.
func (d *simDriver) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	// A copy, so that the caller's request (and the log of it) keeps the real node.
	r := clone(req)
	r.NodeId = d.mockNodeID
	return d.Service.ControllerPublishVolume(ctx, r)
}

// ControllerUnpublishVolume maps the node ID as ControllerPublishVolume does.
// An empty node ID (meaning "from every node") maps to the mock's too, since
// for the mock every node is the same one.
func (d *simDriver) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	r := clone(req)
	r.NodeId = d.mockNodeID
	return d.Service.ControllerUnpublishVolume(ctx, r)
}
