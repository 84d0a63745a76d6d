package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// kwokNodeAnnotation marks the nodes kwok simulates.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// Zones of the simulated nodes, taken in turn: the fixtures' region.
var (
	simRegion = "eu-west-1"
	simZones  = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
)

// NodeName is the name of simulated node i (from 1).
func NodeName(i int) string { return fmt.Sprintf("sim-node-%d", i) }

// simulatedNode is what a kubelet would register: labels for the zone in
// every key the bundled drivers read, attach/detach left to the
// controller-manager (as kubelets do by default), loopback addresses, and the
// simulated statistics' port as the kubelet endpoint.
func simulatedNode(i, kubeletPort int) *corev1.Node {
	name := NodeName(i)
	zone := simZones[(i-1)%len(simZones)]
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname":           name,
				"kubernetes.io/os":                 "linux",
				"kubernetes.io/arch":               "amd64",
				"node.kubernetes.io/instance-type": "simulated",
				"topology.kubernetes.io/region":    simRegion,
				"topology.kubernetes.io/zone":      zone,
				"topology.ebs.csi.aws.com/zone":    zone,
				"topology.gke.io/zone":             zone,
				"type":                             "kwok",
			},
			Annotations: map[string]string{
				kwokNodeAnnotation: "fake",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: corev1.NodeHostName, Address: name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{
				KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kubeletPort)},
			},
		},
	}
}

// registerNodes creates the simulated nodes, their CSINode objects (which a
// kubelet's CSI registration would make: the sidecars read node IDs and
// topology keys from them) and a CSIDriver object per simulated driver.
func (c *cluster) registerNodes(ctx context.Context) error {
	ports, err := pickPorts(c.opts.Nodes)
	if err != nil {
		return err
	}
	c.kubeletPorts = ports
	for _, d := range c.opts.CSIDrivers {
		driver := &storagev1.CSIDriver{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name},
			Spec: storagev1.CSIDriverSpec{
				AttachRequired:       ptr.To(true),
				PodInfoOnMount:       ptr.To(false),
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
			},
		}
		if _, err := c.kube.StorageV1().CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating CSIDriver %s: %w", d.Name, err)
		}
	}
	for i := 1; i <= c.opts.Nodes; i++ {
		node := simulatedNode(i, ports[i-1])
		created, err := c.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating node %s: %w", node.Name, err)
		}
		// The API server may drop status on create; set it for sure.
		created.Status = node.Status
		if _, err := c.kube.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("setting the status of node %s: %w", node.Name, err)
		}
		csiNode := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{
			Name: node.Name,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: created.Name, UID: created.UID,
			}},
		}}
		for _, d := range c.opts.CSIDrivers {
			entry := storagev1.CSINodeDriver{Name: d.Name, NodeID: node.Name}
			if d.TopologyKey != "" {
				entry.TopologyKeys = []string{d.TopologyKey}
			}
			csiNode.Spec.Drivers = append(csiNode.Spec.Drivers, entry)
		}
		if _, err := c.kube.StorageV1().CSINodes().Create(ctx, csiNode, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CSINode %s: %w", node.Name, err)
		}
	}
	return nil
}

// nodesReady is kwok's readiness: every simulated node reports Ready.
func (c *cluster) nodesReady(ctx context.Context) error {
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, node := range nodes.Items {
		for _, condition := range node.Status.Conditions {
			if condition.Type == corev1.NodeReady && condition.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < c.opts.Nodes {
		return fmt.Errorf("%d of %d nodes are Ready", ready, c.opts.Nodes)
	}
	return nil
}

// kubeletPortsUp is the simulated statistics' readiness: every node's port
// answers /healthz over TLS with a certificate of the cluster's CA.
func (c *cluster) kubeletPortsUp(ctx context.Context) error {
	caPEM, err := os.ReadFile(c.l.PKI("ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	for _, port := range c.kubeletPorts {
		if err := httpProbe(client, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), "ok")(ctx); err != nil {
			return err
		}
	}
	return nil
}
