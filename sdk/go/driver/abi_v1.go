//go:build discoblocks_abi1

package driver

// abiV1Only: built with the tag discoblocks_abi1, a driver declares no ABI and
// reads only the environment, as drivers built before ABI v2 did.
const abiV1Only = true
