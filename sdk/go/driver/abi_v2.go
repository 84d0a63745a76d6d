//go:build !discoblocks_abi1

package driver

// abiV1Only is false: drivers read the call document on stdin (ABI v2).
const abiV1Only = false
