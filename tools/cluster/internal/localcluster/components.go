package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// component is one process of the cluster: how to run it on the ports it is
// given, and when it counts as ready.
type component struct {
	name   string
	binary string
	// ports is how many free loopback ports it needs; they are picked at its
	// first start and kept for a restart (clients keep their URLs).
	ports int
	args  func(ports []int) []string
	env   []string
	probe func(ports []int) probe
	// prepare runs before every attempt to start it.
	prepare func() error
}

func (c *cluster) etcd() component {
	return component{
		name:   "etcd",
		binary: c.opts.bin("etcd"),
		ports:  2,
		// A failed attempt may have initialised the data directory for other
		// peer URLs.
		prepare: func() error { return os.RemoveAll(c.l.EtcdData()) },
		args: func(p []int) []string {
			client := fmt.Sprintf("http://127.0.0.1:%d", p[0])
			peer := fmt.Sprintf("http://127.0.0.1:%d", p[1])
			// Plain HTTP on loopback, as envtest does: only the API server
			// talks to it. --unsafe-no-fsync: test data need not survive a
			// power cut, and fsync dominates etcd's latency on a shared disk.
			return []string{
				"--name=discoblocks-local",
				"--data-dir=" + c.l.EtcdData(),
				"--listen-client-urls=" + client,
				"--advertise-client-urls=" + client,
				"--listen-peer-urls=" + peer,
				"--initial-advertise-peer-urls=" + peer,
				"--initial-cluster=discoblocks-local=" + peer,
				"--initial-cluster-state=new",
				"--unsafe-no-fsync",
			}
		},
		probe: func(p []int) probe {
			return httpProbe(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", p[0]), `"health":"true"`)
		},
	}
}

func (c *cluster) apiserver() component {
	return component{
		name:   "kube-apiserver",
		binary: c.opts.bin("kube-apiserver"),
		ports:  1,
		args: func(p []int) []string {
			return []string{
				"--etcd-servers=" + c.etcdURL(),
				"--bind-address=127.0.0.1",
				"--advertise-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", p[0]),
				"--tls-cert-file=" + c.l.PKI("apiserver.crt"),
				"--tls-private-key-file=" + c.l.PKI("apiserver.key"),
				"--client-ca-file=" + c.l.PKI("ca.crt"),
				"--token-auth-file=" + c.l.PKI("tokens.csv"),
				"--authorization-mode=Node,RBAC",
				"--service-account-issuer=" + c.server(),
				"--service-account-key-file=" + c.l.PKI("service-account.pub"),
				"--service-account-signing-key-file=" + c.l.PKI("service-account.key"),
				"--service-cluster-ip-range=10.0.0.0/24",
				// The "kubernetes" Service's endpoint would be the loopback
				// address, which endpoints may not hold; nothing in a pod uses it.
				"--endpoint-reconciler-type=none",
				// Without a controller-manager (the control-plane-only cluster)
				// no namespace gets its "default" ServiceAccount and the plugin
				// would refuse every pod; the full cluster behaves the same so
				// that tests see one behaviour.
				"--disable-admission-plugins=ServiceAccount",
				// The operator's mount jobs are privileged pods.
				"--allow-privileged=true",
				"--profiling=false",
			}
		},
		probe: func(p []int) probe {
			return func(ctx context.Context) error {
				client, err := adminClient(c.l)
				if err != nil {
					return err
				}
				return httpProbe(client, fmt.Sprintf("https://127.0.0.1:%d/readyz", p[0]), "ok")(ctx)
			}
		},
	}
}

// healthzComponent is a Kubernetes component serving /healthz over HTTPS on a
// loopback port with a certificate of its own.
func (c *cluster) healthzComponent(name string, extra ...string) component {
	return component{
		name:   name,
		binary: c.opts.bin(name),
		ports:  1,
		args: func(p []int) []string {
			kubeconfig := c.l.Kubeconfig()
			return append([]string{
				"--kubeconfig=" + kubeconfig,
				"--authentication-kubeconfig=" + kubeconfig,
				"--authorization-kubeconfig=" + kubeconfig,
				"--leader-elect=false",
				"--bind-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", p[0]),
				"--cert-dir=" + c.l.StateDir(name),
			}, extra...)
		},
		probe: func(p []int) probe {
			return httpProbe(insecureLoopbackClient(), fmt.Sprintf("https://127.0.0.1:%d/healthz", p[0]), "ok")
		},
	}
}

func (c *cluster) scheduler() component { return c.healthzComponent("kube-scheduler") }

