package localcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// cluster is the supervisor's state: what runs, on which ports.
type cluster struct {
	opts  Options
	l     Layout
	spawn *spawner
	log   *slog.Logger
	kube  kubernetes.Interface

	mu           sync.Mutex
	running      map[string]*Process  // by component name
	stopped      map[string]bool      // stopped on purpose (not a crash)
	ports        map[string][]int     // kept across restarts
	defs         map[string]component // for restarts
	order        [][]string           // start phases, torn down in reverse
	kubeletPorts []int
}

func newCluster(opts Options, log *slog.Logger) *cluster {
	return &cluster{
		opts: opts, l: opts.Layout, spawn: newSpawner(), log: log,
		running: map[string]*Process{}, stopped: map[string]bool{},
		ports: map[string][]int{}, defs: map[string]component{},
	}
}

func (c *cluster) etcdURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("http://127.0.0.1:%d", c.ports["etcd"][0])
}

func (c *cluster) server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("https://127.0.0.1:%d", c.ports["kube-apiserver"][0])
}

// bringUp starts the components phase by phase; each phase's components start
// together and the phase ends when all are ready.
func (c *cluster) bringUp(ctx context.Context) error {
	if err := c.startPhase(ctx, c.etcd()); err != nil {
		return err
	}
	if err := c.startPhase(ctx, c.apiserver()); err != nil {
		return err
	}
	if err := WriteKubeconfigs(c.l, c.server(), readToken(c.l)); err != nil {
		return err
	}
	if c.opts.ControlPlaneOnly {
		return nil
	}
	config, err := clientcmd.BuildConfigFromFlags("", c.l.Kubeconfig())
	if err != nil {
		return err
	}
	if c.kube, err = kubernetes.NewForConfig(config); err != nil {
		return err
	}
	if err := c.registerNodes(ctx); err != nil {
		return err
	}
	if err := c.startPhase(ctx, c.scheduler(), c.controllerManager(), c.kwok(), c.csiDriver()); err != nil {
		return err
	}
	if err := c.startPhase(ctx, c.sidecars()...); err != nil {
		return err
	}
	return c.startPhase(ctx, c.kubeletStats())
}

func (c *cluster) startPhase(ctx context.Context, components ...component) error {
	names := make([]string, len(components))
	errs := make([]error, len(components))
	var wg sync.WaitGroup
	for i, comp := range components {
		names[i] = comp.name
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startComponent(ctx, comp)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	c.order = append(c.order, names)
	c.mu.Unlock()
	return errors.Join(errs...)
}

// startComponent starts comp and waits until its probe passes. When it exits
// because another process took one of its ports between picking and binding,
// it tries again on new ports (not for a restart, whose clients keep the URL).
func (c *cluster) startComponent(ctx context.Context, comp component) error {
	c.mu.Lock()
	c.defs[comp.name] = comp
	ports, restart := c.ports[comp.name]
	c.mu.Unlock()
	for attempt := 1; ; attempt++ {
		if !restart {
			var err error
			if ports, err = pickPorts(comp.ports); err != nil {
				return err
			}
			c.mu.Lock()
			c.ports[comp.name] = ports
			c.mu.Unlock()
		}
		err := c.runUntilReady(ctx, comp, ports)
		if err == nil || restart || attempt == 3 || !errors.Is(err, errPortTaken) {
			return err
		}
		c.log.Info("a port was taken before the component could bind it; trying other ports", "component", comp.name)
	}
}

var errPortTaken = errors.New("address already in use")

func (c *cluster) runUntilReady(ctx context.Context, comp component, ports []int) error {
	if comp.prepare != nil {
		if err := comp.prepare(); err != nil {
			return fmt.Errorf("%s: %w", comp.name, err)
		}
	}
	logOffset := fileSize(c.l.Log(comp.name))
	p, err := startProcess(c.spawn, c.l, comp.name, comp.binary, comp.args(ports), comp.env)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.running[comp.name] = p
	delete(c.stopped, comp.name)
	c.mu.Unlock()
	c.log.Info("started", "component", comp.name, "pid", p.PID(), "ports", ports)
	check := comp.probe(ports)
	deadline := time.NewTimer(time.Until(startDeadline(ctx)))
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = check(ctx); lastErr == nil {
			c.log.Info("ready", "component", comp.name, "after", time.Since(p.started).Round(time.Millisecond))
			go c.watch(p)
			return nil
		}
		select {
		case <-p.Done():
			_, how := p.Exited()
			tail := logTail(c.l.Log(comp.name), logOffset, 30)
			if strings.Contains(tail, "address already in use") {
				return fmt.Errorf("%s: %w", comp.name, errPortTaken)
			}
			return fmt.Errorf("%s exited during start (%s); the end of %s:\n%s", comp.name, how, c.l.Log(comp.name), indent(tail))
		case <-ctx.Done():
			return fmt.Errorf("%s: start interrupted", comp.name)
		case <-deadline.C:
			return fmt.Errorf("%s was not ready within the start timeout: %v; the end of %s:\n%s",
				comp.name, lastErr, c.l.Log(comp.name), indent(logTail(c.l.Log(comp.name), logOffset, 30)))
		case <-tick.C:
		}
	}
}

