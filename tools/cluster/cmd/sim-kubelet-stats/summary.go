package main

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// The annotations a test sets on a PVC to make the simulated filesystem look used.
const (
	annUsedBytes  = "sim.discoblocks.dev/used-bytes"
	annInodes     = "sim.discoblocks.dev/inodes"
	annUsedInodes = "sim.discoblocks.dev/used-inodes"

	// ext4's default bytes-per-inode ratio, so inode counts look like a fresh mkfs.
	bytesPerInode = 16384

	podNodeNameIndex = "spec.nodeName"
)

// podNodeNameIndexFunc lets a request find its node's pods without scanning
// every pod in the cluster.
func podNodeNameIndexFunc(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return nil, nil
	}
	return []string{pod.Spec.NodeName}, nil
}

// statsSource answers from informer caches only, so that polling the stats does
// not load the API server.
type statsSource struct {
	pods      cache.Indexer // with podNodeNameIndex
	pvcs      corelisters.PersistentVolumeClaimLister
	pvs       corelisters.PersistentVolumeLister
	nodes     corelisters.NodeLister // for the faults a test asks of a node (fault.go)
	startTime time.Time
	now       func() time.Time
	log       *slog.Logger

	warned sync.Map // keys of bad annotation values already logged
}

// volumeUsage is one pod volume backed by a bound PVC, with the simulated numbers.
type volumeUsage struct {
	volumeName         string // the name the pod gives the volume
	namespace, pvcName string
	capacity           uint64
	used, available    uint64
	inodes             uint64
	inodesUsed         uint64
	inodesFree         uint64
}

type podUsage struct {
	pod     *corev1.Pod
	volumes []volumeUsage
}

// nodeUsage lists the node's running pods, in a stable order, with their volumes.
func (s *statsSource) nodeUsage(node string) []podUsage {
	objs, err := s.pods.ByIndex(podNodeNameIndex, node)
	if err != nil {
		s.log.Error("SIMULATION: listing pods by node", "node", node, "err", err)
		return nil
	}
	var out []podUsage
	for _, o := range objs {
		pod, ok := o.(*corev1.Pod)
		if !ok || pod.Spec.NodeName != node || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		out = append(out, podUsage{pod: pod, volumes: s.podVolumes(pod)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].pod, out[j].pod
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

func (s *statsSource) podVolumes(pod *corev1.Pod) []volumeUsage {
	var out []volumeUsage
	for _, v := range pod.Spec.Volumes {
		var claim string
		switch {
		case v.PersistentVolumeClaim != nil:
			claim = v.PersistentVolumeClaim.ClaimName
		case v.Ephemeral != nil:
			// Generic ephemeral volumes are PVCs too, and the kubelet reports them.
			claim = pod.Name + "-" + v.Name
		default:
			continue
		}
		pvc, err := s.pvcs.PersistentVolumeClaims(pod.Namespace).Get(claim)
		if err != nil || pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
			continue
		}
		if v.Ephemeral != nil && !metav1.IsControlledBy(pvc, pod) {
			continue
		}
		pv, err := s.pvs.Get(pvc.Spec.VolumeName)
		if err != nil {
			continue
		}
		u := s.usage(pvc, pv)
		u.volumeName = v.Name
		out = append(out, u)
	}
	return out
}

// usage derives the numbers from the PV's size and the PVC's annotations.
func (s *statsSource) usage(pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) volumeUsage {
	var capacity int64
	if q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; ok {
		capacity = max(q.Value(), 0)
	}
	used, _ := s.annotationValue(pvc, annUsedBytes)
	used = clamp(used, capacity)

	inodes, ok := s.annotationValue(pvc, annInodes)
	if !ok {
		inodes = capacity / bytesPerInode
	}
	inodes = max(inodes, 0)
	inodesUsed, _ := s.annotationValue(pvc, annUsedInodes)
	inodesUsed = clamp(inodesUsed, inodes)

	return volumeUsage{
		namespace:  pvc.Namespace,
		pvcName:    pvc.Name,
		capacity:   uint64(capacity),
		used:       uint64(used),
		available:  uint64(capacity - used),
		inodes:     uint64(inodes),
		inodesUsed: uint64(inodesUsed),
		inodesFree: uint64(inodes - inodesUsed),
	}
}

func clamp(v, hi int64) int64 {
	return min(max(v, 0), hi)
}

// annotationValue parses a quantity ("800Mi") or plain integer. A bad value is
// reported once per PVC and value rather than on every poll, and reads as absent.
func (s *statsSource) annotationValue(pvc *corev1.PersistentVolumeClaim, key string) (int64, bool) {
	raw, ok := pvc.Annotations[key]
	if !ok {
		return 0, false
	}
	q, err := resource.ParseQuantity(raw)
	if err != nil {
		warnKey := fmt.Sprintf("%s/%s/%s=%s", pvc.Namespace, pvc.Name, key, raw)
		if _, seen := s.warned.LoadOrStore(warnKey, struct{}{}); !seen {
			s.log.Warn("SIMULATION: ignoring unparsable PVC annotation", "namespace", pvc.Namespace, "pvc", pvc.Name,
				"annotation", key, "value", raw, "err", err)
		}
		return 0, false
	}
	return q.Value(), true
}

func u64(v uint64) *uint64 { return &v }

// summary builds the kubelet Summary API answer. Only what a volume-usage
// consumer needs is filled in; CPU, memory and network are left out.
func (s *statsSource) summary(node string) *statsapi.Summary {
	now := metav1.NewTime(s.now())
	sum := &statsapi.Summary{
		Node: statsapi.NodeStats{NodeName: node, StartTime: metav1.NewTime(s.startTime)},
		Pods: []statsapi.PodStats{},
	}
	for _, pu := range s.nodeUsage(node) {
		ps := statsapi.PodStats{
			PodRef:     statsapi.PodReference{Name: pu.pod.Name, Namespace: pu.pod.Namespace, UID: string(pu.pod.UID)},
			StartTime:  pu.pod.CreationTimestamp,
			Containers: []statsapi.ContainerStats{},
		}
		if pu.pod.Status.StartTime != nil {
			ps.StartTime = *pu.pod.Status.StartTime
		}
		for _, v := range pu.volumes {
			ps.VolumeStats = append(ps.VolumeStats, statsapi.VolumeStats{
				Name:   v.volumeName,
				PVCRef: &statsapi.PVCReference{Name: v.pvcName, Namespace: v.namespace},
				FsStats: statsapi.FsStats{
					Time:           now,
					CapacityBytes:  u64(v.capacity),
					UsedBytes:      u64(v.used),
					AvailableBytes: u64(v.available),
					Inodes:         u64(v.inodes),
					InodesUsed:     u64(v.inodesUsed),
					InodesFree:     u64(v.inodesFree),
				},
			})
		}
		sum.Pods = append(sum.Pods, ps)
	}
	return sum
}

// pvcUsage is the per-PVC view the kubelet's metrics use: a PVC mounted by
// several pods on the node is one series, not several.
func (s *statsSource) pvcUsage(node string) []volumeUsage {
	seen := map[string]bool{}
	var out []volumeUsage
	for _, pu := range s.nodeUsage(node) {
		for _, v := range pu.volumes {
			k := v.namespace + "/" + v.pvcName
			if !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
	}
	return out
}
