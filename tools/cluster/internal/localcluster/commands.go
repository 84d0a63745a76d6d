package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lock takes the data directory's lock: one start or stop at a time.
func lock(l Layout, wait bool) (*os.File, error) {
	file, err := os.OpenFile(l.Lock(), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(file.Fd()), how); err != nil {
		file.Close()
		return nil, fmt.Errorf("another start or stop is busy with %s", l.Dir)
	}
	return file, nil
}

// Start prepares a fresh data directory, starts the supervisor in a session
// of its own (a Ctrl-C or hang-up of the caller does not reach it; stop
// does), and returns the kubeconfig's path once every component is ready.
// Interrupted, or when the cluster cannot start, it leaves nothing running.
// When a ready cluster already runs in the directory, it returns that one.
func Start(opts Options) (string, error) {
	l := opts.Layout
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return "", err
	}
	lockFile, err := lock(l, false)
	if err != nil {
		return "", err
	}
	defer lockFile.Close()
	// Idempotent: a cluster that already runs and is ready here is the
	// answer; one still starting, or failed, is not, and is stopped first.
	if pid := readPID(l.SupervisorPID()); pid != 0 && ownedProcess(l, pid) {
		if _, err := os.Stat(l.Ready()); err == nil {
			fmt.Fprintf(os.Stderr, "localcluster: a cluster already runs in %s; kept\n", l.Dir)
			return l.Kubeconfig(), nil
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = waitGone(l, pid, 8*opts.StopGrace+30*time.Second)
	}
	sweepLeftovers(l)
	if err := l.Reset(); err != nil {
		return "", err
	}
	if _, err := MakePKI(l); err != nil {
		return "", err
	}
	executable, err := os.Executable()
	if err != nil {
		return "", err
	}
	logFile, err := os.OpenFile(l.Log("supervisor"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	supervisor := exec.Command(executable, append([]string{"supervise"}, opts.Args()...)...)
	supervisor.Stdout, supervisor.Stderr = logFile, logFile
	supervisor.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = supervisor.Start()
	logFile.Close()
	if err != nil {
		return "", fmt.Errorf("starting the supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- supervisor.Wait() }()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(interrupted)
	// The supervisor gives up at its own start timeout; this margin covers
	// its tear-down.
	timeout := time.NewTimer(opts.StartTimeout + 2*opts.StopGrace + 30*time.Second)
	defer timeout.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	abandon := func(why string) (string, error) {
		_ = supervisor.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2*opts.StopGrace + 30*time.Second):
			_ = supervisor.Process.Kill()
		}
		sweepLeftovers(l)
		return "", errors.New(why)
	}
	for {
		select {
		case <-tick.C:
			if _, err := os.Stat(l.Ready()); err == nil {
				return l.Kubeconfig(), nil
			}
		case err := <-exited:
			why, _ := os.ReadFile(l.Failed())
			if len(why) == 0 {
				why = []byte(fmt.Sprintf("the supervisor exited during start (%v); see %s", err, l.Log("supervisor")))
			}
			sweepLeftovers(l)
			return "", errors.New(strings.TrimSpace(string(why)))
		case sig := <-interrupted:
			return abandon(fmt.Sprintf("interrupted by %v: stopped what had started", sig))
		case <-timeout.C:
			return abandon("the supervisor did not finish starting or failing in time; see " + l.Log("supervisor"))
		}
	}
}

// Supervise runs the cluster until SIGTERM or SIGINT, or until the owner
// process is gone, then stops every component and returns.
func Supervise(opts Options) error {
	l := opts.Layout
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := os.WriteFile(l.SupervisorPID(), []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(l.SupervisorPID())
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	if opts.OwnerPID > 0 {
		go watchOwner(ctx, cancel, opts.OwnerPID, log)
	}
	c := newCluster(opts, log)
	control, err := c.serveControl(ctx)
	if err != nil {
		return err
	}
	defer os.Remove(l.ControlSocket())
	defer control.Close()
	startCtx, cancelStart := context.WithTimeout(ctx, opts.StartTimeout)
	started := time.Now()
	err = c.bringUp(startCtx)
	cancelStart()
	if err != nil {
		log.Error("the cluster could not start", "error", err)
		_ = os.WriteFile(l.Failed(), []byte(err.Error()+"\n"), 0o644)
		c.tearDown()
		return err
	}
	if err := writeEnv(c); err != nil {
		c.tearDown()
		return err
	}
	if err := os.WriteFile(l.Ready(), []byte(c.server()+"\n"), 0o644); err != nil {
		c.tearDown()
		return err
	}
	log.Info("the cluster is ready", "server", c.server(), "after", time.Since(started).Round(time.Millisecond))
	<-ctx.Done()
	log.Info("stopping the cluster")
	_ = os.Remove(l.Ready())
	c.tearDown()
	return nil
}

// watchOwner cancels when the owner process ends; its start time tells a
// recycled pid from the owner.
func watchOwner(ctx context.Context, cancel context.CancelFunc, pid int, log *slog.Logger) {
	started := processStartTime(pid)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if now := processStartTime(pid); now == "" || now != started {
			log.Info("the owner process is gone: stopping", "owner", pid)
			cancel()
			return
		}
	}
}

// processStartTime is field 22 of /proc/PID/stat; "" when the process is
// gone or a zombie.
func processStartTime(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	closing := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[closing+1:]))
	if len(fields) < 20 || fields[0] == "Z" {
		return ""
	}
	return fields[19]
}

