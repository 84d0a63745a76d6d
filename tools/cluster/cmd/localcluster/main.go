// Command localcluster starts, supervises and stops a local Kubernetes cluster
// built from source (scripts/cluster.sh builds it and calls this). See the
// usage text below and docs/local-cluster.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ondat/discoblocks/tools/cluster/internal/localcluster"
)

const usage = `localcluster: a local Kubernetes cluster for tests and demos

  localcluster start --data-dir DIR --bin-dir DIR [--nodes N] [--control-plane-only]
                     [--owner-pid PID] [--csi-drivers NAME[=KEY],...]
      Fresh certificates, every component on free 127.0.0.1 ports, waits until all
      are ready; prints DIR/kubeconfig on its last line of output.
  localcluster stop --data-dir DIR
      Stops what start started there and waits until it is gone; fine if nothing runs.
  localcluster status --data-dir DIR
      Each component and its state; exit 0 when all run, 3 otherwise.
  localcluster stop-component|start-component NAME --data-dir DIR
      Stops one component, or starts it again on the same ports (kube-apiserver:
      tests of clients that ride out an API server restart).

Full cluster: etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kwok
(simulated nodes), sim-csi-driver (the Kubernetes CSI mock driver, SIMULATED, under
real provisioner names) behind the real csi-provisioner, csi-resizer and
csi-attacher, and sim-kubelet-stats (SIMULATED kubelet statistics). With
--control-plane-only: etcd and kube-apiserver only.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	command, args := os.Args[1], os.Args[2:]
	var name string
	if command == "stop-component" || command == "start-component" {
		if len(args) == 0 {
			fail(2, fmt.Errorf("%s needs a component name", command))
		}
		name, args = args[0], args[1:]
	}
	flags := flag.NewFlagSet(command, flag.ContinueOnError)
	dataDir := flags.String("data-dir", "", "the cluster's data directory")
	binDir := flags.String("bin-dir", "", "binaries built from source (scripts/cluster.sh build)")
	executable, _ := os.Executable()
	toolsDir := flags.String("tools-dir", filepath.Dir(executable), "our simulations (sim-csi-driver, sim-kubelet-stats)")
	nodes := flags.Int("nodes", 3, "simulated nodes")
	controlPlaneOnly := flags.Bool("control-plane-only", false, "etcd and kube-apiserver only")
	ownerPID := flags.Int("owner-pid", 0, "stop the cluster once this process is gone")
	csiDrivers := flags.String("csi-drivers", localcluster.FormatCSIDrivers(localcluster.DefaultCSIDrivers),
		"provisioner names the simulated CSI driver registers, with their topology keys")
	startTimeout := flags.Duration("start-timeout", envSeconds("DISCOBLOCKS_CLUSTER_TIMEOUT", 180*time.Second),
		"how long start waits for every component (env DISCOBLOCKS_CLUSTER_TIMEOUT, seconds)")
	stopGrace := flags.Duration("stop-grace", envSeconds("DISCOBLOCKS_CLUSTER_GRACE", 15*time.Second),
		"how long a component may take to stop after SIGTERM (env DISCOBLOCKS_CLUSTER_GRACE, seconds)")
	flags.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	if err := flags.Parse(args); err != nil {
		os.Exit(2)
	}
	if flags.NArg() != 0 {
		fail(2, fmt.Errorf("unexpected argument %q", flags.Arg(0)))
	}
	if command == "start" && *dataDir != "" {
		// Made first, so that the layout resolves symbolic links in its path as
		// stop will, and both name the same directory in the same way.
		if err := os.MkdirAll(*dataDir, 0o755); err != nil {
			fail(1, err)
		}
	}
	layout, err := localcluster.NewLayout(*dataDir)
	if err != nil {
		fail(2, err)
	}
	drivers, err := localcluster.ParseCSIDrivers(*csiDrivers)
	if err != nil {
		fail(2, err)
	}
	if *nodes < 1 || *nodes > 1000 {
		fail(2, fmt.Errorf("--nodes must be between 1 and 1000 (got %d)", *nodes))
	}
	opts := localcluster.Options{
		Layout: layout, BinDir: *binDir, ToolsDir: *toolsDir, ControlPlaneOnly: *controlPlaneOnly,
		Nodes: *nodes, CSIDrivers: drivers, OwnerPID: *ownerPID,
		StartTimeout: *startTimeout, StopGrace: *stopGrace,
	}
	switch command {
	case "start":
		if *binDir == "" {
			fail(2, fmt.Errorf("start needs --bin-dir"))
		}
		kubeconfig, err := localcluster.Start(opts)
		if err != nil {
			fail(1, err)
		}
		fmt.Fprintf(os.Stderr, "localcluster: ready; stop with: scripts/cluster.sh stop --data-dir %s\n", layout.Dir)
		fmt.Println(kubeconfig)
	case "supervise":
		if err := localcluster.Supervise(opts); err != nil {
			fail(1, err)
		}
	case "stop":
		if err := localcluster.Stop(layout, *stopGrace); err != nil {
			fail(1, err)
		}
	case "status":
		healthy, err := localcluster.Status(layout, os.Stdout)
		if err != nil {
			fail(3, err)
		}
		if !healthy {
			os.Exit(3)
		}
	case "stop-component":
		if err := localcluster.StopComponent(layout, name, *stopGrace); err != nil {
			fail(1, err)
		}
	case "start-component":
		if err := localcluster.StartComponent(layout, name, *startTimeout); err != nil {
			fail(1, err)
		}
	default:
		fail(2, fmt.Errorf("unknown command %q\n\n%s", command, usage))
	}
}

func fail(code int, err error) {
	fmt.Fprintf(os.Stderr, "localcluster: error: %v\n", err)
	os.Exit(code)
}

func envSeconds(name string, fallback time.Duration) time.Duration {
	if value, err := strconv.Atoi(os.Getenv(name)); err == nil && value > 0 {
		return time.Duration(value) * time.Second
	}
	return fallback
}
