// Command etcd is the etcd server, built from the go.etcd.io/etcd/server/v3
// module pinned in ../go.mod. That module ships the server as a library
// (etcdmain) but no main package, so this is the whole of etcd's own main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
