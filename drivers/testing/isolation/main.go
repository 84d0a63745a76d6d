// Command isolation is a test driver, never bundled: it proves that a call
// started from a pre-initialized snapshot sees exactly the state the
// initializer left, and none of what an earlier call wrote.
//
// Its IsStorageClassValid checks every kind of state a Go program has (a
// package variable, a large zeroed array, heap memory, a map, a goroutine
// blocked on a channel, a sync.Once, the monotonic clock), answers false naming
// the first one that is not as the initializer left it, and otherwise dirties
// all of it (growing memory by 8 MiB on the way) and answers true with the
// warning "clean <nonce>", where the nonce is the StorageClass's name. A host
// that let one call see another's writes fails the next call.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared ./testing/isolation
package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/discoblocks/discoblocks/sdk/go/driver"
)

func main() {}

const (
	counterAtInit = 7
	patternBytes  = 64 << 10
	heapBytes     = 1 << 20
	retainedBytes = 8 << 20
)

var (
	counter   int
	pattern   [patternBytes]byte // zero; init fills the first half
	heap      []byte
	seen      map[string]string
	retained  []byte // nil until a call keeps 8 MiB
	once      sync.Once
	onceRan   bool
	lastNonce string // what the goroutine last received
	nonces    chan string
	received  chan struct{}
	initTime  time.Time
)

func patternByte(i int) byte {
	if i < patternBytes/2 {
		return byte(i%251 + 1)
	}
	return 0
}

func init() {
	counter = counterAtInit
	for i := 0; i < patternBytes/2; i++ {
		pattern[i] = patternByte(i)
	}
	heap = make([]byte, heapBytes)
	for i := range heap {
		heap[i] = byte(i % 253)
	}
	seen = map[string]string{"init": "init"}
	nonces = make(chan string)
	received = make(chan struct{})
	go func() {
		for nonce := range nonces {
			lastNonce = nonce
			received <- struct{}{}
		}
	}()
	initTime = time.Now()
}

// dirty names the first piece of state that is not as init left it.
func dirty() string {
	switch {
	case counter != counterAtInit:
		return fmt.Sprintf("counter is %d", counter)
	case retained != nil:
		return fmt.Sprintf("a previous call's %d bytes are still held", len(retained))
	case lastNonce != "":
		return fmt.Sprintf("the goroutine received %q", lastNonce)
	case onceRan:
		return "the sync.Once ran"
	case len(seen) != 1 || seen["init"] != "init":
		return fmt.Sprintf("the map holds %v", seen)
	case time.Since(initTime) < 0:
		return "the monotonic clock went back past the initializer's reading"
	}
	for i := range pattern {
		if pattern[i] != patternByte(i) {
			return fmt.Sprintf("pattern[%d] is %d", i, pattern[i])
		}
	}
	for i := range heap {
		if heap[i] != byte(i%253) {
			return fmt.Sprintf("heap[%d] is %d", i, heap[i])
		}
	}
	return ""
}

func probe(sc driver.StorageClass) driver.Result {
	nonce := sc.Name.Or("")
	if nonce == "" {
		return driver.Fail("no nonce: the StorageClass has no metadata.name")
	}
	if what := dirty(); what != "" {
		return driver.Bool(false, "dirty: "+what)
	}
	counter = len(nonce)
	for i := range pattern {
		pattern[i] = 0xff
	}
	for i := range heap {
		heap[i] = nonce[i%len(nonce)]
	}
	seen[nonce] = nonce
	retained = make([]byte, retainedBytes)
	retained[len(retained)-1] = 1
	nonces <- nonce
	<-received
	once.Do(func() { onceRan = true })
	time.Sleep(time.Millisecond)
	return driver.TrueWithWarning("clean " + nonce)
}

//go:wasmexport IsStorageClassValid
func IsStorageClassValid() { driver.Run(driver.IsStorageClassValid(probe)) }
