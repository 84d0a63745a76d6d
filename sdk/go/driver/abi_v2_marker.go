//go:build wasip1 && !discoblocks_abi1

package driver

// abiV2Marker declares ABI v2 to the host, which looks for an export of this
// name and never calls it. Being in the SDK, it makes every driver built with
// it v2 without a change to the driver's source.
//
//go:wasmexport discoblocks_abi_v2
func abiV2Marker() {}
