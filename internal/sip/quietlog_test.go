package sip

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

func parseFailure(at time.Time, errText string) slog.Record {
	r := slog.NewRecord(at, slog.LevelError, "failed to parse", 0)
	r.AddAttrs(slog.String("data", "GARBAGE\x00\x01"), slog.String("error", errText))
	return r
}

// TestQuietHandlerRateLimits: sipgo's "failed to parse" errors become one
// WARN per interval that counts the messages since the last one, with the
// last error and without the message content.
func TestQuietHandlerRateLimits(t *testing.T) {
	rec := newRecordHandler()
	h := NewQuietHandler(rec, time.Minute)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		at      time.Duration
		err     string
		emitted int // count in the WARN this record lets out, 0 for none
	}{
		{0, "e0", 1},
		{time.Second, "e1", 0},
		{59 * time.Second, "e2", 0},
		{60 * time.Second, "e3", 3},
		{61 * time.Second, "e4", 0},
		{200 * time.Second, "e5", 2},
		{201 * time.Second, "e6", 0},
	}
	var want []int
	var wantErr []string
	for _, s := range steps {
		if err := h.Handle(context.Background(), parseFailure(t0.Add(s.at), s.err)); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if s.emitted != 0 {
			want = append(want, s.emitted)
			wantErr = append(wantErr, s.err)
		}
	}
	got := rec.all()
	if len(got) != len(want) {
		t.Fatalf("%d records out, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Level != slog.LevelWarn || r.Message != "malformed SIP messages dropped" {
			t.Errorf("record %d: %s %q", i, r.Level, r.Message)
		}
		if c := attr(r, "count"); c != slog.IntValue(want[i]).String() {
			t.Errorf("record %d: count %s, want %d", i, c, want[i])
		}
		if e := attr(r, "last_error"); e != wantErr[i] {
			t.Errorf("record %d: last_error %q, want %q", i, e, wantErr[i])
		}
		if d := attr(r, "data"); d != "" {
			t.Errorf("record %d carries the message content %q", i, d)
		}
	}
}

// TestQuietHandlerSharesState: handlers derived with WithAttrs and
// WithGroup (as sipgo's transports derive theirs) count into the same
// interval.
func TestQuietHandlerSharesState(t *testing.T) {
	rec := newRecordHandler()
	base := NewQuietHandler(rec, time.Minute)
	udp := base.WithAttrs([]slog.Attr{slog.String("caller", "Transport<UDP>")})
	tcp := base.WithGroup("g").WithAttrs([]slog.Attr{slog.String("caller", "Transport<TCP>")})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, h := range []slog.Handler{udp, tcp, base, udp} {
		if err := h.Handle(context.Background(), parseFailure(t0.Add(time.Duration(i)*time.Second), "x")); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.all()
	if len(got) != 1 {
		t.Fatalf("%d records out of 4 parse failures within the interval, want 1", len(got))
	}
	if c := attr(got[0], "caller"); c != "Transport<UDP>" {
		t.Errorf("caller attr %q, want the deriving handler's", c)
	}
}

// TestQuietHandlerLevels: other sipgo ERRORs are lowered to WARN; the rest
// passes unchanged.
func TestQuietHandlerLevels(t *testing.T) {
	tests := []struct {
		level, want slog.Level
	}{
		{slog.LevelDebug, slog.LevelDebug},
		{slog.LevelInfo, slog.LevelInfo},
		{slog.LevelWarn, slog.LevelWarn},
		{slog.LevelError, slog.LevelWarn},
		{slog.LevelError + 4, slog.LevelWarn},
	}
	for _, tc := range tests {
		t.Run(tc.level.String(), func(t *testing.T) {
			rec := newRecordHandler()
			h := NewQuietHandler(rec, time.Minute)
			r := slog.NewRecord(time.Now(), tc.level, "Server tx failed to handle request", 0)
			r.AddAttrs(slog.String("error", "boom"))
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			got := rec.all()
			if len(got) != 1 {
				t.Fatalf("%d records, want 1", len(got))
			}
			if got[0].Level != tc.want || got[0].Message != r.Message || attr(got[0], "error") != "boom" {
				t.Errorf("got %s %q error=%q, want %s and the record unchanged", got[0].Level, got[0].Message, attr(got[0], "error"), tc.want)
			}
		})
	}
}

// TestQuietHandlerEnabled: Enabled is the wrapped handler's.
func TestQuietHandlerEnabled(t *testing.T) {
	next := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})
	h := NewQuietHandler(next, time.Minute)
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Info enabled under a Warn handler")
	}
	if !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Error not enabled under a Warn handler")
	}
}

