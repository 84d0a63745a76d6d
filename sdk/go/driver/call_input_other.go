//go:build !wasip1

package driver

import "os"

// callEnv outside WebAssembly (go test, tools): the environment. Tests pass
// documents through DocumentEnv and drivertest instead.
func callEnv() (Env, error) { return os.LookupEnv, nil }
