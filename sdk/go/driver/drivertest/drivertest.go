// Package drivertest runs driver functions on the host, on fixture inputs, the
// way the host runs them in a sandbox: only the contract's variables are set, and
// JSON inputs arrive compact.
package drivertest

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

// Inputs are the values of one call. JSON inputs are JSON texts (see File); an
// empty field leaves its variable unset.
type Inputs struct {
	StorageClass     string
	Node             string
	PersistentVolume string
	VolumeAttachment string
	PVCName          string
	PVCNamespace     string
	StorageClassName string
	// Extra sets more variables, e.g. an empty VOLUME_ATTACHMENT_JSON, which
	// the host passes when there is no attachment.
	Extra map[string]string
}

// Env is the environment the host would give a call with these inputs.
func (in Inputs) Env() driver.Env {
	m := map[string]string{}
	for name, v := range map[string]string{
		driver.StorageClassVar:     in.StorageClass,
		driver.NodeVar:             in.Node,
		driver.PersistentVolumeVar: in.PersistentVolume,
		driver.VolumeAttachmentVar: in.VolumeAttachment,
		driver.PVCNameVar:          in.PVCName,
		driver.PVCNamespaceVar:     in.PVCNamespace,
		driver.StorageClassNameVar: in.StorageClassName,
	} {
		if v != "" {
			m[name] = v
		}
	}
	for name, v := range in.Extra {
		m[name] = v
	}
	return driver.MapEnv(m)
}

// File reads a JSON fixture and returns it compact, as the host passes it.
func File(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return Compact(t, string(raw))
}

// Compact returns the JSON text s compact, failing the test if it is not JSON.
func Compact(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("fixture is not JSON: %v", err)
	}
	return b.String()
}

// Call runs a driver function (an adapter's result, or any function of an Env)
// on the inputs.
func Call(t testing.TB, f func(driver.Env) driver.Result, in Inputs) driver.Result {
	t.Helper()
	return f(in.Env())
}

// ExpectBool checks the answer of a boolean function, with the reason of a false
// (stderr) exactly.
func ExpectBool(t testing.TB, got driver.Result, want bool, reason string) {
	t.Helper()
	w := driver.Bool(want, reason)
	if got != w {
		t.Errorf("got stdout %q stderr %q, want stdout %q stderr %q", got.Stdout, got.Stderr, w.Stdout, w.Stderr)
	}
}

// ExpectError checks that a call failed, the way the host sees an error: nothing
// on stdout, and stderr starting with prefix.
func ExpectError(t testing.TB, got driver.Result, prefix string) {
	t.Helper()
	if got.Stdout != "" || got.Stderr == "" || !strings.HasPrefix(got.Stderr, prefix) {
		t.Errorf("got stdout %q stderr %q, want an error starting with %q", got.Stdout, got.Stderr, prefix)
	}
}

// ExpectJSON checks that a call answered JSON equal to want (compared as
// values, so key order and spacing do not matter) with nothing on stderr.
func ExpectJSON(t testing.TB, got driver.Result, want string) {
	t.Helper()
	if got.Stderr != "" {
		t.Errorf("stderr %q", got.Stderr)
	}
	var g, w any
	if err := json.Unmarshal([]byte(got.Stdout), &g); err != nil {
		t.Errorf("stdout %q is not JSON: %v", got.Stdout, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g) // maps marshal with sorted keys
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("got %s, want %s", got.Stdout, want)
	}
}
