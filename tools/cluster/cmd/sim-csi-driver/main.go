// Command sim-csi-driver is a SIMULATION of CSI drivers for the local test
// cluster. It serves the Kubernetes project's CSI mock driver
// (k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/mock) under the names
// of real provisioners, so that the real CSI sidecars (external-provisioner,
// -attacher, -resizer) and Discoblocks' per-provisioner logic run end to end
// while no volume exists anywhere or holds any data.
//
// It listens on unix sockets only and connects to nothing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// shutdownTimeout bounds how long calls in flight may run after a signal;
// the mock answers in microseconds, so only a stuck client gets cut off.
const shutdownTimeout = 10 * time.Second

// driverNameRE is the CSI spec's rule for a plugin name, checked here so that
// a typo fails at start rather than as an unexplained sidecar error.
var driverNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-.A-Za-z0-9]{0,61}[A-Za-z0-9])?$`)

// driverFlags collects the repeatable --driver NAME=SOCKET[,TOPOLOGY-KEY].
type driverFlags []driverSpec

func (f *driverFlags) String() string {
	parts := make([]string, len(*f))
	for i, d := range *f {
		parts[i] = d.name + "=" + d.socket
		if d.topologyKey != "" {
			parts[i] += "," + d.topologyKey
		}
	}
	return strings.Join(parts, ",")
}

func (f *driverFlags) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	socket, topologyKey, _ := strings.Cut(rest, ",")
	if !ok || name == "" || socket == "" {
		return fmt.Errorf("want NAME=SOCKET[,TOPOLOGY-KEY], got %q", v)
	}
	if !driverNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid CSI driver name", name)
	}
	for _, d := range *f {
		if d.name == name {
			return fmt.Errorf("driver %s given twice", name)
		}
		// Two drivers on one path would have the second take the first's
		// socket away.
		if filepath.Clean(d.socket) == filepath.Clean(socket) {
			return fmt.Errorf("socket %s given for both %s and %s", socket, d.name, name)
		}
	}
	*f = append(*f, driverSpec{name: name, socket: socket, topologyKey: topologyKey})
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program short of process signals, so that tests can run
// it and stop it by cancelling ctx. It returns the exit code: 0 after a clean
// stop, 1 when serving fails, 2 for bad usage.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("sim-csi-driver", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var drivers driverFlags
	kubeconfig := fl.String("kubeconfig", "", "kubeconfig of the local test cluster (its API server must be on loopback); with it, a PVC annotated "+holdAnnotation+"=true (or fail) holds back the expansion of its volume")
	fl.Var(&drivers, "driver", "serve the simulated CSI driver `NAME=SOCKET[,TOPOLOGY-KEY]`: driver name NAME on unix socket SOCKET, its volumes in the topology segment TOPOLOGY-KEY (none without) (repeatable, at least one)")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), `Usage: sim-csi-driver [--kubeconfig FILE] --driver NAME=SOCKET[,TOPOLOGY-KEY] [--driver ...]

SIMULATION for the local test cluster: serves the Kubernetes CSI mock driver
under the given driver names (e.g. ebs.csi.aws.com), one gRPC server per unix
socket. Volumes exist only in this process's memory and hold no data; any node
ID is accepted for attach and detach. A driver given a TOPOLOGY-KEY places its
volumes in the segment TOPOLOGY-KEY=value that the provisioner prefers, as a
zonal disk would be; one without has no topology, as a network disk.

With --kubeconfig, ControllerExpandVolume of a volume whose PVC carries the
annotation `+holdAnnotation+` fails with "SIMULATION: expansion held" until the
annotation is removed, so that tests can hold an expansion back: "true" with a
retryable error (the expansion stays in progress), "fail" with a final one.

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "sim-csi-driver: unexpected arguments %q\n", fl.Args())
		fl.Usage()
		return 2
	}
	if len(drivers) == 0 {
		fmt.Fprintln(stderr, "sim-csi-driver: at least one --driver NAME=SOCKET is required")
		fl.Usage()
		return 2
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	names := make([]string, len(drivers))
	for i, d := range drivers {
		names[i] = d.name
	}
	logger.Info("SIMULATION: sim-csi-driver serves the Kubernetes CSI mock driver under the names " +
		strings.Join(names, ", ") + "; no volume holds data")

	var holds holdChecker
	if *kubeconfig != "" {
		h, err := newAPIHolds(*kubeconfig)
		if err != nil {
			logger.Error("cannot use the kubeconfig", "error", err)
			return 2
		}
		holds = h
		logger.Info("SIMULATION: expansions of volumes whose PVC has " + holdAnnotation + "=true are held back")
	}
	sim, err := start(drivers, logger, holds)
	if err != nil {
		logger.Error("cannot start the simulated drivers", "error", err)
		return 1
	}
	for _, d := range drivers {
		logger.Info("serving simulated driver", "driver", d.name, "socket", d.socket, "topology_key", d.topologyKey)
	}

	code := 0
	select {
	case <-ctx.Done():
		logger.Info("stopping on signal")
	case err := <-sim.Err():
		logger.Error("a simulated driver stopped serving", "error", err)
		code = 1
	}
	sim.Stop(shutdownTimeout)
	logger.Info("stopped; socket files removed")
	return code
}
