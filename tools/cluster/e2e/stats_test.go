package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// summary is the part of the kubelet's Summary API the statistics are read
// from (k8s.io/kubelet/pkg/apis/stats/v1alpha1), decoded independently of
// the simulation's own types.
type summary struct {
	Pods []struct {
		PodRef struct{ Name, Namespace string } `json:"podRef"`
		Volume []struct {
			Name           string                            `json:"name"`
			CapacityBytes  *int64                            `json:"capacityBytes"`
			AvailableBytes *int64                            `json:"availableBytes"`
			UsedBytes      *int64                            `json:"usedBytes"`
			Inodes         *int64                            `json:"inodes"`
			InodesFree     *int64                            `json:"inodesFree"`
			InodesUsed     *int64                            `json:"inodesUsed"`
			PVCRef         *struct{ Name, Namespace string } `json:"pvcRef"`
		} `json:"volume"`
	} `json:"pods"`
}

func statistics(t *testing.T, c *testCluster, pod *corev1.Pod) {
	ctx := context.Background()
	node, err := c.kube.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Status.Addresses[0].Address != "127.0.0.1" {
		t.Fatalf("node %s's address is %v, not loopback", node.Name, node.Status.Addresses)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	reader := serviceAccountToken(t, c, "stats-reader", true)
	stranger := serviceAccountToken(t, c, "stranger", false)
	client := kubeletClient(t, c)

	annotate := `{"metadata":{"annotations":{"sim.discoblocks.dev/used-bytes":"1536Mi","sim.discoblocks.dev/used-inodes":"1000"}}}`
	if _, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Patch(ctx, "data", types.MergePatchType, []byte(annotate), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	const gi = int64(1) << 30
	eventually(t, 30*time.Second, "/stats/summary follows the annotations", func(ctx context.Context) error {
		status, body, err := get(ctx, client, base+"/stats/summary", reader)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("status %d, error %v: %s", status, err, body)
		}
		var s summary
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return err
		}
		for _, p := range s.Pods {
			for _, v := range p.Volume {
				if v.PVCRef == nil || v.PVCRef.Name != "data" || v.PVCRef.Namespace != namespace {
					continue
				}
				got := fmt.Sprintf("capacity %d available %d used %d inodes %d free %d used %d",
					deref(v.CapacityBytes), deref(v.AvailableBytes), deref(v.UsedBytes),
					deref(v.Inodes), deref(v.InodesFree), deref(v.InodesUsed))
				want := fmt.Sprintf("capacity %d available %d used %d inodes %d free %d used %d",
					2*gi, gi/2, 3*gi/2, 2*gi/16384, 2*gi/16384-1000, 1000)
				if v.Name != "data" || p.PodRef.Name != "db" || got != want {
					return fmt.Errorf("volume %q of pod %q: %s, want %s", v.Name, p.PodRef.Name, got, want)
				}
				return nil
			}
		}
		return fmt.Errorf("no volume with pvcRef %s/data in %s", namespace, body)
	})

	status, body, err := get(ctx, client, base+"/metrics", reader)
	if err != nil || status != http.StatusOK {
		t.Fatalf("/metrics: status %d, error %v: %s", status, err, body)
	}
	for _, want := range []string{
		fmt.Sprintf(`kubelet_volume_stats_used_bytes{namespace="%s",persistentvolumeclaim="data"} 1.610612736e+09`, namespace),
		fmt.Sprintf(`kubelet_volume_stats_capacity_bytes{namespace="%s",persistentvolumeclaim="data"} 2.147483648e+09`, namespace),
		fmt.Sprintf(`kubelet_volume_stats_inodes_used{namespace="%s",persistentvolumeclaim="data"} 1000`, namespace),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no line %q:\n%s", want, body)
		}
	}

	// As the kubelet: a token without nodes/stats is forbidden, no token is
	// unauthorized.
	if status, body, err := get(ctx, client, base+"/stats/summary", stranger); err != nil || status != http.StatusForbidden {
		t.Errorf("a token without nodes/stats: status %d, error %v: %s", status, err, body)
	}
	if status, body, err := get(ctx, client, base+"/stats/summary", ""); err != nil || status != http.StatusUnauthorized {
		t.Errorf("no token: status %d, error %v: %s", status, err, body)
	}
}

func deref(v *int64) int64 { return ptr.Deref(v, -1) }

// serviceAccountToken makes a service account, allowed to get nodes/stats and
// nodes/metrics or not, and returns a token of it from the TokenRequest API.
func serviceAccountToken(t *testing.T, c *testCluster, name string, allowStats bool) string {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := c.kube.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if allowStats {
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + name},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/stats", "nodes/metrics"}, Verbs: []string{"get"}}},
		}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}},
		}
		if _, err := c.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	token, err := c.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return token.Status.Token
}

// kubeletClient trusts the cluster's CA, which signed the simulated
// kubelets' serving certificate (as --kubelet-ca-file would).
func kubeletClient(t *testing.T, c *testCluster) *http.Client {
	ca, err := os.ReadFile(filepath.Join(c.dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no CA certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

func get(ctx context.Context, client *http.Client, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
