package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func faultyNode(name, fault string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annFault: fault}}}
}

func TestFaultsAreServedAsAsked(t *testing.T) {
	f := &fakeAPIServer{}
	for _, tc := range []struct {
		fault    string
		status   int
		validDoc bool
	}{
		{"", http.StatusOK, true},
		{"unknown-fault", http.StatusOK, true},
		{"unavailable", http.StatusServiceUnavailable, false},
		{"garbage", http.StatusOK, false},
	} {
		src := newTestSource(t,
			faultyNode("node-a", tc.fault),
			pod("ns", "app", "node-a", corev1.PodRunning, "data"),
			boundPVC("ns", "data", "pv-d", map[string]string{annUsedBytes: "1Mi"}),
			pv("pv-d", "1Gi"),
		)
		rv := &reviewer{client: f.client(), timeout: 10 * time.Second, log: discardLogger()}
		h := newNodeHandler("node-a", src, rv, discardLogger())
		rec := do(h, http.MethodGet, "/stats/summary", "alice-token")
		if rec.Code != tc.status {
			t.Errorf("fault %q: status %d, want %d", tc.fault, rec.Code, tc.status)
		}
		var doc map[string]any
		if valid := json.Unmarshal(rec.Body.Bytes(), &doc) == nil; valid != tc.validDoc {
			t.Errorf("fault %q: body is JSON: %v, want %v: %s", tc.fault, valid, tc.validDoc, rec.Body.String())
		}
	}
}

func TestASlowKubeletAnswersWhenTheClientGivesUp(t *testing.T) {
	f := &fakeAPIServer{}
	src := newTestSource(t, faultyNode("node-a", "slow"))
	rv := &reviewer{client: f.client(), timeout: 10 * time.Second, log: discardLogger()}
	h := newNodeHandler("node-a", src, rv, discardLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "/stats/summary", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer alice-token")
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(rec, req); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a slow answer outlived its client")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("a slow kubelet answered %q", rec.Body.String())
	}
}
