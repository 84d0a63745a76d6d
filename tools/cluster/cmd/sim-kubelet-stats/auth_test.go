package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAPIServer answers reviews like an API server with a tiny RBAC policy:
// alice may get nodes/stats and nodes/metrics, bob is known but may do nothing.
type fakeAPIServer struct {
	mu   sync.Mutex
	sars []authzv1.SubjectAccessReviewSpec
}

func (f *fakeAPIServer) client() *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		switch tr.Spec.Token {
		case "alice-token":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{
				Username: "alice", UID: "uid-alice", Groups: []string{"system:authenticated", "ops"},
				Extra: map[string]authnv1.ExtraValue{"scopes": {"a", "b"}},
			}}
		case "bob-token":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: "bob"}}
		case "apiserver-down":
			return true, nil, errors.New("connection refused")
		default:
			tr.Status = authnv1.TokenReviewStatus{Authenticated: false, Error: "invalid bearer token"}
		}
		return true, tr, nil
	})
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview).DeepCopy()
		f.mu.Lock()
		f.sars = append(f.sars, sar.Spec)
		f.mu.Unlock()
		ra := sar.Spec.ResourceAttributes
		sar.Status.Allowed = sar.Spec.User == "alice" && ra != nil && ra.Verb == "get" && ra.Resource == "nodes" &&
			(ra.Subresource == "stats" || ra.Subresource == "metrics")
		if !sar.Status.Allowed {
			sar.Status.Reason = "no RBAC policy matched"
		}
		return true, sar, nil
	})
	return c
}

func (f *fakeAPIServer) lastSAR(t *testing.T) authzv1.SubjectAccessReviewSpec {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sars) == 0 {
		t.Fatal("no SubjectAccessReview was made")
	}
	return f.sars[len(f.sars)-1]
}

func newTestHandler(t *testing.T, f *fakeAPIServer) http.Handler {
	src := newTestSource(t,
		pod("ns", "app", "node-a", corev1.PodRunning, "data"),
		boundPVC("ns", "data", "pv-d", map[string]string{annUsedBytes: "1Mi"}),
		pv("pv-d", "1Gi"),
	)
	rv := &reviewer{client: f.client(), timeout: 10 * time.Second, log: discardLogger()}
	return newNodeHandler("node-a", src, rv, discardLogger())
}

func do(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuth(t *testing.T) {
	f := &fakeAPIServer{}
	h := newTestHandler(t, f)

	cases := []struct {
		name, method, path, token string
		code                      int
		body                      string
	}{
		{"no token", "GET", "/stats/summary", "", 401, "Unauthorized"},
		{"rejected token", "GET", "/stats/summary", "stolen", 401, "Unauthorized"},
		{"authorized summary", "GET", "/stats/summary", "alice-token", 200, `"nodeName":"node-a"`},
		{"authorized metrics", "GET", "/metrics", "alice-token", 200, `kubelet_volume_stats_used_bytes{namespace="ns",persistentvolumeclaim="data"} 1.048576e+06`},
		{"forbidden", "GET", "/stats/summary", "bob-token", 403, "Forbidden (user=bob, verb=get, resource=nodes, subresource=stats)"},
		{"forbidden proxy", "GET", "/pods", "alice-token", 403, "Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)"},
		{"forbidden verb", "POST", "/stats/summary", "alice-token", 403, "Forbidden (user=alice, verb=create, resource=nodes, subresource=stats)"},
		{"other stats path", "GET", "/stats/container", "alice-token", 404, ""},
		{"healthz without token", "GET", "/healthz", "", 200, "ok"},
		{"authentication error", "GET", "/stats/summary", "apiserver-down", 500, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(h, c.method, c.path, c.token)
			if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.body) {
				t.Errorf("%s %s: got %d %q, want %d containing %q", c.method, c.path, rec.Code, rec.Body, c.code, c.body)
			}
		})
	}
}

func TestAuthSubjectAccessReview(t *testing.T) {
	f := &fakeAPIServer{}
	h := newTestHandler(t, f)

	if rec := do(h, "GET", "/metrics", "alice-token"); rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	want := authzv1.SubjectAccessReviewSpec{
		User: "alice", UID: "uid-alice", Groups: []string{"system:authenticated", "ops"},
		Extra: map[string]authzv1.ExtraValue{"scopes": {"a", "b"}},
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: "get", Version: "v1", Resource: "nodes", Subresource: "metrics", Name: "node-a",
		},
	}
	if got := f.lastSAR(t); !reflect.DeepEqual(got, want) {
		t.Errorf("SubjectAccessReview spec:\n got %+v %+v\nwant %+v %+v", got, got.ResourceAttributes, want, want.ResourceAttributes)
	}

	do(h, "GET", "/stats/summary", "alice-token")
	if ra := f.lastSAR(t).ResourceAttributes; ra.Subresource != "stats" {
		t.Errorf("GET /stats/summary asked for subresource %q", ra.Subresource)
	}
	do(h, "DELETE", "/stats/summary", "alice-token")
	if ra := f.lastSAR(t).ResourceAttributes; ra.Verb != "delete" {
		t.Errorf("DELETE asked for verb %q", ra.Verb)
	}
}

func TestAuthorizationError(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "tokenreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.TokenReview{Status: authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: "alice"}}}, nil
	})
	c.PrependReactor("create", "subjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("etcd on fire")
	})
	rv := &reviewer{client: c, timeout: time.Second, log: discardLogger()}
	h := newNodeHandler("node-a", newTestSource(t), rv, discardLogger())
	rec := do(h, "GET", "/stats/summary", "any")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "etcd on fire") {
		t.Errorf("got %d %q, want 500 with the error", rec.Code, rec.Body)
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "Bearer abc trailing": "abc",
		"": "", "Bearer": "", "Bearer ": "", "Basic abc": "", "abc": "",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", header)
		got, ok := bearerToken(req)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", header, got, ok, want)
		}
	}
}
