// admission-soak sends a fixed number of AdmissionReviews to `discoblocks
// serve` over TLS at a fixed concurrency: a mix of valid, invalid and
// malformed bodies, each with the answer it must get. Meanwhile it replaces a
// driver's module every interval (same code, new bytes, so answers must not
// change) and, once, runs a command that restarts the API server. It counts
// wrong answers, failed requests inside and outside the restart window, and
// the server's resident memory at the start and the end.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url, caFile, module, restartCommand string
	requests, concurrency, pid          int
	replaceEvery, restartGrace          time.Duration
	jsonOut                             string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "the webhook's URL")
	flag.StringVar(&o.caFile, "ca", "", "PEM file of the certificate to trust")
	flag.IntVar(&o.requests, "requests", 100000, "admissions to send")
	flag.IntVar(&o.concurrency, "concurrency", 16, "requests at once, one keep-alive connection each")
	flag.StringVar(&o.module, "replace-module", "", "a driver's main.wasm to replace while running")
	flag.DurationVar(&o.replaceEvery, "replace-every", time.Second, "how often")
	flag.StringVar(&o.restartCommand, "restart-command", "", "shell command run once, at half the requests")
	flag.DurationVar(&o.restartGrace, "restart-grace", 10*time.Second, "failures this long after the restart count as inside it")
	flag.IntVar(&o.pid, "pid", 0, "the server's process id, for its memory")
	flag.StringVar(&o.jsonOut, "json", "", "write the summary here as JSON too")
	flag.Parse()
	if o.url == "" || o.caFile == "" {
		fmt.Fprintln(os.Stderr, "admission-soak: --url and --ca are required")
		os.Exit(2)
	}
	summary, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "admission-soak:", err)
		os.Exit(1)
	}
	text, _ := json.MarshalIndent(summary, "", "  ")
	fmt.Println(string(text))
	if o.jsonOut != "" {
		if err := os.WriteFile(o.jsonOut, text, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "admission-soak:", err)
			os.Exit(1)
		}
	}
	if summary.WrongAnswers > 0 || summary.FailedOutsideRestart > 0 {
		os.Exit(1)
	}
}

type summary struct {
	Requests             int            `json:"requests"`
	Concurrency          int            `json:"concurrency"`
	Seconds              float64        `json:"seconds"`
	PerSecond            float64        `json:"admissions_per_second"`
	ByCase               map[string]int `json:"by_case"`
	WrongAnswers         int64          `json:"wrong_answers"`
	FailedInsideRestart  int64          `json:"failed_inside_restart"`
	FailedOutsideRestart int64          `json:"failed_outside_restart"`
	DriverReplacements   int64          `json:"driver_replacements"`
	RestartSeconds       float64        `json:"apiserver_restart_seconds"`
	RssStartKiB          int64          `json:"rss_start_kib"`
	RssEndKiB            int64          `json:"rss_end_kib"`
	RssPeakKiB           int64          `json:"rss_peak_kib"`
	Examples             []string       `json:"examples,omitempty"`
}

