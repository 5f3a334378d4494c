package pipeline

import (
	"errors"
	"fmt"
)

// InputError is a problem with the input that no retry can fix (bad WAV,
// malformed transcript): the stage fails at once.
type InputError struct{ Err error }

// Error returns the problem's description.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// Permanent reports whether err says retrying cannot help: an InputError,
// or an error with a Permanent() method that returns true (as notify's
// are).
func Permanent(err error) bool {
	var ie *InputError
	if errors.As(err, &ie) {
		return true
	}
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
