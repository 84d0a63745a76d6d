// Command sim-kubelet-stats is a SIMULATION of the part of the kubelet that serves
// volume statistics. The test cluster's nodes are simulated by kwok, so there is no
// kubelet to answer GET /stats/summary and GET /metrics; this program answers them
// for every kwok node, on the port that node advertises in
// status.daemonEndpoints.kubeletEndpoint.Port, with numbers taken from annotations
// on the PersistentVolumeClaims instead of from a real filesystem.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"github.com/ondat/discoblocks/tools/cluster/internal/loopback"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

const simulationBanner = "SIMULATION: sim-kubelet-stats serves simulated kubelet statistics for kwok nodes; there is no real kubelet"

type options struct {
	kubeconfig     string
	certFile       string
	keyFile        string
	nodeAnnotation string
	bindAddress    string
}

// usageError marks mistakes in the command line, which exit with status 2 like
// the flag package's own errors, so a caller can tell them from runtime failures.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	opts, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "sim-kubelet-stats (SIMULATION):", err)
		return 2
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("simulation", true)
	// client-go logs through klog; routing it here keeps every line marked as simulated.
	klog.SetSlogLogger(logger)
	logger.Info(simulationBanner, "bindAddress", opts.bindAddress, "nodeAnnotationSelector", opts.nodeAnnotation)

	if err := serve(opts, logger); err != nil {
		logger.Error("SIMULATION: sim-kubelet-stats failed", "err", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	logger.Info("SIMULATION: sim-kubelet-stats stopped")
	return 0
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("sim-kubelet-stats", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "admin kubeconfig of the test cluster (required)")
	fs.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate for the bind address, PEM (required)")
	fs.StringVar(&o.keyFile, "tls-private-key-file", "", "private key of --tls-cert-file, PEM (required)")
	fs.StringVar(&o.nodeAnnotation, "node-annotation-selector", "kwok.x-k8s.io/node=fake",
		"serve only nodes with this annotation: key=value, or key for any value, or empty for all nodes")
	fs.StringVar(&o.bindAddress, "bind-address", "127.0.0.1", "loopback IP to listen on (any other address is refused)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `sim-kubelet-stats: a SIMULATION of the kubelet's /stats/summary and /metrics
volume statistics for kwok nodes (there is no real kubelet behind it).

For every selected node it listens with TLS on --bind-address and the node's
status.daemonEndpoints.kubeletEndpoint.Port. Requests are authenticated with a
TokenReview and authorized with a SubjectAccessReview like the kubelet does;
/healthz answers "ok" without authentication. Volume usage comes from PVC
annotations sim.discoblocks.dev/used-bytes, sim.discoblocks.dev/inodes and
sim.discoblocks.dev/used-inodes. A node annotated sim.discoblocks.dev/kubelet-fault=
garbage|slow|unavailable answers /stats/summary that way instead.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"--kubeconfig", o.kubeconfig}, {"--tls-cert-file", o.certFile}, {"--tls-private-key-file", o.keyFile},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))
	}
	if err := checkLoopbackIP(o.bindAddress); err != nil {
		return o, fmt.Errorf("--bind-address: %w", err)
	}
	return o, nil
}

func checkLoopbackIP(s string) error {
	ip := net.ParseIP(s)
	if ip == nil {
		return fmt.Errorf("%q is not an IP address; only loopback IPs (127.0.0.0/8, ::1) are allowed", s)
	}
	if !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address; this simulation listens only on 127.0.0.0/8 or ::1", s)
	}
	return nil
}

// checkLoopbackServer refuses kubeconfigs that point anywhere but this machine:
// the simulation must never talk to a remote cluster.
func checkLoopbackServer(server string) error {
	if err := loopback.CheckServer(server); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

func serve(opts options, logger *slog.Logger) error {
	cert, err := tls.LoadX509KeyPair(opts.certFile, opts.keyFile)
	if err != nil {
		return fmt.Errorf("loading serving certificate: %w", err)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}

	restConfig, err := clientcmd.BuildConfigFromFlags("", opts.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	if err := checkLoopbackServer(restConfig.Host); err != nil {
		return err
	}
	// Loopback is never proxied by Go, but being explicit keeps a stray
	// HTTPS_PROXY from ever sending traffic off the machine.
	restConfig.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	restConfig.UserAgent = "sim-kubelet-stats (simulation)"
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	nodeInformer := factory.Core().V1().Nodes().Informer()
	podInformer := factory.Core().V1().Pods().Informer()
	if err := podInformer.AddIndexers(cache.Indexers{podNodeNameIndex: podNodeNameIndexFunc}); err != nil {
		return fmt.Errorf("adding pod index: %w", err)
	}
	src := &statsSource{
		pods:      podInformer.GetIndexer(),
		pvcs:      factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:       factory.Core().V1().PersistentVolumes().Lister(),
		nodes:     factory.Core().V1().Nodes().Lister(),
		startTime: time.Now(),
		now:       time.Now,
		log:       logger,
	}
	// No factory.Shutdown on the way out: while the API server is unreachable a
	// reflector sits in a backoff of up to 30 s that ignores cancellation, and
	// waiting for it would delay the exit for nothing.
	factory.Start(ctx.Done())

	logger.Info("SIMULATION: waiting for informer caches to sync")
	// client-go logs failed list/watch attempts only at high verbosity, so say
	// why nothing is being served yet.
	synced := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-synced:
				return
			case <-t.C:
				logger.Warn("SIMULATION: informer caches still not synced; is the API server reachable?", "server", restConfig.Host)
			}
		}
	}()
	results := factory.WaitForCacheSync(ctx.Done())
	close(synced)
	for typ, ok := range results {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cache for %v did not sync", typ)
		}
	}
	logger.Info("SIMULATION: informer caches synced; opening node listeners")

	rv := &reviewer{client: client, timeout: 10 * time.Second, log: logger}
	mgr := newListenerManager(opts.bindAddress, tlsConfig, func(nodeName string) http.Handler {
		return newNodeHandler(nodeName, src, rv, logger)
	}, logger)
	sel := parseAnnotationSelector(opts.nodeAnnotation)
	reg, err := nodeInformer.AddEventHandler(mgr.eventHandler(sel))
	if err != nil {
		return fmt.Errorf("watching nodes: %w", err)
	}

	<-ctx.Done()
	logger.Info("SIMULATION: signal received; shutting node listeners down")
	_ = nodeInformer.RemoveEventHandler(reg)
	mgr.shutdownAll()
	return nil
}