func run(o options) (*summary, error) {
	ca, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s: no PEM certificate", o.caFile)
	}
	cases := reviewCases()
	s := &summary{Requests: o.requests, Concurrency: o.concurrency, ByCase: map[string]int{}}
	s.RssStartKiB = residentKiB(o.pid, "VmRSS")

	stop := make(chan struct{})
	var background sync.WaitGroup
	var replacements atomic.Int64
	if o.module != "" {
		background.Add(1)
		go func() {
			defer background.Done()
			replaceDriver(o.module, o.replaceEvery, stop, &replacements)
		}()
	}

	var restartStart, restartEnd atomic.Int64 // unix nanoseconds; 0 = not yet
	var next, wrong, failedIn, failedOut atomic.Int64
	var mu sync.Mutex
	counts := make([]int, len(cases))
	begin := time.Now()
	var workers sync.WaitGroup
	for w := 0; w < o.concurrency; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 1,
				MaxConnsPerHost:     1,
			}}
			local := make([]int, len(cases))
			for {
				i := int(next.Add(1)) - 1
				if i >= o.requests {
					break
				}
				if o.restartCommand != "" && i == o.requests/2 {
					restartStart.Store(time.Now().UnixNano())
					go func() {
						out, err := exec.Command("sh", "-c", o.restartCommand).CombinedOutput()
						if err != nil {
							fmt.Fprintf(os.Stderr, "restart command failed: %v\n%s", err, out)
						}
						restartEnd.Store(time.Now().UnixNano())
					}()
				}
				c := cases[i%len(cases)]
				local[i%len(cases)]++
				problem, failed := check(client, o.url, c, i)
				if problem == "" {
					continue
				}
				if failed {
					now := time.Now().UnixNano()
					start, end := restartStart.Load(), restartEnd.Load()
					inside := start != 0 && now >= start && (end == 0 || now <= end+o.restartGrace.Nanoseconds())
					if inside {
						failedIn.Add(1)
					} else {
						failedOut.Add(1)
					}
				} else {
					wrong.Add(1)
				}
				mu.Lock()
				if len(s.Examples) < 10 {
					s.Examples = append(s.Examples, fmt.Sprintf("%s: %s", c.name, problem))
				}
				mu.Unlock()
			}
			mu.Lock()
			for k, n := range local {
				counts[k] += n
			}
			mu.Unlock()
		}()
	}
	workers.Wait()
	elapsed := time.Since(begin)
	close(stop)
	background.Wait()
	// The restart may still be running when the last request is answered.
	for restartStart.Load() != 0 && restartEnd.Load() == 0 {
		time.Sleep(100 * time.Millisecond)
	}

	for k, c := range cases {
		s.ByCase[c.name] = counts[k]
	}
	s.Seconds = elapsed.Seconds()
	s.PerSecond = float64(o.requests) / elapsed.Seconds()
	s.WrongAnswers = wrong.Load()
	s.FailedInsideRestart = failedIn.Load()
	s.FailedOutsideRestart = failedOut.Load()
	s.DriverReplacements = replacements.Load()
	if restartStart.Load() != 0 {
		s.RestartSeconds = float64(restartEnd.Load()-restartStart.Load()) / 1e9
	}
	s.RssEndKiB = residentKiB(o.pid, "VmRSS")
	s.RssPeakKiB = residentKiB(o.pid, "VmHWM")
	return s, nil
}

// check sends one review; it returns what was wrong ("" if nothing) and
// whether that was a failure to answer (transport error, 5xx) rather than a
// wrong answer.
func check(client *http.Client, url string, c reviewCase, i int) (string, bool) {
	uid := fmt.Sprintf("soak-%d", i)
	body := strings.ReplaceAll(c.body, "UID", uid)
	response, err := client.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return err.Error(), true
	}
	defer response.Body.Close()
	answer, err := io.ReadAll(response.Body)
	if err != nil {
		return err.Error(), true
	}
	if response.StatusCode >= 500 {
		return fmt.Sprintf("status %d: %.200s", response.StatusCode, answer), true
	}
	if response.StatusCode != c.status {
		return fmt.Sprintf("status %d, want %d: %.200s", response.StatusCode, c.status, answer), false
	}
	if c.status != 200 {
		return "", false
	}
	var review struct {
		Response struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		} `json:"response"`
	}
	if err := json.Unmarshal(answer, &review); err != nil {
		return "not an AdmissionReview: " + err.Error(), false
	}
	if review.Response.UID != uid || review.Response.Allowed != c.allowed {
		return fmt.Sprintf("uid %q allowed %v, want %q %v: %.200s", review.Response.UID,
			review.Response.Allowed, uid, c.allowed, answer), false
	}
	return "", false
}

// replaceDriver rewrites the module every interval with a custom section
// that changes its bytes (and digest) but not its code, so the server
// reloads it and must answer exactly as before. Written beside and renamed
// over, as a deployment tool would.
func replaceDriver(module string, every time.Duration, stop <-chan struct{}, count *atomic.Int64) {
	original, err := os.ReadFile(module)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot read the driver to replace:", err)
		return
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for n := 1; ; n++ {
		select {
		case <-stop:
			_ = writeAtomically(module, original)
			return
		case <-ticker.C:
		}
		if err := writeAtomically(module, withCustomSection(original, fmt.Sprintf("soak-%d", n))); err != nil {
			fmt.Fprintln(os.Stderr, "cannot replace the driver:", err)
			return
		}
		count.Add(1)
	}
}

func writeAtomically(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), ".main.wasm.soak")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// withCustomSection appends a custom section (id 0) named "discoblocks-soak".
func withCustomSection(module []byte, payload string) []byte {
	name := "discoblocks-soak"
	content := append(uleb(uint64(len(name))), name...)
	content = append(content, payload...)
	out := append([]byte{}, module...)
	out = append(out, 0)
	out = append(out, uleb(uint64(len(content)))...)
	return append(out, content...)
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}

func residentKiB(pid int, field string) int64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field+":")), "%d", &kib)
			return kib
		}
	}
	return 0
}
