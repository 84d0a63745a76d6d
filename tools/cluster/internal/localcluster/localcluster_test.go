package localcluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewLayoutRefusesUnsafeDirectories(t *testing.T) {
	for _, dir := range []string{"", "/tmp/with space", "/tmp/semi;colon", "/tmp/" + strings.Repeat("x", 120)} {
		if _, err := NewLayout(dir); err == nil {
			t.Errorf("NewLayout(%q) accepted", dir)
		}
	}
	l, err := NewLayout("relative/dir")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(l.Dir) {
		t.Errorf("NewLayout kept a relative path: %s", l.Dir)
	}
}

func TestCSIDriversRoundTrip(t *testing.T) {
	text := FormatCSIDrivers(DefaultCSIDrivers)
	if text != "ebs.csi.aws.com=topology.kubernetes.io/zone,pd.csi.storage.gke.io=topology.gke.io/zone,csi.storageos.com" {
		t.Errorf("FormatCSIDrivers = %q", text)
	}
	parsed, err := ParseCSIDrivers(text)
	if err != nil || len(parsed) != 3 || parsed[1] != DefaultCSIDrivers[1] || parsed[2].TopologyKey != "" {
		t.Errorf("ParseCSIDrivers(%q) = %v, %v", text, parsed, err)
	}
	for _, bad := range []string{"a.b,a.b", "Not_A_Name", "-x"} {
		if _, err := ParseCSIDrivers(bad); err == nil {
			t.Errorf("ParseCSIDrivers(%q) accepted", bad)
		}
	}
}

func TestPKI(t *testing.T) {
	l, err := NewLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	p, err := MakePKI(l)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(load(t, l.PKI("ca.crt")))
	for _, tc := range []struct {
		name  string
		usage x509.ExtKeyUsage
		host  string
	}{
		{"apiserver", x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		{"kubelet", x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		{"admin", x509.ExtKeyUsageClientAuth, ""},
	} {
		cert := load(t, l.PKI(tc.name+".crt"))
		opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{tc.usage}}
		if _, err := cert.Verify(opts); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.host != "" {
			if err := cert.VerifyHostname(tc.host); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	}
	if admin := load(t, l.PKI("admin.crt")); len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("the admin's groups are %v", admin.Subject.Organization)
	}
	if info, err := os.Stat(l.PKI("ca.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v, %v", info.Mode(), err)
	}
	tokens, _ := os.ReadFile(l.PKI("tokens.csv"))
	if len(p.Token) != 64 || !strings.HasPrefix(string(tokens), p.Token+",") {
		t.Errorf("token %q, tokens.csv %q", p.Token, tokens)
	}
}

func load(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestPickPortsAreFreeAndDistinct(t *testing.T) {
	ports, err := pickPorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, port := range ports {
		if seen[port] || port < 20000 || port >= 32000 {
			t.Errorf("port %d repeated or out of range", port)
		}
		seen[port] = true
		listener, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d cannot be bound: %v", port, err)
			continue
		}
		listener.Close()
	}
}

// A component that ignores SIGTERM is killed after the grace period, with
// what it forked; a process is "ours" only while alive and naming the
// directory.
func TestProcessStopAndOwnership(t *testing.T) {
	l, err := NewLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	s := newSpawner()
	// Ignored signals stay ignored in what the shell forks, so sleep too
	// ignores SIGTERM; the marker says the trap is in place.
	marker := filepath.Join(l.Dir, "trapped")
	script := "trap '' TERM; touch " + marker + "; sleep 60 & wait"
	p, err := startProcess(s, l, "stubborn", "/bin/sh", []string{"-c", script, l.Dir + "/arg"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell never set its trap")
		}
	}
	if readPID(l.PIDFile("stubborn")) != p.PID() {
		t.Errorf("pid file holds %d, want %d", readPID(l.PIDFile("stubborn")), p.PID())
	}
	if !ownedProcess(l, p.PID()) {
		t.Error("a running component is not recognised as ours")
	}
	other, _ := NewLayout(t.TempDir())
	if ownedProcess(other, p.PID()) {
		t.Error("a process of another data directory is taken for ours")
	}
	started := time.Now()
	p.Stop(500 * time.Millisecond)
	if exited, how := p.Exited(); !exited || !strings.Contains(how, "killed") {
		t.Errorf("after Stop: exited %v (%s)", exited, how)
	}
	if elapsed := time.Since(started); elapsed < 400*time.Millisecond {
		t.Errorf("stopped after %v: SIGTERM should have been ignored for the grace period", elapsed)
	}
	if ownedProcess(l, p.PID()) {
		t.Error("an exited component is still taken for a running one")
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("old\nrun 1\na\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 4, 2); got != "b\nc" {
		t.Errorf("logTail = %q", got)
	}
	if got := logTail(path, 4, 10); got != "run 1\na\nb\nc" {
		t.Errorf("logTail = %q", got)
	}
	if got := logTail(path, 1000, 2); got != "" {
		t.Errorf("logTail past the end = %q", got)
	}
}
