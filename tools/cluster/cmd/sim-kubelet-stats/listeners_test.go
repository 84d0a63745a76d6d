package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func selfSignedLoopbackCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func kwokNode(name string, port int32) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
		},
	}
}

// healthz reports whether the port answers /healthz over TLS.
func healthz(client *http.Client, port int32) bool {
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && string(body) == "ok"
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestListenerLifecycle(t *testing.T) {
	cert := selfSignedLoopbackCert(t)
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}

	rv := &reviewer{client: (&fakeAPIServer{}).client(), timeout: time.Second, log: discardLogger()}
	src := newTestSource(t)
	m := newListenerManager("127.0.0.1", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		func(n string) http.Handler { return newNodeHandler(n, src, rv, discardLogger()) }, discardLogger())
	m.retryInterval = 50 * time.Millisecond
	defer m.shutdownAll()
	h := m.eventHandler(parseAnnotationSelector("kwok.x-k8s.io/node=fake"))

	// A port held by someone else is retried until it frees up.
	p1 := freePort(t)
	holder, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p1))
	if err != nil {
		t.Fatal(err)
	}
	h.OnAdd(kwokNode("n1", p1), false)
	time.Sleep(200 * time.Millisecond)
	holder.Close()
	eventually(t, "n1 served after its port was freed", func() bool { return healthz(client, p1) })

	// A port change moves the listener.
	p2 := freePort(t)
	h.OnUpdate(kwokNode("n1", p1), kwokNode("n1", p2))
	eventually(t, "n1 moved to its new port", func() bool { return healthz(client, p2) && !healthz(client, p1) })

	// Unselected nodes are not served; deselecting closes the listener.
	other := kwokNode("n2", freePort(t))
	other.Annotations = nil
	h.OnAdd(other, false)
	time.Sleep(100 * time.Millisecond)
	if healthz(client, other.Status.DaemonEndpoints.KubeletEndpoint.Port) {
		t.Error("node without the kwok annotation is served")
	}

	// Deletion closes, re-creation on the same port reopens.
	h.OnDelete(kwokNode("n1", p2))
	eventually(t, "n1 closed after deletion", func() bool { return !healthz(client, p2) })
	h.OnAdd(kwokNode("n1", p2), false)
	eventually(t, "n1 served again after re-creation", func() bool { return healthz(client, p2) })

	// TLS older than 1.2 is refused.
	old := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
	}}
	if _, err := old.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", p2)); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}

	m.shutdownAll()
	if healthz(client, p2) {
		t.Error("still serving after shutdownAll")
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1": true, "127.1.2.3": true, "::1": true, "0.0.0.0": false, "10.0.0.1": false, "localhost": false} {
		if err := checkLoopbackIP(addr); (err == nil) != ok {
			t.Errorf("checkLoopbackIP(%q) = %v", addr, err)
		}
	}
	// The address rules are loopback's (internal/loopback); here, only that a
	// refusal is a usage error.
	if _, usage := checkLoopbackServer("https://10.1.1.1:6443").(usageError); !usage {
		t.Error("checkLoopbackServer: a remote server is not a usage error")
	}
}

func TestParseFlags(t *testing.T) {
	base := []string{"--kubeconfig", "k", "--tls-cert-file", "c", "--tls-private-key-file", "p"}
	if o, err := parseFlags(base); err != nil || o.bindAddress != "127.0.0.1" || o.nodeAnnotation != "kwok.x-k8s.io/node=fake" {
		t.Errorf("defaults: %+v %v", o, err)
	}
	if _, err := parseFlags(append(base, "--bind-address", "0.0.0.0")); err == nil {
		t.Error("non-loopback bind address accepted")
	}
	if _, err := parseFlags(base[:2]); err == nil {
		t.Error("missing TLS flags accepted")
	}
}
