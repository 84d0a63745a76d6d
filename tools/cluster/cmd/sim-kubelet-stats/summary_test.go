package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

var (
	testStart = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	testNow   = testStart.Add(time.Hour)
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestSource fills the indexers the informers would fill, without a cluster.
func newTestSource(t *testing.T, objs ...any) *statsSource {
	t.Helper()
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
		podNodeNameIndex:     podNodeNameIndexFunc,
		cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
	})
	pvcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pvs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Pod:
			err = pods.Add(o)
		case *corev1.PersistentVolumeClaim:
			err = pvcs.Add(o)
		case *corev1.PersistentVolume:
			err = pvs.Add(o)
		case *corev1.Node:
			err = nodes.Add(o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &statsSource{
		pods:      pods,
		pvcs:      corelisters.NewPersistentVolumeClaimLister(pvcs),
		pvs:       corelisters.NewPersistentVolumeLister(pvs),
		nodes:     corelisters.NewNodeLister(nodes),
		startTime: testStart,
		now:       func() time.Time { return testNow },
		log:       discardLogger(),
	}
}

func pod(ns, name, node string, phase corev1.PodPhase, claims ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase, StartTime: &metav1.Time{Time: testStart.Add(time.Minute)}},
	}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{
			Name:         "vol-" + c,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}},
		})
	}
	return p
}

func boundPVC(ns, name, pv string, ann map[string]string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: pv},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
}

func pv(name, size string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{
			corev1.ResourceStorage: resource.MustParse(size),
		}},
	}
}

type fsWant struct{ capacity, used, available, inodes, inodesUsed, inodesFree uint64 }

func fsOf(v statsapi.VolumeStats) fsWant {
	return fsWant{*v.CapacityBytes, *v.UsedBytes, *v.AvailableBytes, *v.Inodes, *v.InodesUsed, *v.InodesFree}
}

const gi = 1 << 30
const mi = 1 << 20

