package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// spawner starts every child from one OS thread that never exits. Linux sends
// a child's parent-death signal when the thread that forked it ends, not the
// process; a Go runtime thread may end, so children forked from an arbitrary
// thread could be killed early or, worse, never. One locked thread avoids both.
type spawner struct {
	requests chan func()
}

func newSpawner() *spawner {
	s := &spawner{requests: make(chan func())}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as we do
		for request := range s.requests {
			request()
		}
	}()
	return s
}

func (s *spawner) do(f func()) {
	done := make(chan struct{})
	s.requests <- func() { f(); close(done) }
	<-done
}

// Process is one running component. Its exit is observed by Wait in the
// background; Done is closed once it has exited and been reaped.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	started time.Time
}

// startProcess runs path with args as component name: its own process group
// (a signal to the group reaches anything it forks), no standard input,
// output appended to its log, SIGKILL if the supervisor dies, and its pid in
// run/NAME.pid so that stop can find a leftover even then.
func startProcess(s *spawner, l Layout, name, path string, args []string, env []string) (*Process, error) {
	logFile, err := os.OpenFile(l.Log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own copy
	fmt.Fprintf(logFile, "---- %s: %s %s\n", time.Now().Format(time.RFC3339), path, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var startErr error
	s.do(func() { startErr = cmd.Start() })
	if startErr != nil {
		return nil, fmt.Errorf("starting %s: %w", name, startErr)
	}
	p := &Process{Name: name, cmd: cmd, done: make(chan struct{}), started: time.Now()}
	if err := os.WriteFile(l.PIDFile(name), []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o644); err != nil {
		_ = p.signal(syscall.SIGKILL)
		return nil, err
	}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *Process) PID() int { return p.cmd.Process.Pid }

func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether it has exited, and how.
func (p *Process) Exited() (bool, string) {
	select {
	case <-p.done:
		if p.exitErr == nil {
			return true, "exit status 0"
		}
		return true, p.exitErr.Error()
	default:
		return false, ""
	}
}

func (p *Process) signal(sig syscall.Signal) error {
	// The whole group first; the process alone if the group is gone already.
	if err := syscall.Kill(-p.PID(), sig); err == nil {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM, then SIGKILL after grace, and returns once it has exited.
func (p *Process) Stop(grace time.Duration) {
	if exited, _ := p.Exited(); !exited {
		_ = p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
	// Whatever the process forked and left in its group goes too.
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
}

// ownedProcess reports whether pid is alive (not a zombie) and is one of this
// cluster's: its command line names a path in the data directory. A recycled
// pid of an unrelated process is never taken for ours, nor killed.
func ownedProcess(l Layout, pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold spaces or parentheses.
	closing := strings.LastIndexByte(string(stat), ')')
	if closing < 0 || closing+2 >= len(stat) || stat[closing+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(cmdline), l.Dir+"/") || strings.Contains(string(cmdline), "="+l.Dir+"\x00") ||
		strings.Contains(string(cmdline), "\x00"+l.Dir+"\x00")
}

// readPID reads a pid file; 0 when absent or malformed.
func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d", &pid); err != nil || pid <= 1 {
		return 0
	}
	return pid
}

// waitGone waits until pid is no longer an owned, live process.
func waitGone(l Layout, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for ownedProcess(l, pid) {
		if time.Now().After(deadline) {
			return errors.New("still running")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
