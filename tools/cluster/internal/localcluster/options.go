package localcluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// CSIDriver is one provisioner name the simulated CSI driver answers to, with
// the topology key its volumes report ("" for a driver without topology).
type CSIDriver struct {
	Name        string
	TopologyKey string
}

// DefaultCSIDrivers are the bundled Discoblocks drivers' provisioners, with
// the zone keys those drivers use.
var DefaultCSIDrivers = []CSIDriver{
	{Name: "ebs.csi.aws.com", TopologyKey: "topology.kubernetes.io/zone"},
	{Name: "pd.csi.storage.gke.io", TopologyKey: "topology.gke.io/zone"},
	{Name: "csi.storageos.com"},
}

// Options describe one cluster.
type Options struct {
	Layout Layout
	// BinDir holds the binaries built from source (etcd, kube-apiserver,
	// kubectl, kube-scheduler, kube-controller-manager, kwok, the CSI
	// sidecars) and kwok's stages in kwok-stages/.
	BinDir string
	// ToolsDir holds our own simulations (sim-csi-driver, sim-kubelet-stats).
	ToolsDir string
	// ControlPlaneOnly starts etcd and kube-apiserver only, like envtest.
	ControlPlaneOnly bool
	Nodes            int
	CSIDrivers       []CSIDriver
	// OwnerPID, when set, is a process whose end stops the cluster (a test
	// that crashed before its stop).
	OwnerPID     int
	StartTimeout time.Duration
	StopGrace    time.Duration
}

func (o Options) bin(name string) string  { return filepath.Join(o.BinDir, name) }
func (o Options) tool(name string) string { return filepath.Join(o.ToolsDir, name) }

// Args renders the options as flags, for the supervisor process.
func (o Options) Args() []string {
	args := []string{
		"--data-dir=" + o.Layout.Dir,
		"--bin-dir=" + o.BinDir,
		"--tools-dir=" + o.ToolsDir,
		fmt.Sprintf("--nodes=%d", o.Nodes),
		fmt.Sprintf("--owner-pid=%d", o.OwnerPID),
		"--start-timeout=" + o.StartTimeout.String(),
		"--stop-grace=" + o.StopGrace.String(),
		"--csi-drivers=" + FormatCSIDrivers(o.CSIDrivers),
	}
	if o.ControlPlaneOnly {
		args = append(args, "--control-plane-only")
	}
	return args
}

// FormatCSIDrivers and ParseCSIDrivers use NAME[=TOPOLOGY-KEY],... .
func FormatCSIDrivers(drivers []CSIDriver) string {
	parts := make([]string, 0, len(drivers))
	for _, d := range drivers {
		if d.TopologyKey == "" {
			parts = append(parts, d.Name)
		} else {
			parts = append(parts, d.Name+"="+d.TopologyKey)
		}
	}
	return strings.Join(parts, ",")
}

func ParseCSIDrivers(text string) ([]CSIDriver, error) {
	var drivers []CSIDriver
	seen := map[string]bool{}
	for _, part := range strings.Split(text, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, key, _ := strings.Cut(part, "=")
		if !dnsSubdomain.MatchString(name) || seen[name] {
			return nil, fmt.Errorf("--csi-drivers: %q is not a valid, unique CSI driver name", name)
		}
		seen[name] = true
		drivers = append(drivers, CSIDriver{Name: name, TopologyKey: key})
	}
	return drivers, nil
}