func (c *cluster) controllerManager() component {
	return c.healthzComponent("kube-controller-manager",
		"--service-account-private-key-file="+c.l.PKI("service-account.key"),
		"--root-ca-file="+c.l.PKI("ca.crt"),
		"--use-service-account-credentials=false",
		// 20 requests/s by default: the PV controller binds hundreds of
		// claims at once in the load benchmark.
		"--kube-api-qps=100",
		"--kube-api-burst=200")
}

func (c *cluster) kwok() component {
	stages, _ := filepath.Glob(filepath.Join(c.opts.BinDir, "kwok-stages", "*.yaml"))
	sort.Strings(stages)
	return component{
		name:   "kwok",
		binary: c.opts.bin("kwok"),
		// kwok also reads ~/.kwok/kwok.yaml: a home of its own keeps a
		// developer's configuration out.
		env: []string{"HOME=" + c.l.StateDir("kwok")},
		args: func([]int) []string {
			// No --node-port and no --server-address: kwok serves nothing
			// (it would listen on 0.0.0.0); the nodes' kubelet endpoints are
			// the simulated statistics' ports, set when the nodes are created.
			return []string{
				"--kubeconfig=" + c.l.Kubeconfig(),
				"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
				"--node-lease-duration-seconds=40",
				"--config=" + strings.Join(stages, ","),
			}
		},
		probe: func([]int) probe { return c.nodesReady },
		prepare: func() error {
			if len(stages) == 0 {
				return fmt.Errorf("no kwok stages in %s/kwok-stages (run scripts/cluster.sh build)", c.opts.BinDir)
			}
			return os.MkdirAll(c.l.StateDir("kwok"), 0o755)
		},
	}
}

func (c *cluster) csiDriver() component {
	var probes []probe
	// The kubeconfig lets tests hold an expansion back with a PVC annotation
	// (sim.discoblocks.dev/hold-resize).
	args := []string{"--kubeconfig=" + c.l.Kubeconfig()}
	for _, d := range c.opts.CSIDrivers {
		spec := d.Name + "=" + c.l.CSISocket(d.Name)
		if d.TopologyKey != "" {
			spec += "," + d.TopologyKey
		}
		args = append(args, "--driver="+spec)
		probes = append(probes, unixSocketProbe(c.l.CSISocket(d.Name)))
	}
	return component{
		name:   "sim-csi-driver",
		binary: c.opts.tool("sim-csi-driver"),
		args:   func([]int) []string { return args },
		probe:  func([]int) probe { return allProbes(probes...) },
	}
}

// sidecar is one of the CSI sidecars (csi-provisioner, csi-resizer,
// csi-attacher) for one driver; each serves metrics on a loopback port,
// which is up once it has connected to the driver.
func (c *cluster) sidecar(binary string, driver CSIDriver, extra ...string) component {
	return component{
		name:   binary + "-" + driver.Name,
		binary: c.opts.bin(binary),
		ports:  1,
		args: func(p []int) []string {
			return append([]string{
				"--csi-address=" + c.l.CSISocket(driver.Name),
				"--kubeconfig=" + c.l.Kubeconfig(),
				"--leader-election=false",
				fmt.Sprintf("--http-endpoint=127.0.0.1:%d", p[0]),
				// The default, 5 requests/s, made provisioning 500 volumes take
				// over two minutes (docs/performance.md); one local API server
				// takes far more.
				"--kube-api-qps=100",
				"--kube-api-burst=200",
			}, extra...)
		},
		probe: func(p []int) probe {
			return httpProbe(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/metrics", p[0]), "")
		},
	}
}

func (c *cluster) sidecars() []component {
	var list []component
	for _, d := range c.opts.CSIDrivers {
		provisionerArgs := []string{"--default-fstype=ext4", "--extra-create-metadata"}
		if d.TopologyKey != "" {
			provisionerArgs = append(provisionerArgs, "--feature-gates=Topology=true")
		}
		list = append(list,
			c.sidecar("csi-provisioner", d, provisionerArgs...),
			// csi-resizer's backoff doubles up to 5 minutes by default; a
			// test that holds an expansion and releases it must not wait that
			// long for the next try (a CI run once waited over 3 minutes).
			c.sidecar("csi-resizer", d, "--retry-interval-max=10s"),
			c.sidecar("csi-attacher", d))
	}
	return list
}

func (c *cluster) kubeletStats() component {
	return component{
		name:   "sim-kubelet-stats",
		binary: c.opts.tool("sim-kubelet-stats"),
		args: func([]int) []string {
			return []string{
				"--kubeconfig=" + c.l.Kubeconfig(),
				"--tls-cert-file=" + c.l.PKI("kubelet.crt"),
				"--tls-private-key-file=" + c.l.PKI("kubelet.key"),
			}
		},
		probe: func([]int) probe { return c.kubeletPortsUp },
	}
}
