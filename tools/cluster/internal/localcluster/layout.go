// Package localcluster starts, supervises and stops a local Kubernetes cluster
// built from source: etcd and kube-apiserver, and for the full cluster the
// scheduler, the controller-manager, kwok's simulated nodes, a simulated CSI
// driver behind the real CSI sidecars and simulated kubelet statistics. One
// supervisor process owns every component, so that nothing outlives it.
package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Layout names the files of one cluster in its data directory. Every start
// begins afresh in it; stop keeps the files for a look afterwards.
type Layout struct {
	Dir string
}

// The data directory ends up in command lines, kubeconfigs, KEY=VALUE files
// and KUBECONFIG (a colon-separated list): keep it to characters that need no
// quoting anywhere.
var safeDir = regexp.MustCompile(`^[A-Za-z0-9_./+@-]+$`)

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$`)

// NewLayout checks DIR and makes it absolute.
func NewLayout(dir string) (Layout, error) {
	if dir == "" {
		return Layout{}, fmt.Errorf("--data-dir is required")
	}
	if !safeDir.MatchString(dir) {
		return Layout{}, fmt.Errorf("--data-dir may only hold letters, digits and _ . / + @ - (got %q)", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, err
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	l := Layout{Dir: abs}
	// A unix socket path is limited to 107 bytes.
	if n := len(l.ControlSocket()); n > 107 {
		return Layout{}, fmt.Errorf("--data-dir %s is too long: its control socket path would be %d bytes, the limit is 107", abs, n)
	}
	return l, nil
}

func (l Layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.Dir}, parts...)...)
}

func (l Layout) PKI(name string) string     { return l.path("pki", name) }
func (l Layout) Log(name string) string     { return l.path("logs", name+".log") }
func (l Layout) PIDFile(name string) string { return l.path("run", name+".pid") }
func (l Layout) Kubeconfig() string         { return l.path("kubeconfig") }
func (l Layout) TokenKubeconfig() string    { return l.path("kubeconfig-token") }
func (l Layout) TokenFile() string          { return l.path("token") }
func (l Layout) EnvFile() string            { return l.path("env") }
func (l Layout) EtcdData() string           { return l.path("etcd") }
func (l Layout) CSISocket(driver string) string {
	return l.path("csi", driver+".sock")
}
func (l Layout) StateDir(name string) string { return l.path("state", name) }
func (l Layout) ControlSocket() string       { return l.path("run", "control.sock") }
func (l Layout) SupervisorPID() string       { return l.path("run", "supervisor.pid") }
func (l Layout) Ready() string               { return l.path("run", "ready") }
func (l Layout) Failed() string              { return l.path("run", "failed") }
func (l Layout) Lock() string                { return l.path(".lock") }

// Reset removes what a previous start left, keeping nothing but the directory.
func (l Layout) Reset() error {
	for _, name := range []string{"pki", "logs", "run", "etcd", "csi", "state", "kubeconfig",
		"kubeconfig-token", "token", "env"} {
		if err := os.RemoveAll(l.path(name)); err != nil {
			return err
		}
	}
	for _, name := range []string{"pki", "logs", "run", "csi", "state"} {
		if err := os.MkdirAll(l.path(name), 0o755); err != nil {
			return err
		}
	}
	return os.Chmod(l.path("pki"), 0o700)
}
