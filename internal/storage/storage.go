// Package storage watches the free space of the file system that holds
// callrec's data. Below a limit it says so (readiness, metrics, a banner,
// the owner told); when writes fail for want of space, or the space left
// could not hold a recording, it reports the disk full until room comes
// back, so that calls go on unrecorded rather than being refused, and the
// records that could not be written wait in memory.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/metrics"
)

// DefaultFullBelow is the free space under which the disk counts as full:
// not enough for a few minutes of recording.
const DefaultFullBelow = 16 << 20

// Config configures a Watcher.
type Config struct {
	// Dir is a directory on the file system to watch (data_dir).
	Dir string
	// MinFreeBytes and MinFreeShare (0 to 1) are storage.min_free: the
	// space is low below the smaller of those set (zero: not set).
	MinFreeBytes uint64
	MinFreeShare float64
	// FullBelow is the free space under which the disk counts as full;
	// 0 means DefaultFullBelow.
	FullBelow uint64
	// Every is how often the space is measured; 0 means 10 s.
	Every time.Duration
	// OnLow, when set, is told the reason each time the space goes from
	// enough to low (the owner is emailed; the notifier rate-limits).
	OnLow func(reason string)
	// Metrics receives the free space; nil for none.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Statfs measures dir's file system: free bytes (for unprivileged
	// users) and total bytes. nil means the statfs system call.
	Statfs func(dir string) (free, total uint64, err error)
}

// Watcher keeps the last measurement. Its methods are safe for concurrent
// use; Run is the one goroutine that measures.
type Watcher struct {
	cfg  Config
	log  *slog.Logger
	last atomic.Pointer[reading]
	// noSpace: a write failed for want of space since the last
	// measurement that showed room.
	noSpace atomic.Bool
}

// reading is one measurement.
type reading struct {
	free, total uint64
	err         error
}

// New makes a Watcher and measures once.
func New(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("storage: no directory to watch")
	}
	if cfg.FullBelow == 0 {
		cfg.FullBelow = DefaultFullBelow
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Statfs == nil {
		cfg.Statfs = statfs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger.With("component", "storage")}
	w.measure()
	return w, nil
}

func statfs(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("measure the free space of %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// Run measures the space every Config.Every until ctx ends, logging and
// telling OnLow when it goes low, and logging when it recovers.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Every)
	defer t.Stop()
	wasLow := w.Check() != nil
	if wasLow {
		w.wentLow()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.measure()
		low := w.Check() != nil
		switch {
		case low && !wasLow:
			w.wentLow()
		case !low && wasLow:
			w.log.Info("storage has room again", "free_bytes", w.last.Load().free)
		}
		wasLow = low
	}
}

// wentLow logs and reports that the space is low.
func (w *Watcher) wentLow() {
	reason := w.Check().Error()
	w.log.Warn("storage low", "reason", reason)
	if w.cfg.OnLow != nil {
		w.cfg.OnLow(reason)
	}
}

// measure takes a reading; one that shows room clears an earlier write
// failure.
func (w *Watcher) measure() {
	free, total, err := w.cfg.Statfs(w.cfg.Dir)
	r := &reading{free: free, total: total, err: err}
	w.last.Store(r)
	if err == nil && free >= w.cfg.FullBelow {
		w.noSpace.Store(false)
	}
	w.cfg.Metrics.SetStorage(free, total, w.low(r) || w.full(r))
}

// minFree is the free space below which r is low.
func (w *Watcher) minFree(r *reading) uint64 {
	limit := uint64(math.MaxUint64)
	if w.cfg.MinFreeBytes > 0 {
		limit = w.cfg.MinFreeBytes
	}
	if w.cfg.MinFreeShare > 0 {
		limit = min(limit, uint64(w.cfg.MinFreeShare*float64(r.total)))
	}
	if limit == math.MaxUint64 {
		return 0
	}
	return limit
}

func (w *Watcher) low(r *reading) bool { return r.err == nil && r.free < w.minFree(r) }
func (w *Watcher) full(r *reading) bool {
	return w.noSpace.Load() || r.err == nil && r.free < w.cfg.FullBelow
}

// Check returns nil when there is room, else why not: the disk is full,
// its space below storage.min_free, or it cannot be measured.
func (w *Watcher) Check() error {
	r := w.last.Load()
	switch {
	case w.full(r):
		return fmt.Errorf("the disk of data_dir is full (%s free of %s): new calls are connected without recording until there is room", display.Size(int64(r.free)), display.Size(int64(r.total)))
	case r.err != nil:
		return r.err
	case w.low(r):
		return fmt.Errorf("%s free of %s on the disk of data_dir, below storage.min_free (%s): make room before recordings stop", display.Size(int64(r.free)), display.Size(int64(r.total)), display.Size(int64(w.minFree(r))))
	}
	return nil
}

// Full reports whether the disk is full: too little free space for a
// recording, or a write that failed for want of space since.
func (w *Watcher) Full() bool { return w.full(w.last.Load()) }

// Failed is told of a write that failed. One that failed for want of space
// (ENOSPC, EDQUOT, SQLite's "disk is full") makes the disk full at once,
// until a measurement shows room.
func (w *Watcher) Failed(err error) {
	if IsNoSpace(err) && !w.noSpace.Swap(true) {
		w.log.Warn("a write failed for want of space: the disk counts as full until there is room", "err", err)
	}
}

// IsNoSpace reports whether err says the disk (or the user's quota) is
// full.
func IsNoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "disk is full") || strings.Contains(msg, "no space left on device")
}