func writeEnv(c *cluster) error {
	l := c.l
	lines := []string{
		"KUBECONFIG=" + l.Kubeconfig(),
		"DISCOBLOCKS_KUBECONFIG_TOKEN=" + l.TokenKubeconfig(),
		"DISCOBLOCKS_KUBE_SERVER=" + c.server(),
		"DISCOBLOCKS_KUBE_CA_FILE=" + l.PKI("ca.crt"),
		"DISCOBLOCKS_KUBE_TOKEN_FILE=" + l.TokenFile(),
		"DISCOBLOCKS_ETCD_URL=" + c.etcdURL(),
		"DISCOBLOCKS_CONTROLPLANE_BIN=" + c.opts.BinDir,
	}
	tmp := l.EnvFile() + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.EnvFile())
}

// Stop stops the cluster in l and waits until nothing of it runs; fine when
// nothing runs. It waits for a start that is still busy rather than racing it.
func Stop(l Layout, grace time.Duration) error {
	if _, err := os.Stat(l.Dir); err != nil {
		return nil
	}
	lockFile, err := lock(l, true)
	if err != nil {
		return err
	}
	defer lockFile.Close()
	if pid := readPID(l.SupervisorPID()); pid != 0 && ownedProcess(l, pid) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		// The supervisor stops phase by phase, each within the grace period.
		if waitGone(l, pid, 8*grace+30*time.Second) != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = waitGone(l, pid, 10*time.Second)
		}
	}
	if left := sweepLeftovers(l); left != "" {
		return fmt.Errorf("could not stop: %s", left)
	}
	return nil
}

// sweepLeftovers kills any component a supervisor that died left behind
// (the parent-death signal makes that rare) and says which it could not.
func sweepLeftovers(l Layout) string {
	files, _ := filepath.Glob(l.PIDFile("*"))
	var left []string
	for _, file := range files {
		if pid := readPID(file); pid != 0 && ownedProcess(l, pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if waitGone(l, pid, 10*time.Second) != nil {
				left = append(left, fmt.Sprintf("%s (pid %d)", filepath.Base(file), pid))
				continue
			}
		}
		if filepath.Base(file) != "supervisor.pid" {
			_ = os.Remove(file)
		}
	}
	return strings.Join(left, ", ")
}

// Status prints each component and reports whether all of them run.
func Status(l Layout, out io.Writer) (bool, error) {
	body, err := control(l, "GET", "/status", 10*time.Second)
	if err != nil {
		return false, err
	}
	var list []ComponentStatus
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		return false, err
	}
	_, readyErr := os.Stat(l.Ready())
	healthy := readyErr == nil
	for _, s := range list {
		state := "running"
		if !s.Running {
			state, healthy = "stopped ("+s.Exit+")", false
		}
		fmt.Fprintf(out, "%-40s %-24s pid %-8d ports %v\n", s.Name, state, s.PID, s.Ports)
	}
	if readyErr != nil {
		fmt.Fprintln(out, "the cluster is not ready (still starting, or failed)")
	}
	return healthy, nil
}

// StopComponent and StartComponent stop one component and start it again on
// the same ports (e.g. kube-apiserver, for tests of clients that must ride
// out an API server restart).
func StopComponent(l Layout, name string, grace time.Duration) error {
	_, err := control(l, "POST", "/components/"+name+"/stop", 2*grace+10*time.Second)
	return err
}

func StartComponent(l Layout, name string, timeout time.Duration) error {
	_, err := control(l, "POST", "/components/"+name+"/start", timeout+10*time.Second)
	return err
}
