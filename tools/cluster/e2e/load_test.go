package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestLoad measures, and does not assert a speed: PODS pods with one PVC each
// on NODES simulated nodes, from creation to all Running and Bound. Run by
// bench/cluster-load.sh (DISCOBLOCKS_CLUSTER_LOAD_PODS, _NODES); skipped in CI.
func TestLoad(t *testing.T) {
	pods, _ := strconv.Atoi(os.Getenv("DISCOBLOCKS_CLUSTER_LOAD_PODS"))
	if pods <= 0 {
		t.Skip("set DISCOBLOCKS_CLUSTER_LOAD_PODS to run (bench/cluster-load.sh)")
	}
	if pods > 2000 {
		t.Fatalf("DISCOBLOCKS_CLUSTER_LOAD_PODS=%d: at most 2000", pods)
	}
	nodes := os.Getenv("DISCOBLOCKS_CLUSTER_LOAD_NODES")
	if nodes == "" {
		nodes = "20"
	}
	c := startCluster(t, "--nodes", nodes)
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, namespaceObject("load"), createOptions); err != nil {
		t.Fatal(err)
	}
	class := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "sim-ebs"},
		Provisioner:          "ebs.csi.aws.com",
		AllowVolumeExpansion: ptr.To(true),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if _, err := c.kube.StorageV1().StorageClasses().Create(ctx, class, createOptions); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, pods)
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := createPodWithClaim(ctx, c, i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range pods {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := time.Since(started)
	eventually(t, 30*time.Minute, "every pod Running and every PVC Bound", func(ctx context.Context) error {
		podList, err := c.kube.CoreV1().Pods("load").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		claims, err := c.kube.CoreV1().PersistentVolumeClaims("load").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		running, bound := 0, 0
		for _, p := range podList.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		for _, claim := range claims.Items {
			if claim.Status.Phase == corev1.ClaimBound {
				bound++
			}
		}
		if running < pods || bound < pods {
			return fmt.Errorf("%d of %d pods Running, %d PVCs Bound", running, pods, bound)
		}
		return nil
	})
	t.Logf("LOAD: %d pods with a PVC each on %s nodes: created in %v, all Running and Bound after %v",
		pods, nodes, created.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

func createPodWithClaim(ctx context.Context, c *testCluster, i int) error {
	name := fmt.Sprintf("load-%d", i)
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "load"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("sim-ebs"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi"),
			}},
		},
	}
	if _, err := c.kube.CoreV1().PersistentVolumeClaims("load").Create(ctx, claim, createOptions); err != nil {
		return err
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "load"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name},
			}}},
		},
	}
	_, err := c.kube.CoreV1().Pods("load").Create(ctx, pod, createOptions)
	return err
}
