//go:build !(linux || darwin)

package sip

import "errors"

// RaiseFileLimit is not supported on this system: it returns an error and
// zero limits.
func RaiseFileLimit() (old, new uint64, err error) {
	return 0, 0, errors.New("sip: RaiseFileLimit: not supported on this system")
}
