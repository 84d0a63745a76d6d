package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// pickPorts returns n different TCP ports on 127.0.0.1 that could be bound
// just now, below the ephemeral range (32768+) so that outgoing connections do
// not take them first. Another process can still take one before the
// component binds it; startComponent notices and tries new ports.
func pickPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 1000 {
			return nil, fmt.Errorf("found only %d free ports on 127.0.0.1 between 20000 and 32000", len(ports))
		}
		port := 20000 + rand.IntN(12000)
		if seen[port] {
			continue
		}
		seen[port] = true
		listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		listener.Close()
		ports = append(ports, port)
	}
	return ports, nil
}

// probe is one readiness check: nil when ready, else why not (yet).
type probe func(ctx context.Context) error

func httpGet(ctx context.Context, client *http.Client, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), nil
}

// httpProbe is ready when url answers 200 (and, if want is set, a body
// containing it).
func httpProbe(client *http.Client, url, want string) probe {
	return func(ctx context.Context) error {
		status, body, err := httpGet(ctx, client, url)
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(body, want) {
			return fmt.Errorf("%s answered %d: %.300s", url, status, strings.TrimSpace(body))
		}
		return nil
	}
}

// insecureLoopbackClient is for components that serve their health endpoints
// with a self-signed certificate they make at start (scheduler,
// controller-manager): only on 127.0.0.1, and only for /healthz.
func insecureLoopbackClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health checks only
	}}
}

// adminClient trusts only the cluster's CA and presents the admin certificate.
func adminClient(l Layout) (*http.Client, error) {
	caPEM, err := os.ReadFile(l.PKI("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", l.PKI("ca.crt"))
	}
	cert, err := tls.LoadX509KeyPair(l.PKI("admin.crt"), l.PKI("admin.key"))
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}, nil
}

// unixSocketProbe is ready when something accepts connections on path.
func unixSocketProbe(path string) probe {
	return func(ctx context.Context) error {
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, "unix", path)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// allProbes is ready when each of probes is.
func allProbes(probes ...probe) probe {
	return func(ctx context.Context) error {
		for _, p := range probes {
			if err := p(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
