package main

import (
	"net/http"
	"time"

	corelisters "k8s.io/client-go/listers/core/v1"
)

// annFault on a Node makes its SIMULATED kubelet misbehave the way real ones do,
// so that tests can see a scraper skip and count that node while the others proceed:
//
//	garbage      200 with a body that is not JSON
//	slow         no answer until the client gives up (or slowest has passed)
//	unavailable  503, as a kubelet that is starting or overloaded answers
const annFault = "sim.discoblocks.dev/kubelet-fault"

// slowest bounds a "slow" answer, so that a client without a timeout is not held forever.
const slowest = 2 * time.Minute

// faultOf is the fault the node's annotation asks for, or "" (also for unknown values,
// which are logged by the caller).
func faultOf(nodes corelisters.NodeLister, node string) string {
	if nodes == nil {
		return ""
	}
	n, err := nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Annotations[annFault]
}

// serveFault answers as `fault` says and reports whether it did; false leaves the
// request to the normal handler.
func serveFault(fault string, w http.ResponseWriter, r *http.Request) bool {
	switch fault {
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"node": {"nodeName": SIMULATED GARBAGE`))
	case "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(slowest):
		}
	case "unavailable":
		http.Error(w, "Service Unavailable (simulated)", http.StatusServiceUnavailable)
	default:
		return false
	}
	return true
}
