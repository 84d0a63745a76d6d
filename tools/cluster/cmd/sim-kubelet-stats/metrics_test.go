package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
)

// parseExposition maps `name{labels}` to its value in Prometheus text format.
func parseExposition(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsText(t *testing.T) {
	src := newTestSource(t,
		pod("ns", "a", "node-a", corev1.PodRunning, "data"),
		pod("ns", "b", "node-a", corev1.PodRunning, "data"), // same PVC twice: one series
		pod("ns", "c", "node-b", corev1.PodRunning, "elsewhere"),
		boundPVC("ns", "data", "pv-d", map[string]string{annUsedBytes: "256Mi", annUsedInodes: "100"}),
		boundPVC("ns", "elsewhere", "pv-e", nil),
		pv("pv-d", "1Gi"), pv("pv-e", "1Gi"),
	)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(newNodeRegistry(src, "node-a"), promhttp.HandlerOpts{}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	got := parseExposition(t, body)

	labels := `{namespace="ns",persistentvolumeclaim="data"}`
	want := map[string]float64{
		"kubelet_volume_stats_capacity_bytes" + labels:  gi,
		"kubelet_volume_stats_available_bytes" + labels: gi - 256*mi,
		"kubelet_volume_stats_used_bytes" + labels:      256 * mi,
		"kubelet_volume_stats_inodes" + labels:          gi / bytesPerInode,
		"kubelet_volume_stats_inodes_free" + labels:     gi/bytesPerInode - 100,
		"kubelet_volume_stats_inodes_used" + labels:     100,
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d series, want %d (other nodes' PVCs excluded, shared PVC once):\n%s", len(got), len(want), body)
	}
	for _, name := range []string{"kubelet_volume_stats_capacity_bytes", "kubelet_volume_stats_inodes_used"} {
		if !strings.Contains(body, "# TYPE "+name+" gauge") {
			t.Errorf("%s is not declared a gauge:\n%s", name, body)
		}
	}
}