func TestSummaryFollowsAnnotations(t *testing.T) {
	pending := pod("ns", "pending", "node-a", corev1.PodPending, "quantity")
	ephemeral := pod("ns", "eph", "node-a", corev1.PodRunning)
	ephemeral.Spec.Volumes = append(ephemeral.Spec.Volumes, corev1.Volume{
		Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}},
	})
	ephPVC := boundPVC("ns", "eph-scratch", "pv-eph", nil)
	controller := true
	ephPVC.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Pod", Name: "eph", UID: ephemeral.UID, Controller: &controller,
	}}
	unbound := boundPVC("ns", "unbound", "", nil)
	unbound.Status.Phase = corev1.ClaimPending

	src := newTestSource(t,
		pod("ns", "app", "node-a", corev1.PodRunning, "quantity", "integer", "defaults", "clamped", "unbound", "missing", "nopv", "bad"),
		pod("ns", "other-node", "node-b", corev1.PodRunning, "quantity"),
		pending, ephemeral, ephPVC, unbound,
		boundPVC("ns", "quantity", "pv-q", map[string]string{annUsedBytes: "800Mi", annInodes: "1k", annUsedInodes: "10"}),
		boundPVC("ns", "integer", "pv-i", map[string]string{annUsedBytes: "1048576", annInodes: "5000", annUsedInodes: "4000"}),
		boundPVC("ns", "defaults", "pv-d", nil),
		boundPVC("ns", "clamped", "pv-c", map[string]string{annUsedBytes: "5Gi", annUsedInodes: "-3"}),
		boundPVC("ns", "nopv", "pv-absent", nil),
		boundPVC("ns", "bad", "pv-b", map[string]string{annUsedBytes: "lots", annInodes: "many", annUsedInodes: "1.2.3"}),
		pv("pv-q", "1Gi"), pv("pv-i", "2Gi"), pv("pv-d", "1Gi"), pv("pv-c", "1Gi"), pv("pv-b", "16Mi"), pv("pv-eph", "64Mi"),
	)

	sum := src.summary("node-a")
	if sum.Node.NodeName != "node-a" || !sum.Node.StartTime.Equal(&metav1.Time{Time: testStart}) {
		t.Errorf("node = %+v", sum.Node)
	}
	if len(sum.Pods) != 2 || sum.Pods[0].PodRef.Name != "app" || sum.Pods[1].PodRef.Name != "eph" {
		t.Fatalf("pods = %+v, want app and eph only", sum.Pods)
	}
	app := sum.Pods[0]
	if app.PodRef != (statsapi.PodReference{Name: "app", Namespace: "ns", UID: "uid-app"}) {
		t.Errorf("podRef = %+v", app.PodRef)
	}
	if !app.StartTime.Time.Equal(testStart.Add(time.Minute)) {
		t.Errorf("pod startTime = %v", app.StartTime)
	}

	want := map[string]fsWant{
		"vol-quantity": {gi, 800 * mi, gi - 800*mi, 1000, 10, 990},
		"vol-integer":  {2 * gi, mi, 2*gi - mi, 5000, 4000, 1000},
		"vol-defaults": {gi, 0, gi, gi / bytesPerInode, 0, gi / bytesPerInode},
		"vol-clamped":  {gi, gi, 0, gi / bytesPerInode, 0, gi / bytesPerInode},
		"vol-bad":      {16 * mi, 0, 16 * mi, 16 * mi / bytesPerInode, 0, 16 * mi / bytesPerInode},
	}
	got := map[string]statsapi.VolumeStats{}
	for _, v := range app.VolumeStats {
		got[v.Name] = v
	}
	if len(got) != len(want) {
		t.Errorf("volumes = %v, want %d (unbound, missing PVC and missing PV excluded)", keys(got), len(want))
	}
	for name, w := range want {
		v, ok := got[name]
		if !ok {
			t.Errorf("volume %s missing", name)
			continue
		}
		if g := fsOf(v); g != w {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
		if v.PVCRef == nil || v.PVCRef.Namespace != "ns" || "vol-"+v.PVCRef.Name != name {
			t.Errorf("%s: pvcRef = %+v", name, v.PVCRef)
		}
		if !v.Time.Time.Equal(testNow) {
			t.Errorf("%s: time = %v", name, v.Time)
		}
	}

	eph := sum.Pods[1].VolumeStats
	if len(eph) != 1 || eph[0].Name != "scratch" || eph[0].PVCRef.Name != "eph-scratch" || *eph[0].CapacityBytes != 64*mi {
		t.Errorf("ephemeral volume stats = %+v", eph)
	}

	// The JSON must use the Summary API's field names.
	raw, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Node struct {
			NodeName string `json:"nodeName"`
		} `json:"node"`
		Pods []struct {
			Volume []map[string]any `json:"volume"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if generic.Node.NodeName != "node-a" || len(generic.Pods) != 2 || len(generic.Pods[0].Volume) != len(want) {
		t.Fatalf("unexpected JSON: %s", raw)
	}
	for _, field := range []string{"name", "pvcRef", "time", "capacityBytes", "usedBytes", "availableBytes", "inodes", "inodesUsed", "inodesFree"} {
		if _, ok := generic.Pods[0].Volume[0][field]; !ok {
			t.Errorf("JSON volume lacks %q: %s", field, raw)
		}
	}
}

func TestSummaryEmptyNode(t *testing.T) {
	src := newTestSource(t, pod("ns", "p", "node-b", corev1.PodRunning))
	raw, err := json.Marshal(src.summary("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	var back statsapi.Summary
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Node.NodeName != "node-a" || back.Pods == nil || len(back.Pods) != 0 {
		t.Errorf("summary = %s, want node-a with an empty pods list", raw)
	}
}

func TestPVCUsageDeduplicates(t *testing.T) {
	src := newTestSource(t,
		pod("ns", "a", "node-a", corev1.PodRunning, "shared"),
		pod("ns", "b", "node-a", corev1.PodRunning, "shared"),
		boundPVC("ns", "shared", "pv-s", nil), pv("pv-s", "1Gi"),
	)
	if got := src.pvcUsage("node-a"); len(got) != 1 || got[0].pvcName != "shared" {
		t.Errorf("pvcUsage = %+v, want one entry", got)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