// watch logs a component that exits without being asked to. It is not
// restarted: a test should see the failure, not a cluster that hides it.
func (c *cluster) watch(p *Process) {
	<-p.Done()
	c.mu.Lock()
	onPurpose := c.stopped[p.Name] || c.running[p.Name] != p
	c.mu.Unlock()
	if !onPurpose {
		_, how := p.Exited()
		c.log.Error("component exited unexpectedly", "component", p.Name, "how", how, "log", c.l.Log(p.Name))
	}
}

// stopComponent stops one component on purpose (kept stopped until started).
func (c *cluster) stopComponent(name string) error {
	c.mu.Lock()
	p, ok := c.running[name]
	if ok {
		c.stopped[name] = true
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no component %q", name)
	}
	c.log.Info("stopping", "component", name, "pid", p.PID())
	p.Stop(c.opts.StopGrace)
	return nil
}

// restartComponent starts a stopped component again on its ports.
func (c *cluster) restartComponent(ctx context.Context, name string) error {
	c.mu.Lock()
	comp, known := c.defs[name]
	p := c.running[name]
	c.mu.Unlock()
	if !known {
		return fmt.Errorf("no component %q", name)
	}
	if exited, _ := p.Exited(); !exited {
		return fmt.Errorf("%s already runs (pid %d)", name, p.PID())
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	return c.startComponent(ctx, comp)
}

// tearDown stops everything, the last phase first and each phase's
// components together; a phase that never started is skipped.
func (c *cluster) tearDown() {
	c.mu.Lock()
	order := c.order
	c.mu.Unlock()
	for i := len(order) - 1; i >= 0; i-- {
		var wg sync.WaitGroup
		for _, name := range order[i] {
			c.mu.Lock()
			p := c.running[name]
			c.stopped[name] = true
			c.mu.Unlock()
			if p == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Stop(c.opts.StopGrace)
				_ = os.Remove(c.l.PIDFile(name))
			}()
		}
		wg.Wait()
	}
	c.log.Info("every component has stopped")
}

// ComponentStatus is one line of status.
type ComponentStatus struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
	Exit    string `json:"exit,omitempty"`
	Ports   []int  `json:"ports,omitempty"`
}

func (c *cluster) status() []ComponentStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	var list []ComponentStatus
	for _, phase := range c.order {
		for _, name := range phase {
			p := c.running[name]
			if p == nil {
				continue
			}
			exited, how := p.Exited()
			list = append(list, ComponentStatus{Name: name, PID: p.PID(), Running: !exited, Exit: how, Ports: c.ports[name]})
		}
	}
	return list
}

func startDeadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Hour)
}

func readToken(l Layout) string {
	data, _ := os.ReadFile(l.TokenFile())
	return strings.TrimSpace(string(data))
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// logTail is the last n lines written to path after offset.
func logTail(path string, offset int64, n int) string {
	data, err := os.ReadFile(path)
	if err != nil || offset > int64(len(data)) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(text string) string {
	return "    " + strings.ReplaceAll(text, "\n", "\n    ")
}
