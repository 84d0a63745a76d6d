package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newNodeHandler is everything one simulated kubelet port answers.
func newNodeHandler(node string, src *statsSource, rv *reviewer, log *slog.Logger) http.Handler {
	log = log.With("node", node)
	metrics := promhttp.HandlerFor(newNodeRegistry(src, node), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})

	api := http.NewServeMux()
	api.HandleFunc("/stats/summary", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if fault := faultOf(src.nodes, node); fault != "" {
			if serveFault(fault, w, r) {
				log.Info("SIMULATION: answered with a fault", "fault", fault)
				return
			}
			log.Warn("SIMULATION: unknown fault ignored", "annotation", annFault, "value", fault)
		}
		body, err := json.Marshal(src.summary(node))
		if err != nil {
			log.Error("SIMULATION: encoding summary", "err", err)
			http.Error(w, "Internal Server Error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	api.Handle("/metrics", metrics)
	api.HandleFunc("/", http.NotFound)

	root := http.NewServeMux()
	// Unauthenticated on purpose: the supervisor uses it to see that a node's port is up.
	root.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	root.Handle("/", rv.withAuth(node, api))
	return root
}
