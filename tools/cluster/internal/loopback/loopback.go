// Package loopback keeps the simulations on this machine: a kubeconfig that
// points anywhere but loopback is refused before anything connects.
package loopback

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckServer refuses an API server address (a kubeconfig's server, with or
// without a scheme) that is not localhost, 127.0.0.0/8 or ::1.
func CheckServer(server string) error {
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("kubeconfig server %q: %w", server, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("kubeconfig server %q is not on loopback; refusing to connect", server)
}
