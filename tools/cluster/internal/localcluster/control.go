package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The supervisor answers on a unix socket in the data directory (mode 0600):
//
//	GET  /status                    the components, as JSON
//	POST /components/{name}/stop    stop one (e.g. kube-apiserver) on purpose
//	POST /components/{name}/start   start it again on its ports; answers when ready
func (c *cluster) serveControl(ctx context.Context) (*http.Server, error) {
	_ = os.Remove(c.l.ControlSocket())
	listener, err := net.Listen("unix", c.l.ControlSocket())
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(c.l.ControlSocket(), 0o600); err != nil {
		listener.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.status())
	})
	mux.HandleFunc("POST /components/{name}/stop", func(w http.ResponseWriter, r *http.Request) {
		answer(w, c.stopComponent(r.PathValue("name")))
	})
	mux.HandleFunc("POST /components/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		answer(w, c.restartComponent(ctx, r.PathValue("name")))
	})
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(listener) }()
	return server, nil
}

func answer(w http.ResponseWriter, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	fmt.Fprintln(w, "ok")
}

// controlClient talks to the supervisor of the cluster in l.
func controlClient(l Layout) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", l.ControlSocket())
		},
	}}
}

// control sends one request to the supervisor and returns its answer.
func control(l Layout, method, path string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://supervisor"+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := controlClient(l).Do(req)
	if err != nil {
		return "", fmt.Errorf("no cluster supervisor answers in %s: %w", l.Dir, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
