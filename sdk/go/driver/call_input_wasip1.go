//go:build wasip1

package driver

import (
	"fmt"
	"os"
	"syscall"
)

// callEnv reads the call's inputs: the ABI v2 document on stdin, or the
// environment when stdin is empty (a v1 host) or the driver is built for v1.
func callEnv() (Env, error) {
	if abiV1Only {
		return os.LookupEnv, nil
	}
	input, err := readStdin()
	if err != nil {
		return nil, err
	}
	if len(input) == 0 {
		return os.LookupEnv, nil
	}
	return DocumentEnv(input)
}

// readStdin reads fd 0 to its end with fd_read directly: the os package's File
// would add nothing but its polling machinery, and the input is read once.
func readStdin() ([]byte, error) {
	input := make([]byte, 0, 16<<10)
	for {
		if len(input) == cap(input) {
			input = append(input, 0)[:len(input)]
		}
		n, err := syscall.Read(0, input[len(input):cap(input)])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN && len(input) == 0:
			return nil, nil // a host that gave no stdin at all
		case err != nil:
			return nil, fmt.Errorf("driver: reading the host's input: %w", err)
		case n == 0:
			return input, nil
		}
		input = input[:len(input)+n]
	}
}
