// Package e2e tests the local cluster (scripts/cluster.sh) end to end: pods
// scheduled onto simulated nodes, volumes provisioned, attached and grown
// through the real CSI sidecars, simulated kubelet statistics, and a start
// and stop that leave nothing behind.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// script is scripts/cluster.sh of this checkout.
func script() string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return filepath.Join(root, "scripts", "cluster.sh")
}

// runScript runs scripts/cluster.sh ARGS and returns its last line of output.
func runScript(args ...string) (string, error) {
	cmd := exec.Command(script(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cluster.sh %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[len(lines)-1], nil
}

// testCluster is one running cluster in a data directory of its own.
type testCluster struct {
	dir        string
	kubeconfig string
	config     *rest.Config
	kube       kubernetes.Interface
}

// startCluster starts a cluster with the given extra start flags; it stops
// when the test ends (and by itself if this process dies first).
func startCluster(t *testing.T, flags ...string) *testCluster {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "discoblocks-cluster-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	args := append([]string{"start", "--data-dir", dir, "--owner-pid", fmt.Sprint(os.Getpid())}, flags...)
	kubeconfig, err := runScript(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster %v started in %v", flags, time.Since(started).Round(time.Millisecond))
	c := &testCluster{dir: dir, kubeconfig: kubeconfig}
	t.Cleanup(func() {
		if t.Failed() {
			logSimulationTails(t, dir)
		}
		if _, err := runScript("stop", "--data-dir", dir); err != nil {
			t.Error(err)
		}
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	if c.config, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		t.Fatal(err)
	}
	c.config.QPS, c.config.Burst = 200, 400
	if c.kube, err = kubernetes.NewForConfig(c.config); err != nil {
		t.Fatal(err)
	}
	return c
}

// logSimulationTails prints the last lines of the CSI sidecars' and the
// simulators' logs in dir, which CI keeps nowhere else: what a failed test
// most often needs to be understood.
func logSimulationTails(t *testing.T, dir string) {
	const lines = 25
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, path := range logs {
		name := filepath.Base(path)
		if !strings.HasPrefix(name, "csi-") && !strings.HasPrefix(name, "sim-") {
			continue
		}
		content, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		all := strings.Split(strings.TrimRight(string(content), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		t.Logf("last %d lines of %s:\n%s", len(all), path, strings.Join(all, "\n"))
	}
}

// eventually retries check every 200 ms until it returns nil or timeout
// passes, then fails the test with its last error.
func eventually(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// processesUsing lists the live processes whose command line names dir.
func processesUsing(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, entry := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if closing := bytes.LastIndexByte(stat, ')'); closing > 0 && closing+2 < len(stat) && stat[closing+2] == 'Z' {
			continue // exited, waiting to be reaped
		}
		found = append(found, entry.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

// tcpSocket is one line of /proc/net/tcp or tcp6.
type tcpSocket struct {
	local, remote string // HEXIP:HEXPORT, as the kernel prints them
	listening     bool
}

func (s tcpSocket) port() int {
	_, hexPort, _ := strings.Cut(s.local, ":")
	port, _ := strconv.ParseInt(hexPort, 16, 32)
	return int(port)
}

// loopbackHex: 127.0.0.0/8 as /proc/net/tcp prints it (little-endian), and
// ::1 and ::ffff:127.x.x.x as tcp6 prints them.
func loopbackHex(address string) bool {
	ip, _, _ := strings.Cut(address, ":")
	switch len(ip) {
	case 8:
		return strings.HasSuffix(ip, "7F")
	case 32:
		return ip == "00000000000000000000000001000000" ||
			(strings.HasPrefix(ip, "0000000000000000FFFF0000") && strings.HasSuffix(ip, "7F"))
	}
	return false
}

// clusterSockets are the TCP sockets of the processes of the cluster in dir:
// their descriptors' inodes, looked up in /proc/net/tcp and tcp6.
func clusterSockets(t *testing.T, c *testCluster) []tcpSocket {
	t.Helper()
	inodes := map[string]bool{}
	for _, line := range processesUsing(c.dir) {
		pid, _, _ := strings.Cut(line, ":")
		fds, _ := os.ReadDir(filepath.Join("/proc", pid, "fd"))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc", pid, "fd", fd.Name()))
			if err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
			}
		}
	}
	var sockets []tcpSocket
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			// local and remote addresses, state (0A is LISTEN), ..., inode (field 10).
			if len(fields) < 10 || !inodes[fields[9]] {
				continue
			}
			sockets = append(sockets, tcpSocket{local: fields[1], remote: fields[2], listening: fields[3] == "0A"})
		}
	}
	return sockets
}

// buildLocalcluster builds this checkout's localcluster into a temporary
// directory (quick: Go's build cache holds it after scripts/cluster.sh build).
func buildLocalcluster(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "localcluster")
	build := exec.Command("go", "build", "-o", out, "../cmd/localcluster")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build localcluster: %v\n%s", err, output)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func namespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

var (
	createOptions = metav1.CreateOptions{}
	getOptions    = metav1.GetOptions{}
)
