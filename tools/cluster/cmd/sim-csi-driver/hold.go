package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/ondat/discoblocks/tools/cluster/internal/loopback"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// holdAnnotation on a PVC holds back the expansion of its volume, so that a
// test can see what a pending or failing expansion looks like and that nobody
// asks for a second one. Its values:
//   - "true": ControllerExpandVolume fails with a retryable error (Unavailable):
//     csi-resizer keeps the expansion in progress (condition Resizing) and
//     retries with a growing backoff, as for a cloud API that is slow to accept;
//   - "fail": it fails with a final error (Internal): csi-resizer also records
//     the failure on the PVC (condition ControllerResizeError), and retries too.
//
// Anything else, or no annotation, lets the expansion proceed. Tests set the
// simulated usage through sim.discoblocks.dev/* annotations on the PVC too
// (sim-kubelet-stats). docs/local-cluster.md shows what the PVC looks like.
const holdAnnotation = "sim.discoblocks.dev/hold-resize"

// holdLookupTimeout bounds the API calls of one check; the check runs under
// mockMu, so a slow API server must not stall every simulated driver for long.
const holdLookupTimeout = 5 * time.Second

// holdChecker finds the hold annotation's value ("" when there is none) on
// the PVC ("namespace/name") of the volume volumeID of driver.
type holdChecker interface {
	heldBy(ctx context.Context, driver, volumeID string) (claim, hold string, err error)
}

// apiHolds reads the hold annotation from the API server on every expansion:
// no cache, so that an annotation set just before the PVC is grown is always
// seen.
type apiHolds struct {
	client kubernetes.Interface
}

// newAPIHolds connects to the API server of kubeconfig, which must be on this
// machine: the simulation never talks to a remote cluster.
func newAPIHolds(kubeconfig string) (*apiHolds, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	if err := loopback.CheckServer(config.Host); err != nil {
		return nil, err
	}
	// Loopback is never proxied by Go; being explicit keeps a stray
	// HTTPS_PROXY from ever sending traffic off the machine.
	config.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	config.UserAgent = "sim-csi-driver (simulation)"
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &apiHolds{client: client}, nil
}

func (h *apiHolds) heldBy(ctx context.Context, driver, volumeID string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, holdLookupTimeout)
	defer cancel()
	pvs, err := h.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", "", fmt.Errorf("listing PersistentVolumes: %w", err)
	}
	for _, pv := range pvs.Items {
		csiSource := pv.Spec.CSI
		if csiSource == nil || csiSource.Driver != driver || csiSource.VolumeHandle != volumeID {
			continue
		}
		ref := pv.Spec.ClaimRef
		if ref == nil {
			return "", "", nil
		}
		claim := ref.Namespace + "/" + ref.Name
		pvc, err := h.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return claim, "", fmt.Errorf("reading PVC %s: %w", claim, err)
		}
		return claim, pvc.Annotations[holdAnnotation], nil
	}
	return "", "", nil // a volume with no PV (yet): nothing can hold it
}

// holdCodes are the error codes of the hold annotation's values.
var holdCodes = map[string]codes.Code{"true": codes.Unavailable, "fail": codes.Internal}

// ControllerExpandVolume fails while the volume's PVC carries the hold
// annotation, and grows the volume as the mock does otherwise. A failed
// lookup fails the call too (the sidecar retries): a hold must never be
// skipped because the API server was briefly unreachable.
func (d *simDriver) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if d.holds != nil {
		claim, hold, err := d.holds.heldBy(ctx, d.name, req.GetVolumeId())
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "SIMULATION: cannot tell whether the expansion of volume %s is held: %v", req.GetVolumeId(), err)
		}
		if code, held := holdCodes[hold]; held {
			d.logger.Info("SIMULATION: expansion held", "driver", d.name, "volume", req.GetVolumeId(), "pvc", claim,
				"hold", hold, "requested_bytes", req.GetCapacityRange().GetRequiredBytes())
			return nil, status.Errorf(code, "SIMULATION: expansion held: PVC %s has the annotation %s=%q; remove it to let the expansion proceed", claim, holdAnnotation, hold)
		}
	}
	return d.Service.ControllerExpandVolume(ctx, req)
}
