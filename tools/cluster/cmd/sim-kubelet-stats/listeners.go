package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// annotationSelector picks the nodes this simulation stands in for, so that a
// real kubelet's node (should one ever join) is never shadowed.
type annotationSelector struct {
	key, value string
	anyValue   bool // only the key must be present
	all        bool // empty selector: every node
}

func parseAnnotationSelector(s string) annotationSelector {
	s = strings.TrimSpace(s)
	if s == "" {
		return annotationSelector{all: true}
	}
	if k, v, ok := strings.Cut(s, "="); ok {
		return annotationSelector{key: k, value: v}
	}
	return annotationSelector{key: s, anyValue: true}
}

func (s annotationSelector) matches(n *corev1.Node) bool {
	if s.all {
		return true
	}
	v, ok := n.Annotations[s.key]
	return ok && (s.anyValue || v == s.value)
}

// listenerManager keeps one TLS server per selected node, bound to the port
// that node advertises as its kubelet endpoint.
type listenerManager struct {
	bindAddress     string
	tlsConfig       *tls.Config
	newHandler      func(nodeName string) http.Handler
	log             *slog.Logger
	retryInterval   time.Duration
	shutdownTimeout time.Duration

	mu      sync.Mutex
	servers map[string]*nodeServer // by node name; stopped entries are kept so a successor can wait for them
	closed  bool
}

type nodeServer struct {
	port   int32
	active bool
	cancel context.CancelFunc
	done   chan struct{}
}

func newListenerManager(bindAddress string, tlsConfig *tls.Config, newHandler func(string) http.Handler, log *slog.Logger) *listenerManager {
	return &listenerManager{
		bindAddress:     bindAddress,
		tlsConfig:       tlsConfig,
		newHandler:      newHandler,
		log:             log,
		retryInterval:   2 * time.Second,
		shutdownTimeout: 5 * time.Second,
		servers:         map[string]*nodeServer{},
	}
}

func (m *listenerManager) eventHandler(sel annotationSelector) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				m.syncNode(n, sel.matches(n))
			}
		},
		UpdateFunc: func(_, obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				m.syncNode(n, sel.matches(n))
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				m.stopNode(n.Name, "node deleted")
			}
		},
	}
}

// syncNode runs on every node update (kwok heartbeats included), so it must be
// cheap and quiet when nothing relevant changed.
func (m *listenerManager) syncNode(node *corev1.Node, selected bool) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	switch {
	case !selected:
		m.stopNode(node.Name, "node not selected by --node-annotation-selector")
		return
	case port <= 0 || port > 65535:
		m.stopNode(node.Name, "node has no valid kubelet endpoint port")
		return
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	prev := m.servers[node.Name]
	if prev != nil && prev.active && prev.port == port {
		return
	}
	var prevDone <-chan struct{}
	if prev != nil {
		if prev.active {
			m.log.Info("SIMULATION: node's kubelet port changed", "node", node.Name, "oldPort", prev.port, "newPort", port)
			prev.cancel()
		}
		prevDone = prev.done
	}
	m.warnIfNotLoopback(node)
	ctx, cancel := context.WithCancel(context.Background())
	s := &nodeServer{port: port, active: true, cancel: cancel, done: make(chan struct{})}
	m.servers[node.Name] = s
	go m.serveNode(ctx, node.Name, port, prevDone, s.done)
}

func (m *listenerManager) stopNode(name, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.servers[name]
	if s == nil || !s.active {
		return
	}
	s.active = false
	s.cancel()
	m.log.Info("SIMULATION: closing node listener", "node", name, "port", s.port, "reason", reason)
}

// shutdownAll stops every listener and waits for them, so the process exits
// only after connections were given their chance to finish.
func (m *listenerManager) shutdownAll() {
	m.mu.Lock()
	m.closed = true
	var dones []chan struct{}
	for _, s := range m.servers {
		s.active = false
		s.cancel()
		dones = append(dones, s.done)
	}
	m.mu.Unlock()
	for _, d := range dones {
		<-d
	}
}

// warnIfNotLoopback flags nodes that a client would try to reach somewhere other
// than this machine; we still serve them, but only on the loopback bind address.
func (m *listenerManager) warnIfNotLoopback(node *corev1.Node) {
	found := false
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		found = true
		if ip := net.ParseIP(a.Address); ip == nil || !ip.IsLoopback() {
			m.log.Warn("SIMULATION: node's InternalIP is not loopback; clients following it will not reach this simulation, which listens on the bind address only",
				"node", node.Name, "internalIP", a.Address, "bindAddress", m.bindAddress)
		}
	}
	if !found {
		m.log.Warn("SIMULATION: node has no InternalIP; serving it on the bind address anyway", "node", node.Name, "bindAddress", m.bindAddress)
	}
}

func (m *listenerManager) serveNode(ctx context.Context, name string, port int32, prevDone <-chan struct{}, done chan struct{}) {
	defer close(done)
	log := m.log.With("node", name, "port", port)
	// The node's previous server may still hold this port (delete and re-create,
	// or a port flip back); waiting avoids a spurious bind error.
	if prevDone != nil {
		select {
		case <-prevDone:
		case <-ctx.Done():
			return
		}
	}
	addr := net.JoinHostPort(m.bindAddress, strconv.Itoa(int(port)))
	for attempt := 1; ; attempt++ {
		err := m.serveOnce(ctx, log, addr, name)
		if ctx.Err() != nil {
			return
		}
		log.Error("SIMULATION: cannot serve node's kubelet port; will retry", "addr", addr, "attempt", attempt, "retryIn", m.retryInterval, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(m.retryInterval):
		}
	}
}

// serveOnce returns nil once ctx is cancelled and the server has shut down, or
// the error that kept it from serving.
func (m *listenerManager) serveOnce(ctx context.Context, log *slog.Logger, addr, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           m.newHandler(name),
		TLSConfig:         m.tlsConfig.Clone(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("SIMULATION: serving simulated kubelet stats for node", "addr", addr)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), m.shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		<-errc
		log.Info("SIMULATION: stopped serving node", "addr", addr)
		return nil
	}
}
