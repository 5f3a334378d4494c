package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// disk is a file system whose free space the test sets.
type disk struct {
	mu          sync.Mutex
	free, total uint64
	err         error
}

func (d *disk) set(free uint64) { d.mu.Lock(); d.free = free; d.mu.Unlock() }
func (d *disk) statfs(string) (uint64, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.free, d.total, d.err
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLowAndFull(t *testing.T) {
	d := &disk{free: 50 << 30, total: 100 << 30}
	w, err := New(Config{Dir: "/data", MinFreeBytes: 1 << 30, MinFreeShare: 0.05, Statfs: d.statfs, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Check(); err != nil || w.Full() {
		t.Fatalf("50 GiB free: %v, full %v", err, w.Full())
	}
	// 1 GiB or 5 % (5 GiB), whichever is smaller: low below 1 GiB.
	d.set(2 << 30)
	w.measure()
	if err := w.Check(); err != nil {
		t.Errorf("2 GiB free: %v, want room", err)
	}
	d.set(512 << 20)
	w.measure()
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), "storage.min_free") || w.Full() {
		t.Errorf("512 MiB free: %v, full %v; want low, not full", err, w.Full())
	}
	d.set(4 << 20)
	w.measure()
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), "full") || !w.Full() {
		t.Errorf("4 MiB free: %v, full %v; want full", err, w.Full())
	}
	d.set(50 << 30)
	w.measure()
	if err := w.Check(); err != nil || w.Full() {
		t.Errorf("room again: %v, full %v", err, w.Full())
	}
}

func TestFailedWriteMakesFullUntilRoom(t *testing.T) {
	d := &disk{free: 100 << 20, total: 1 << 30}
	w, _ := New(Config{Dir: "/data", MinFreeBytes: 10 << 20, Statfs: d.statfs, Logger: quiet()})
	w.Failed(errors.New("some other error"))
	if w.Full() {
		t.Error("an error that is not about space made the disk full")
	}
	w.Failed(fmt.Errorf("write recording: %w", syscall.ENOSPC))
	if !w.Full() || w.Check() == nil {
		t.Error("ENOSPC did not make the disk full")
	}
	// A measurement that shows room ends it (another process freed space).
	w.measure()
	if w.Full() {
		t.Error("still full after a measurement with room")
	}
}

func TestIsNoSpace(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                                    false,
		errors.New("boom"):                     false,
		fmt.Errorf("x: %w", syscall.ENOSPC):    true,
		fmt.Errorf("x: %w", syscall.EDQUOT):    true,
		errors.New("database or disk is full"): true,
		errors.New("write /data/x: no space left on device"): true,
	} {
		if got := IsNoSpace(err); got != want {
			t.Errorf("IsNoSpace(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestRunTellsWhenLow(t *testing.T) {
	d := &disk{free: 50 << 30, total: 100 << 30}
	lows := make(chan string, 4)
	w, _ := New(Config{Dir: "/data", MinFreeShare: 0.1, Every: 10 * time.Millisecond, Statfs: d.statfs, Logger: quiet(),
		OnLow: func(reason string) { lows <- reason }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	d.set(5 << 30)
	select {
	case r := <-lows:
		if !strings.Contains(r, "storage.min_free") {
			t.Errorf("reason %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not told the space went low")
	}
	// Still low: not told again; room, then low again: told again.
	d.set(60 << 30)
	for w.Check() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	d.set(1 << 30)
	select {
	case <-lows:
	case <-time.After(10 * time.Second):
		t.Fatal("not told the second time the space went low")
	}
	cancel()
	<-done
	if len(lows) != 0 {
		t.Errorf("told %d more times", len(lows))
	}
}

func TestStatfsError(t *testing.T) {
	d := &disk{err: errors.New("measure the free space of /data: permission denied")}
	w, _ := New(Config{Dir: "/data", Statfs: d.statfs, Logger: quiet()})
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), "permission denied") || w.Full() {
		t.Errorf("Check = %v, full %v", err, w.Full())
	}
}

func TestRealDisk(t *testing.T) {
	w, err := New(Config{Dir: t.TempDir(), MinFreeBytes: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r := w.last.Load()
	if r.err != nil || r.total == 0 || r.free > r.total {
		t.Errorf("statfs: %+v", r)
	}
}