// TestQuietHandlerBookkeeping: sipgo's per-connection noise ("TCP ref
// went negative" for every connection closed under a transaction, a
// peer's read error) goes to DEBUG, and is dropped when DEBUG is off.
func TestQuietHandlerBookkeeping(t *testing.T) {
	for _, msg := range []string{"TCP ref went negative", "UDP ref went negative on try close", "Read error", "connection pool not clean cleanup"} {
		t.Run(msg, func(t *testing.T) {
			rec := newRecordHandler()
			h := NewQuietHandler(rec, time.Minute)
			if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelWarn, msg, 0)); err != nil {
				t.Fatal(err)
			}
			if got := rec.all(); len(got) != 1 || got[0].Level != slog.LevelDebug {
				t.Errorf("got %v, want one DEBUG record", got)
			}
			infoRec := newRecordHandler()
			off := NewQuietHandler(infoOnly{infoRec}, time.Minute)
			if err := off.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelError, msg, 0)); err != nil {
				t.Fatal(err)
			}
			if got := infoRec.all(); len(got) != 0 {
				t.Errorf("with DEBUG off got %v, want nothing", got)
			}
		})
	}
}

// TestQuietHandlerMalformedRequests: a request sipgo cannot make a
// transaction of (no Via, no CSeq: it answers 400 itself) counts with the
// unparsable ones, in the same rate-limited line, and each is reported to
// the counter; other transaction errors stay lines of their own.
func TestQuietHandlerMalformedRequests(t *testing.T) {
	rec := newRecordHandler()
	dropped := 0
	h := newQuietHandler(rec, time.Minute, func() { dropped++ })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, e := range []string{"make key failed: missing Via", "make key failed: missing CSeq"} {
		r := slog.NewRecord(t0.Add(time.Duration(i)*time.Second), slog.LevelError, "Server tx failed to handle request", 0)
		r.AddAttrs(slog.String("error", e), slog.String("req", "INVITE sip:secret@example.net SIP/2.0"))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Handle(context.Background(), parseFailure(t0.Add(2*time.Second), "bad")); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 1 || got[0].Message != "malformed SIP messages dropped" || dropped != 3 {
		t.Fatalf("%d records (%v), %d counted; want one rate-limited line and 3 counted", len(got), got, dropped)
	}
	if attr(got[0], "req") != "" {
		t.Error("the rate-limited line carries the request line")
	}
}

// TestQuietHandlerStripsContent: lines above DEBUG lose the attributes in
// which sipgo logs message content (data, req, msg), keeping the others;
// DEBUG lines keep everything.
func TestQuietHandlerStripsContent(t *testing.T) {
	rec := newRecordHandler()
	h := NewQuietHandler(rec, time.Minute)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelDebug} {
		r := slog.NewRecord(time.Now(), level, "something about a message", 0)
		r.AddAttrs(slog.String("error", "boom"), slog.String("req", "INVITE sip:x SIP/2.0"),
			slog.String("msg", "request method=INVITE"), slog.String("data", "raw"), slog.Int("n", 1))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rec.all() {
		content := attr(r, "req") != "" || attr(r, "msg") != "" || attr(r, "data") != ""
		if content != (r.Level == slog.LevelDebug) {
			t.Errorf("%s record: content kept %v", r.Level, content)
		}
		if attr(r, "error") != "boom" || attr(r, "n") != "1" {
			t.Errorf("%s record lost other attributes", r.Level)
		}
	}
}

// infoOnly is a handler with DEBUG off.
type infoOnly struct{ slog.Handler }

func (infoOnly) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
