package sip

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// QuietHandler wraps the handler given to sipgo. sipgo logs every
// unparsable datagram at ERROR level with its full content, so a scanner
// could flood the log; QuietHandler turns those (and the requests too
// malformed for a transaction, which sipgo has already answered 400) into
// one WARN line per interval that counts how many were dropped. It lowers
// sipgo's other ERROR lines about single messages to WARN, lowers its
// per-connection bookkeeping noise ("TCP ref went negative", read errors
// of a peer's connection) to DEBUG, and removes the message content sipgo
// attaches (data, req, msg) from every line above DEBUG.
type QuietHandler struct {
	next     slog.Handler
	interval time.Duration
	state    *quietState
}

type quietState struct {
	mu      sync.Mutex
	last    time.Time
	dropped int
	// onDropped, if set, is called for each dropped message.
	onDropped func()
}

// NewQuietHandler returns a QuietHandler around next.
func NewQuietHandler(next slog.Handler, interval time.Duration) *QuietHandler {
	return newQuietHandler(next, interval, nil)
}

func newQuietHandler(next slog.Handler, interval time.Duration, onDropped func()) *QuietHandler {
	return &QuietHandler{next: next, interval: interval, state: &quietState{onDropped: onDropped}}
}

// Enabled implements slog.Handler.
func (h *QuietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// dropsMessage reports whether sipgo logs r for a message it dropped as
// malformed.
func dropsMessage(r slog.Record) bool {
	switch r.Message {
	case "failed to parse":
		return true
	case "Server tx failed to handle request":
		// A request without the headers a transaction needs (Via, CSeq…).
		return strings.HasPrefix(attrString(r, "error"), "make key failed")
	}
	return false
}

// bookkeeping reports whether r is sipgo's per-connection noise: reference
// counting of connections closed under it, and a peer's connection failing.
func bookkeeping(r slog.Record) bool {
	switch r.Message {
	case "TCP ref went negative", "UDP ref went negative on try close", "WS ref went negative",
		"Read error", "connection pool not clean cleanup", "Failed to pong keep alive":
		return true
	}
	return false
}

// contentAttr reports whether sipgo logs (part of) a message in the
// attribute key.
func contentAttr(key string) bool {
	return key == "data" || key == "req" || key == "msg"
}

// Handle implements slog.Handler.
func (h *QuietHandler) Handle(ctx context.Context, r slog.Record) error {
	if dropsMessage(r) {
		st := h.state
		if st.onDropped != nil {
			st.onDropped()
		}
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
		out := slog.NewRecord(r.Time, slog.LevelWarn, "malformed SIP messages dropped", r.PC)
		out.AddAttrs(slog.Int("count", n), slog.String("last_error", attrString(r, "error")))
		return h.next.Handle(ctx, out)
	}
	if bookkeeping(r) {
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
		return h.next.Handle(ctx, r)
	}
	if r.Level >= slog.LevelError {
		r.Level = slog.LevelWarn
	}
	if r.Level > slog.LevelDebug {
		r = withoutContent(r)
	}
	return h.next.Handle(ctx, r)
}

// withoutContent is r without the attributes that carry message content.
func withoutContent(r slog.Record) slog.Record {
	has := false
	r.Attrs(func(a slog.Attr) bool {
		has = contentAttr(a.Key)
		return !has
	})
	if !has {
		return r
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !contentAttr(a.Key) {
			out.AddAttrs(a)
		}
		return true
	})
	return out
}

// attrString is the value of r's attribute key as a string, or "".
func attrString(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// WithAttrs implements slog.Handler.
func (h *QuietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &QuietHandler{next: h.next.WithAttrs(as), interval: h.interval, state: h.state}
}

// WithGroup implements slog.Handler.
func (h *QuietHandler) WithGroup(name string) slog.Handler {
	return &QuietHandler{next: h.next.WithGroup(name), interval: h.interval, state: h.state}
}

// LibraryLogger is the logger to give sipgo, as sip.SetDefaultLogger and
// through the options of its layers: l behind a QuietHandler with a
// one-minute interval, its lines marked component=sipgo.
func LibraryLogger(l *slog.Logger) *slog.Logger {
	return slog.New(NewQuietHandler(l.Handler(), time.Minute)).With("component", "sipgo")
}
