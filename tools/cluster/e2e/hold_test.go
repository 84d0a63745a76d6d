package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// holdAnnotation makes sim-csi-driver fail ControllerExpandVolume for the
// PVC's volume until it is removed (tools/cluster/cmd/sim-csi-driver/hold.go).
const holdAnnotation = "sim.discoblocks.dev/hold-resize"

// heldExpansion grows the PVC "data" (at 2Gi after expand) to 3Gi while the
// simulated driver holds its expansion back, first with a retryable error
// (hold "true"), then with a final one (hold "fail"), checks what the PVC shows
// in each case (docs/local-cluster.md records it), then releases it.
func heldExpansion(t *testing.T, c *testCluster, pvName string) {
	ctx := context.Background()
	pvcs := c.kube.CoreV1().PersistentVolumeClaims(namespace)
	setHold := func(value string) {
		t.Helper()
		patch := []byte(`{"metadata":{"annotations":{"` + holdAnnotation + `":` + value + `}}}`)
		if _, err := pvcs.Patch(ctx, "data", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setHold(`"true"`)
	grow := []byte(`{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}`)
	if _, err := pvcs.Patch(ctx, "data", types.MergePatchType, grow, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	before, after := resource.MustParse("2Gi"), resource.MustParse("3Gi")

	// A retryable error: the expansion stays in progress; csi-resizer says why
	// in a Warning Event only.
	pending := waitForPVC(t, c, "the held expansion is reported in an Event", func(pvc *corev1.PersistentVolumeClaim) error {
		return failedResizeEvent(c, pvc)
	})
	t.Logf("held (retryable): %s", describeStatus(pending))
	if got := pending.Status.Capacity[corev1.ResourceStorage]; got.Cmp(before) != 0 {
		t.Errorf("status.capacity is %s while the expansion is held, want %s", got.String(), before.String())
	}
	if got := pending.Status.AllocatedResources[corev1.ResourceStorage]; got.Cmp(after) != 0 {
		t.Errorf("status.allocatedResources.storage is %s while held, want the request %s", got.String(), after.String())
	}
	if got := pending.Status.AllocatedResourceStatuses[corev1.ResourceStorage]; got != corev1.PersistentVolumeClaimControllerResizeInProgress {
		t.Errorf("status.allocatedResourceStatuses.storage is %q while held, want %q", got, corev1.PersistentVolumeClaimControllerResizeInProgress)
	}
	if !hasCondition(pending, corev1.PersistentVolumeClaimResizing, "") {
		t.Errorf("no condition Resizing while held: %s", describeStatus(pending))
	}
	// It stays pending: nothing grows the volume behind the test's back.
	time.Sleep(3 * time.Second)
	pv, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(before) != 0 {
		t.Errorf("the PV grew to %s while the expansion is held", got.String())
	}

	// A final error: csi-resizer records the failure as a condition.
	setHold(`"fail"`)
	failed := waitForPVC(t, c, "the failed expansion shows as ControllerResizeError", func(pvc *corev1.PersistentVolumeClaim) error {
		if !hasCondition(pvc, corev1.PersistentVolumeClaimControllerResizeError, "SIMULATION: expansion held") {
			return fmt.Errorf("no condition ControllerResizeError with the simulation's message")
		}
		return nil
	})
	t.Logf("held (final error): %s", describeStatus(failed))
	if got := failed.Status.Capacity[corev1.ResourceStorage]; got.Cmp(before) != 0 {
		t.Errorf("status.capacity is %s after the failed expansion, want %s", got.String(), before.String())
	}
	// csi-resizer retries a final error too, so the expansion stays in progress.
	if got := failed.Status.AllocatedResourceStatuses[corev1.ResourceStorage]; got != corev1.PersistentVolumeClaimControllerResizeInProgress {
		t.Errorf("status.allocatedResourceStatuses.storage is %q after a final error, want %q", got, corev1.PersistentVolumeClaimControllerResizeInProgress)
	}
	if !hasCondition(failed, corev1.PersistentVolumeClaimResizing, "") {
		t.Errorf("no condition Resizing after a final error: %s", describeStatus(failed))
	}

	setHold("null")
	// csi-resizer retries with a growing backoff (by now tens of seconds).
	done := waitForPVC(t, c, "the released expansion completes", func(pvc *corev1.PersistentVolumeClaim) error {
		if got := pvc.Status.Capacity[corev1.ResourceStorage]; got.Cmp(after) != 0 || len(pvc.Status.Conditions) > 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	t.Logf("after the release: %s", describeStatus(done))
	if len(done.Status.AllocatedResourceStatuses) != 0 {
		t.Errorf("status.allocatedResourceStatuses is %v after the expansion, want none", done.Status.AllocatedResourceStatuses)
	}
}

// waitForPVC waits (up to 3 minutes: csi-resizer's backoff) until check
// accepts the PVC "data", and returns it.
func waitForPVC(t *testing.T, c *testCluster, what string, check func(*corev1.PersistentVolumeClaim) error) *corev1.PersistentVolumeClaim {
	t.Helper()
	var got *corev1.PersistentVolumeClaim
	eventually(t, 3*time.Minute, what, func(ctx context.Context) error {
		pvc, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := check(pvc); err != nil {
			return fmt.Errorf("%v; status %s", err, describeStatus(pvc))
		}
		got = pvc
		return nil
	})
	return got
}

func hasCondition(pvc *corev1.PersistentVolumeClaim, kind corev1.PersistentVolumeClaimConditionType, message string) bool {
	for _, cond := range pvc.Status.Conditions {
		if cond.Type == kind && cond.Status == corev1.ConditionTrue && strings.Contains(cond.Message, message) {
			return true
		}
	}
	return false
}

// failedResizeEvent finds csi-resizer's Warning VolumeResizeFailed Event on
// the PVC with the simulation's message.
func failedResizeEvent(c *testCluster, pvc *corev1.PersistentVolumeClaim) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := c.kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=" + pvc.Name,
	})
	if err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning && e.Reason == "VolumeResizeFailed" &&
			strings.Contains(e.Message, "SIMULATION: expansion held") {
			return nil
		}
	}
	return fmt.Errorf("no Warning VolumeResizeFailed Event with the simulation's message")
}

// describeStatus is the PVC's status as compact JSON, for logs and failures.
func describeStatus(pvc *corev1.PersistentVolumeClaim) string {
	status := pvc.Status.DeepCopy()
	for i := range status.Conditions {
		status.Conditions[i].LastProbeTime = metav1.Time{}
	}
	b, err := json.Marshal(status)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
