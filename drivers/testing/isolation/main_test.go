package main

import (
	"strings"
	"testing"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

// In one process, as an instance that is not reset between calls would be:
// the first call is clean, and the second must see its writes and say so.
func TestTheProbeSeesAnEarlierCallsWrites(t *testing.T) {
	call := driver.IsStorageClassValid(probe)
	first := call(driver.MapEnv(map[string]string{
		driver.StorageClassVar: `{"metadata":{"name":"n1"},"provisioner":"x"}`,
	}))
	if first.Stdout != "true" || first.Stderr != "clean n1" {
		t.Fatalf("first call: %+v", first)
	}
	second := call(driver.MapEnv(map[string]string{
		driver.StorageClassVar: `{"metadata":{"name":"n2"},"provisioner":"x"}`,
	}))
	if second.Stdout != "false" || !strings.HasPrefix(second.Stderr, "dirty: counter is 2") {
		t.Fatalf("second call: %+v", second)
	}
}

func TestANameIsRequired(t *testing.T) {
	result := driver.IsStorageClassValid(probe)(driver.MapEnv(map[string]string{
		driver.StorageClassVar: `{"provisioner":"x"}`,
	}))
	if result.Stdout != "" || !strings.Contains(result.Stderr, "no nonce") {
		t.Fatalf("got %+v", result)
	}
}
