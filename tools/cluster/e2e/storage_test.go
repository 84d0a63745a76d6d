package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const (
	namespace = "e2e"
	zoneLabel = "topology.kubernetes.io/zone"
	wantZone  = "eu-west-1b"
)

// TestFullCluster runs the cluster's whole life in order: storage for a pod,
// growth, attachment, a Job, the statistics, a growth held back by the
// simulated driver, and a stop that leaves nothing.
func TestFullCluster(t *testing.T) {
	c := startCluster(t, "--nodes", "3")
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	var pvName string
	t.Run("pod with an EBS volume runs in the StorageClass's zone", func(t *testing.T) {
		pod, pvName = podWithVolume(t, c)
	})
	if pod == nil {
		t.FailNow()
	}
	t.Run("expanding the PVC grows the volume", func(t *testing.T) { expand(t, c, pvName) })
	t.Run("the volume is attached to the pod's node", func(t *testing.T) { attached(t, c, pvName, pod.Spec.NodeName) })
	t.Run("a Job's pod runs and the Job completes", func(t *testing.T) { jobCompletes(t, c) })
	t.Run("kubelet statistics follow the PVC's annotations", func(t *testing.T) { statistics(t, c, pod) })
	// After the statistics, which expect the 2Gi of the expansion above.
	t.Run("an expansion held by the simulated driver stays pending until released", func(t *testing.T) { heldExpansion(t, c, pvName) })
	t.Run("only loopback is used; stop leaves no process and no listening port", func(t *testing.T) { stopLeavesNothing(t, c) })
}

func podWithVolume(t *testing.T, c *testCluster) (*corev1.Pod, string) {
	ctx := context.Background()
	class := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "sim-ebs-zone-b"},
		Provisioner:          "ebs.csi.aws.com",
		Parameters:           map[string]string{"type": "gp3", "csi.storage.k8s.io/fstype": "ext4"},
		AllowVolumeExpansion: ptr.To(true),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: zoneLabel, Values: []string{wantZone}},
		}}},
	}
	if _, err := c.kube.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(class.Name),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi"),
			}},
		},
	}
	if _, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: namespace},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "db", Image: "registry.k8s.io/pause:3.10",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"},
			}}},
		},
	}
	if _, err := c.kube.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var running *corev1.Pod
	eventually(t, 90*time.Second, "the pod runs", func(ctx context.Context) error {
		p, err := c.kube.CoreV1().Pods(namespace).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s, conditions %v", p.Status.Phase, p.Status.Conditions)
		}
		running = p
		return nil
	})
	bound, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bound.Status.Phase != corev1.ClaimBound {
		t.Fatalf("the pod runs but its PVC is %s", bound.Status.Phase)
	}
	node, err := c.kube.CoreV1().Nodes().Get(ctx, running.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels[zoneLabel] != wantZone {
		t.Errorf("the pod runs on %s in zone %q, the StorageClass allows only %s", node.Name, node.Labels[zoneLabel], wantZone)
	}
	pv, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, bound.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != "ebs.csi.aws.com" {
		t.Errorf("the PV is not a volume of ebs.csi.aws.com: %+v", pv.Spec.PersistentVolumeSource)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("the PV's capacity is %s, want 1Gi", got.String())
	}
	// The simulated driver places the volume where the provisioner asked: the
	// PV may only be used in the pod's zone, as a real zonal disk.
	if !affinityRequires(pv, zoneLabel, wantZone) {
		t.Errorf("the PV's node affinity does not require %s=%s: %+v", zoneLabel, wantZone, pv.Spec.NodeAffinity)
	}
	return running, pv.Name
}

func affinityRequires(pv *corev1.PersistentVolume, key, value string) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return false
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, expr := range term.MatchExpressions {
			if expr.Key == key && len(expr.Values) == 1 && expr.Values[0] == value {
				return true
			}
		}
	}
	return false
}

