//go:build linux || darwin

package sip

import (
	"syscall"
	"testing"
)

// TestRaiseFileLimit: the soft open-file limit is raised to the hard one,
// and the limits before and after are reported.
func TestRaiseFileLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Max < 2 {
		t.Skipf("hard open-file limit %d leaves nothing to raise", orig.Max)
	}
	lowered := orig
	lowered.Cur = orig.Max - 1 // one below: harmless to the other tests
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	old, cur, err := RaiseFileLimit()
	if err != nil {
		t.Fatalf("RaiseFileLimit: %v", err)
	}
	if old != uint64(lowered.Cur) || cur != uint64(orig.Max) {
		t.Errorf("RaiseFileLimit() = %d, %d; want %d, %d", old, cur, lowered.Cur, orig.Max)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != orig.Max {
		t.Errorf("soft limit %d after RaiseFileLimit, want the hard limit %d", now.Cur, orig.Max)
	}
	// Already at the hard limit: nothing changes.
	if old, cur, err := RaiseFileLimit(); err != nil || old != cur || cur != uint64(orig.Max) {
		t.Errorf("second RaiseFileLimit() = %d, %d, %v; want %d twice", old, cur, err, orig.Max)
	}
}
