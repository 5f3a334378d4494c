//go:build !unix

package report

import "os/exec"

// killGroup leaves cmd as it is: without process groups, cancelling kills
// the launcher only.
func killGroup(*exec.Cmd) {}