func expand(t *testing.T, c *testCluster, pvName string) {
	ctx := context.Background()
	patch := []byte(`{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
	if _, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Patch(ctx, "data", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	want := resource.MustParse("2Gi")
	eventually(t, 60*time.Second, "the PVC's capacity reaches 2Gi", func(ctx context.Context) error {
		pvc, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := pvc.Status.Capacity[corev1.ResourceStorage]; got.Cmp(want) != 0 {
			return fmt.Errorf("status.capacity %s, conditions %v", got.String(), pvc.Status.Conditions)
		}
		return nil
	})
	pv, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(want) != 0 {
		t.Errorf("the PV's capacity is %s after the expansion, want 2Gi", got.String())
	}
}

// attached: the controller-manager's attach/detach controller asks for the
// volume on the pod's node, and csi-attacher attaches it through the driver.
func attached(t *testing.T, c *testCluster, pvName, nodeName string) {
	eventually(t, 60*time.Second, "a VolumeAttachment for the PV is attached", func(ctx context.Context) error {
		list, err := c.kube.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, va := range list.Items {
			if ptr.Deref(va.Spec.Source.PersistentVolumeName, "") != pvName {
				continue
			}
			if va.Spec.NodeName != nodeName || va.Spec.Attacher != "ebs.csi.aws.com" {
				return fmt.Errorf("VolumeAttachment %s is for node %s by %s", va.Name, va.Spec.NodeName, va.Spec.Attacher)
			}
			if !va.Status.Attached {
				return fmt.Errorf("VolumeAttachment %s is not attached yet (%+v)", va.Name, va.Status.AttachError)
			}
			return nil
		}
		return fmt.Errorf("no VolumeAttachment for %s among %d", pvName, len(list.Items))
	})
}

func jobCompletes(t *testing.T, c *testCluster) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: namespace},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "once", Image: "registry.k8s.io/pause:3.10"}},
		}}},
	}
	if _, err := c.kube.BatchV1().Jobs(namespace).Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the Job completes", func(ctx context.Context) error {
		j, err := c.kube.BatchV1().Jobs(namespace).Get(ctx, "once", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, condition := range j.Status.Conditions {
			if condition.Type == batchv1.JobComplete && condition.Status == corev1.ConditionTrue {
				if j.Status.Succeeded != 1 {
					return fmt.Errorf("complete with %d pods succeeded", j.Status.Succeeded)
				}
				return nil
			}
		}
		return fmt.Errorf("status %+v", j.Status)
	})
}

// stopLeavesNothing stops the cluster and checks that no process of it runs
// and that none of the ports it listened on still accepts connections. Before
// that: nothing of it listens beyond loopback or talks to anything else.
func stopLeavesNothing(t *testing.T, c *testCluster) {
	var ports []int
	for _, s := range clusterSockets(t, c) {
		if s.listening {
			ports = append(ports, s.port())
			if !loopbackHex(s.local) {
				t.Errorf("a cluster process listens beyond loopback: %s", s.local)
			}
		} else if !loopbackHex(s.local) || !loopbackHex(s.remote) {
			t.Errorf("a cluster process has a connection beyond loopback: %s -> %s", s.local, s.remote)
		}
	}
	if len(ports) < 10 {
		t.Fatalf("found only %d ports of the running cluster: %v", len(ports), ports)
	}
	if len(processesUsing(c.dir)) < 10 {
		t.Fatalf("found only these processes of the running cluster: %v", processesUsing(c.dir))
	}
	if _, err := runScript("stop", "--data-dir", c.dir); err != nil {
		t.Fatal(err)
	}
	if left := processesUsing(c.dir); len(left) != 0 {
		t.Errorf("processes left after stop:\n%s", strings.Join(left, "\n"))
	}
	for _, port := range ports {
		if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			conn.Close()
			t.Errorf("port %d still accepts connections after stop", port)
		}
	}
}
