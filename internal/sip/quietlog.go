package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// QuietHandler wraps the handler given to sipgo. sipgo logs every
// unparsable datagram at ERROR level with its full content, so a scanner
// could flood the log; QuietHandler turns those into one WARN line per
// interval that counts how many were dropped, and lowers sipgo's other
// ERROR lines about single messages to WARN.
type QuietHandler struct {
	next     slog.Handler
	interval time.Duration
	state    *quietState
}

type quietState struct {
	mu      sync.Mutex
	last    time.Time
	dropped int
}

// NewQuietHandler returns a QuietHandler around next.
func NewQuietHandler(next slog.Handler, interval time.Duration) *QuietHandler {
	return &QuietHandler{next: next, interval: interval, state: &quietState{}}
}

// Enabled implements slog.Handler.
func (h *QuietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *QuietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "failed to parse" {
		st := h.state
		st.mu.Lock()
		st.dropped++
		if r.Time.Sub(st.last) < h.interval {
			st.mu.Unlock()
			return nil
		}
		n := st.dropped
		st.dropped = 0
		st.last = r.Time
		st.mu.Unlock()
		var errText string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				errText = a.Value.String()
			}
			return true
		})
		out := slog.NewRecord(r.Time, slog.LevelWarn, "malformed SIP messages dropped", r.PC)
		out.AddAttrs(slog.Int("count", n), slog.String("last_error", errText))
		return h.next.Handle(ctx, out)
	}
	if r.Level >= slog.LevelError {
		r.Level = slog.LevelWarn
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *QuietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &QuietHandler{next: h.next.WithAttrs(as), interval: h.interval, state: h.state}
}

// WithGroup implements slog.Handler.
func (h *QuietHandler) WithGroup(name string) slog.Handler {
	return &QuietHandler{next: h.next.WithGroup(name), interval: h.interval, state: h.state}
}
