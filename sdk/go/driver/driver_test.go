package driver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestAppendStringIsJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quo"te`, `back\slash`, "new\nline\r\t", "\x00\x01\x1f\x7f",
		"<tag>&amp;", "ünïcödé €", "\u2028\u2029", "bad\xffutf8\xc3",
	} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s, not JSON: %v", s, got, err)
			continue
		}
		// encoding/json is the reference, including its replacement of each
		// invalid UTF-8 byte by U+FFFD.
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if back != want {
			t.Errorf("AppendString(%q) decodes to %q, want %q", s, back, want)
		}
	}
}

func TestBool(t *testing.T) {
	if got := Bool(true, "ignored"); got != (Result{Stdout: "true"}) {
		t.Errorf("Bool(true) = %+v", got)
	}
	if got := Bool(false, "why"); got != (Result{Stdout: "false", Stderr: "why"}) {
		t.Errorf("Bool(false) = %+v", got)
	}
}

func TestJSONObject(t *testing.T) {
	env := MapEnv(map[string]string{
		"EMPTY":  "",
		"BROKEN": `{"a":`,
		"ARRAY":  `[1]`,
		"OK":     `{"a":{"b":"c","n":null,"t":true,"s":"true"}}`,
	})
	for name, wantPrefix := range map[string]string{
		"UNSET":  "UNSET is not set",
		"EMPTY":  "EMPTY is empty",
		"BROKEN": "BROKEN is not valid JSON: ",
		"ARRAY":  "ARRAY is not a JSON object but array",
	} {
		_, err := env.JSONObject(name)
		if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) {
			t.Errorf("JSONObject(%s) error = %v, want prefix %q", name, err, wantPrefix)
		}
	}
	v, err := env.JSONObject("OK")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := String(v, "a", "b"); !ok || s != "c" {
		t.Errorf("String(a.b) = %q, %v", s, ok)
	}
	if Value(v, "a", "n") != nil || Value(v, "a", "missing") != nil {
		t.Error("Value of null or missing is not nil")
	}
	if _, ok := String(v, "a", "t"); ok {
		t.Error("String of a boolean is ok")
	}
	if !IsTrue(v, "a", "t") || IsTrue(v, "a", "s") || IsTrue(v, "a", "n") {
		t.Error("IsTrue accepts only the literal true")
	}
}

func TestPVCStub(t *testing.T) {
	env := map[string]string{
		"PVC_NAME":           "disk-1",
		"PVC_NAMESACE":       "default",
		"STORAGE_CLASS_NAME": "ebs-gp3",
	}
	want := `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"disk-1","namespace":"default"},"spec":{"storageClassName":"ebs-gp3"}}`
	if got := GetPVCStub(PVCStub)(MapEnv(env)); got != (Result{Stdout: want}) {
		t.Errorf("PVCStub = %+v, want stdout %s", got, want)
	}

	env["PVC_NAME"] = `a"b\c` + "\n"
	got := GetPVCStub(PVCStub)(MapEnv(env))
	v, err := fastjson.Parse(got.Stdout)
	if err != nil {
		t.Fatalf("PVCStub with special characters is not JSON: %v: %s", err, got.Stdout)
	}
	if s, _ := String(v, "metadata", "name"); s != env["PVC_NAME"] {
		t.Errorf("name round-trips to %q", s)
	}

	delete(env, "PVC_NAMESACE")
	if got := GetPVCStub(PVCStub)(MapEnv(env)); got != (Result{Stderr: "PVC_NAMESACE is not set"}) {
		t.Errorf("PVCStub without namespace = %+v", got)
	}
}

func TestResizePolicy(t *testing.T) {
	if got := ResizePolicy(ResizeLimits{}); got != (Result{}) {
		t.Errorf("no limits = %+v, want nothing", got)
	}
	got := ResizePolicy(ResizeLimits{Granularity: "1Gi", MinimumIncrease: "1Gi", MaxModifications: 4, Window: "24h"})
	want := `{"granularity":"1Gi","minimumIncrease":"1Gi","maxModifications":4,"window":"24h"}`
	if got != (Result{Stdout: want}) {
		t.Errorf("ResizePolicy = %+v, want %s", got, want)
	}
	if got := ResizePolicy(ResizeLimits{Granularity: "4Ki"}); got.Stdout != `{"granularity":"4Ki"}` {
		t.Errorf("granularity only = %+v", got)
	}
	if got := ResizePolicy(ResizeLimits{MaxModifications: -1}); got.Stdout != "" || got.Stderr == "" {
		t.Errorf("negative count = %+v, want a failure", got)
	}
}

func TestGetResizePolicyReadsTheStorageClass(t *testing.T) {
	byType := GetResizePolicy(func(sc StorageClass) Result {
		if sc.Parameters.Value["type"] == "slow" {
			return ResizePolicy(ResizeLimits{Granularity: "1Gi"})
		}
		return Nothing()
	})
	env := MapEnv(map[string]string{StorageClassVar: `{"parameters":{"type":"slow"}}`})
	if got := byType(env); got.Stdout != `{"granularity":"1Gi"}` {
		t.Errorf("slow = %+v", got)
	}
	env = MapEnv(map[string]string{StorageClassVar: `{"parameters":{"type":"fast"}}`})
	if got := byType(env); got != (Result{}) {
		t.Errorf("fast = %+v", got)
	}
	if got := byType(MapEnv(nil)); got.Stdout != "" || !strings.Contains(got.Stderr, StorageClassVar) {
		t.Errorf("no StorageClass = %+v, want an error naming %s", got, StorageClassVar)
	}
}
