package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// driverSpec is one --driver NAME=SOCKET[,TOPOLOGY-KEY].
type driverSpec struct {
	name        string
	socket      string
	topologyKey string // "" for a driver without topology
}

// mockMu serialises every call into every mock instance of the process. The
// mock keeps per-volume flags in a package-level map (service.MockVolumes)
// that all instances share and write under their own, separate locks, and
// some of its methods read its volume list without any lock; concurrent calls
// could therefore corrupt state or crash the process. Each call takes
// microseconds, so one lock costs nothing that matters here.
var mockMu sync.Mutex

// simulator is the set of gRPC servers of one process, one per driver.
type simulator struct {
	logger  *slog.Logger
	sockets []string
	servers []*grpc.Server
	serving sync.WaitGroup
	// errs receives the error of any server whose Serve fails on its own.
	errs chan error
}

// start creates a mock service per spec, listens on every socket and then
// serves them all. Every socket is bound before any is served, so that one
// bad path fails the process before sidecars see a partial set of drivers.
// holds, when not nil, may hold back expansions (hold.go).
func start(specs []driverSpec, logger *slog.Logger, holds holdChecker) (*simulator, error) {
	drivers := make([]*simDriver, len(specs))
	mockMu.Lock()
	for i, s := range specs {
		d, err := newSimDriver(s.name, s.topologyKey)
		if err != nil {
			mockMu.Unlock()
			return nil, err
		}
		d.logger, d.holds = logger, holds
		drivers[i] = d
	}
	mockMu.Unlock()

	listeners := make([]net.Listener, 0, len(specs))
	for _, s := range specs {
		l, err := listenUnix(s.socket)
		if err != nil {
			for _, l := range listeners {
				l.Close() // also unlinks the socket file it created
			}
			return nil, fmt.Errorf("driver %s: %w", s.name, err)
		}
		listeners = append(listeners, l)
	}

	sim := &simulator{logger: logger, errs: make(chan error, len(specs))}
	for i, s := range specs {
		srv := grpc.NewServer(grpc.UnaryInterceptor(callInterceptor(s.name, logger)))
		csi.RegisterIdentityServer(srv, drivers[i])
		csi.RegisterControllerServer(srv, drivers[i])
		csi.RegisterNodeServer(srv, drivers[i])
		sim.servers = append(sim.servers, srv)
		sim.sockets = append(sim.sockets, s.socket)
		l := listeners[i]
		sim.serving.Go(func() {
			// Serve returns nil after Stop or GracefulStop; anything else is a
			// failure the process must not survive silently.
			if err := srv.Serve(l); err != nil {
				sim.errs <- fmt.Errorf("driver %s on socket %s: %w", s.name, s.socket, err)
			}
		})
	}
	return sim, nil
}

// Err delivers the first failure of a server that stopped serving on its own.
func (s *simulator) Err() <-chan error { return s.errs }

// Stop lets every server finish its calls in flight for up to timeout, then
// cuts off whatever remains, and removes the socket files.
func (s *simulator) Stop(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, srv := range s.servers {
			wg.Go(srv.GracefulStop)
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		s.logger.Warn("calls still running after the shutdown timeout; stopping hard", "timeout", timeout)
		// Stop may be called while GracefulStop runs; it closes the remaining
		// connections and makes GracefulStop return.
		for _, srv := range s.servers {
			srv.Stop()
		}
		<-done
	}
	s.serving.Wait()
	// Closing a listener normally unlinks its socket already; this covers a
	// listener that could not.
	for _, p := range s.sockets {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logger.Warn("cannot remove socket file", "socket", p, "error", err)
		}
	}
}

// listenUnix listens on the unix socket path socket, first removing a socket
// file left behind by a process that is gone.
func listenUnix(socket string) (net.Listener, error) {
	if err := removeStaleSocket(socket); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on socket %s: %w", socket, err)
	}
	return l, nil
}

// removeStaleSocket removes socket if it is a socket file nobody answers on.
// Anything else at that path is refused rather than deleted: a mistyped
// --driver must not destroy a file, nor take over the socket of a live
// process (perhaps another sim-csi-driver) and cut off its clients.
func removeStaleSocket(socket string) error {
	fi, err := os.Lstat(socket)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot inspect socket path %s: %w", socket, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("refusing to use socket path %s: it exists and is %s, not a socket", socket, describeMode(fi.Mode()))
	}
	if c, err := net.DialTimeout("unix", socket, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("refusing to use socket path %s: another process is listening on it", socket)
	}
	if err := os.Remove(socket); err != nil {
		return fmt.Errorf("cannot remove stale socket %s: %w", socket, err)
	}
	return nil
}

// describeMode names the kind of file for the refusal message.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return fmt.Sprintf("a file of type %v", m.Type())
	}
}

// callInterceptor logs each call of driver at info level (method, and the
// error code when it fails; requests are not logged, they may carry secrets)
// and runs it under mockMu.
func callInterceptor(driver string, logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		begin := time.Now()
		resp, err := callSerialised(ctx, req, handler)
		attrs := []any{
			"driver", driver,
			"method", strings.TrimPrefix(info.FullMethod, "/csi.v1."),
			"duration", time.Since(begin),
		}
		if err != nil {
			st := status.Convert(err)
			logger.Info("call failed", append(attrs, "code", st.Code().String(), "error", st.Message())...)
		} else {
			logger.Info("call", attrs...)
		}
		return resp, err
	}
}

// callSerialised runs handler under mockMu and returns a deep copy of its
// response: the mock's responses share maps with its stored volumes (e.g. the
// volume context), which a later call may change while gRPC is still
// marshalling this response outside the lock.
func callSerialised(ctx context.Context, req any, handler grpc.UnaryHandler) (any, error) {
	mockMu.Lock()
	defer mockMu.Unlock()
	resp, err := handler(ctx, req)
	if err != nil {
		return resp, err
	}
	if m, ok := resp.(protoadapt.MessageV1); ok {
		resp = clone(m)
	}
	return resp, nil
}

// clone deep-copies a CSI message. The CSI spec's Go types come from the old
// protoc-gen-go (no ProtoReflect method), hence the adapters around the
// current proto.Clone.
func clone[M protoadapt.MessageV1](m M) M {
	return protoadapt.MessageV1Of(proto.Clone(protoadapt.MessageV2Of(m))).(M)
}
