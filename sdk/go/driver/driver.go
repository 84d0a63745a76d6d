// Package driver is the Go SDK for Discoblocks drivers (the driver contract:
// docs/driver-abi.md).
//
// A driver call gets its inputs as one JSON object on stdin (ABI v2, which
// drivers built with this package declare by exporting discoblocks_abi_v2), or
// from environment variables (ABI v1, with the build tag discoblocks_abi1), and
// answers on stdout, with reasons and errors on stderr. With this package a driver writes
// each ABI function as a pure function from typed inputs ([StorageClass], [Node],
// [PersistentVolume], [VolumeAttachment]) to a [Result]; an adapter per ABI
// function ([IsStorageClassValid], [GetPreMountCommand], ...) reads and decodes
// the inputs, applies the contract's outcome rules, and gives a function of an
// [Env], which [Run] connects to the process:
//
//	//go:wasmexport IsStorageClassValid
//	func IsStorageClassValid() { driver.Run(driver.IsStorageClassValid(valid)) }
//
//	func valid(sc driver.StorageClass) driver.Result {
//		v, ok := sc.AllowVolumeExpansion.Get()
//		return driver.Bool(ok && v, "only allowVolumeExpansion true is supported")
//	}
//
// Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. The functions
// of an Env run on the host too: package drivertest calls them on fixtures.
package driver

import (
	"fmt"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Env looks up one input variable, like [os.LookupEnv].
//
// Drivers read it through this type rather than the os package so that tests can
// pass a map (see [MapEnv]).
type Env func(name string) (value string, ok bool)

// MapEnv returns an Env backed by m, for tests.
func MapEnv(m map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Result is everything one driver call writes.
type Result struct {
	Stdout string
	Stderr string
}

// Text is a successful result printing s on stdout.
func Text(s string) Result { return Result{Stdout: s} }

// Bool is the result of a boolean function. The host reads the reason of a
// false from stderr, and treats stderr after a true as a warning, so the reason
// is only written for false.
func Bool(ok bool, reason string) Result {
	if ok {
		return Result{Stdout: strconv.FormatBool(true)}
	}
	return Result{Stdout: strconv.FormatBool(false), Stderr: reason}
}

// Fail is the result of a call that cannot produce an answer. Stdout stays
// empty on purpose: for a boolean function the host then reports "unparsable
// output" instead of mistaking the failure for a valid or invalid answer, and for
// a JSON function it reports stderr as the error.
func Fail(format string, args ...any) Result {
	return Result{Stderr: fmt.Sprintf(format, args...)}
}

// Run computes f over the call's inputs and writes its result. The inputs are
// the call document on stdin (ABI v2), or the process environment when stdin is
// empty: a host that knows only ABI v1 gives none, and drivers built with the
// tag discoblocks_abi1 always read the environment.
//
// A panic in f would trap the module with a Go stack trace as the only message;
// Run turns it into a plain error on stderr with nothing on stdout, the same
// outcome as [Fail].
func Run(f func(Env) Result) {
	var r Result
	func() {
		defer func() {
			if p := recover(); p != nil {
				r = Fail("driver failed: %v", p)
			}
		}()
		env, err := callEnv()
		if err != nil {
			r = Fail("%v", err)
			return
		}
		r = f(env)
	}()
	if r.Stderr != "" {
		fmt.Fprint(os.Stderr, r.Stderr)
	}
	if r.Stdout != "" {
		fmt.Print(r.Stdout)
	}
}

// Required returns the value of the variable name, or an error naming it when it
// is unset or empty.
func (e Env) Required(name string) (string, error) {
	v, ok := e(name)
	switch {
	case !ok:
		return "", fmt.Errorf("%s is not set", name)
	case v == "":
		return "", fmt.Errorf("%s is empty", name)
	}
	return v, nil
}

// JSONObject reads the variable name and parses it as a JSON object. Errors name
// the variable, so that the host's error message points at the bad input.
//
// Each call uses its own parser: the returned value stays valid for the rest of
// the (short-lived) call.
func (e Env) JSONObject(name string) (*fastjson.Value, error) {
	raw, err := e.Required(name)
	if err != nil {
		return nil, err
	}
	v, err := fastjson.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%s is not a JSON object but %s", name, v.Type())
	}
	return v, nil
}

// Value returns the value at the given path of keys in v, or nil when it is
// absent or JSON null: Kubernetes treats an explicit null like an omitted
// optional field. (The typed inputs cover the usual fields; Value, String and
// IsTrue read the rest of their Raw object.)
func Value(v *fastjson.Value, keys ...string) *fastjson.Value {
	f := v.Get(keys...)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil
	}
	return f
}

// String returns the string at the given path of keys in v (v itself without
// keys), and whether it is there and a string.
func String(v *fastjson.Value, keys ...string) (string, bool) {
	f := Value(v, keys...)
	if f == nil || f.Type() != fastjson.TypeString {
		return "", false
	}
	// The type was checked above, so StringBytes cannot fail.
	b, _ := f.StringBytes()
	return string(b), true
}

// IsTrue reports whether the value at the given path of keys in v is the JSON
// literal true. A string "true" is not: the API server would have rejected it.
func IsTrue(v *fastjson.Value, keys ...string) bool {
	f := Value(v, keys...)
	return f != nil && f.Type() == fastjson.TypeTrue
}

// AppendString appends s to dst as a JSON string literal.
//
// fastjson's own serializer falls back to strconv.Quote for special characters,
// which produces Go escapes such as \x01 that are not JSON; this one follows RFC
// 8259, replacing invalid UTF-8 with U+FFFD.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
