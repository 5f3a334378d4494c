package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// downNotifier fails as a notifier whose mail server is down, until up is
// called; then it notifies once per call, as notify's markers make it.
type downNotifier struct {
	mu    sync.Mutex
	up    bool
	tries int
	sent  int
}

func (n *downNotifier) Notify(ctx context.Context, call *store.Call, _ *transcript.Document, _ []calls.Download) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tries++
	if !n.up {
		return errors.New("smtp 127.0.0.1:2525: connection refused; check notify.email.smtp.host/port")
	}
	n.sent++
	return nil
}

func (n *downNotifier) serverUp() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.up = true
}

func (n *downNotifier) counts() (tries, sent int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tries, n.sent
}

// TestNotifyRetriedPastMaxAttempts: a notification that cannot be sent is
// retried beyond pipeline.max_attempts while its retry window lasts; the
// stage says it is waiting, with the error and the next attempt's time,
// and is done (without either) once the server is back.
func TestNotifyRetriedPastMaxAttempts(t *testing.T) {
	srv, _ := whisper(t, 0)
	n := &downNotifier{}
	const maxAttempts = 2
	f := newFixture(t, srv.URL, maxAttempts, func(c *Config, p *pipeline.Config) {
		c.NotifyRetryFor, c.NotifyBackoffMax = time.Hour, 50*time.Millisecond
		p.Notifier = n
	})
	f.addCall(t, "nr1", wavBytes(8000, 2, 8000))
	pending := f.wait(t, "nr1", func(m map[string]store.Stage) bool {
		s := m[calls.StageNotify]
		return s.State == store.StageRetry && s.Attempts > maxAttempts
	})[calls.StageNotify]
	if !strings.Contains(pending.LastError, "connection refused") || pending.NextAttemptAt == nil || pending.FinishedAt == nil ||
		pending.NextAttemptAt.Before(*pending.FinishedAt) {
		t.Errorf("notify waiting to retry: %+v, want the error and a next attempt after the last", pending)
	}
	n.serverUp()
	done := f.wait(t, "nr1", notified)[calls.StageNotify]
	tries, sent := n.counts()
	if sent != 1 || done.Attempts != tries || done.Attempts <= maxAttempts {
		t.Errorf("notify done after %d attempts (%d tries, %d sent), want one send after more than %d attempts", done.Attempts, tries, sent, maxAttempts)
	}
	if done.LastError != "" || done.NextAttemptAt != nil {
		t.Errorf("notify done: %+v, want no error and no next attempt", done)
	}
}

// TestNotifyGivesUpAfterRetryFor: once the retry window has passed, the
// notify stage fails for good, saying so; Retry starts it again.
func TestNotifyGivesUpAfterRetryFor(t *testing.T) {
	srv, _ := whisper(t, 0)
	n := &downNotifier{}
	f := newFixture(t, srv.URL, 100, func(c *Config, p *pipeline.Config) {
		c.NotifyRetryFor, c.NotifyBackoffMax = time.Second, 100*time.Millisecond
		p.Notifier = n
	})
	f.addCall(t, "nr2", wavBytes(8000, 2, 8000))
	failed := func(m map[string]store.Stage) bool { return m[calls.StageNotify].State == store.StageFailed }
	s := f.wait(t, "nr2", failed)[calls.StageNotify]
	if !strings.Contains(s.LastError, "connection refused") || !strings.Contains(s.LastError, "giving up") || s.NextAttemptAt != nil {
		t.Errorf("notify after its window: %+v, want failed for good with the error", s)
	}
	if s.Attempts < 2 {
		t.Errorf("notify failed after %d attempts, want retries within its window", s.Attempts)
	}
	before, _ := n.counts()
	// Failed for good: River does not try it again on its own.
	time.Sleep(time.Second)
	if tries, _ := n.counts(); tries != before {
		t.Errorf("notify tried %d more times after failing for good", tries-before)
	}
	n.serverUp()
	if err := f.q.Retry(context.Background(), "nr2", calls.StageNotify); err != nil {
		t.Fatal(err)
	}
	f.wait(t, "nr2", notified)
	if _, sent := n.counts(); sent != 1 {
		t.Errorf("%d notifications after Retry, want 1", sent)
	}
}

// TestRetryAt: the schedule of retries. Other stages back off 5 s
// doubling up to 10 minutes, MaxAttempts times; notify backs off 5 s
// doubling up to its cap until its window since the first attempt ends,
// its last attempt at the window's end.
func TestRetryAt(t *testing.T) {
	q := &Queue{cfg: Config{NotifyRetryFor: 24 * time.Hour, NotifyBackoffMax: 30 * time.Minute}}
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	row := func(attempt, maxAttempts int, errs ...time.Time) *rivertype.JobRow {
		r := &rivertype.JobRow{Attempt: attempt, MaxAttempts: maxAttempts, AttemptedAt: &t0}
		for i, at := range errs {
			r.Errors = append(r.Errors, rivertype.AttemptError{At: at, Attempt: i + 1})
		}
		if len(errs) > 0 {
			last := errs[len(errs)-1].Add(time.Second)
			r.AttemptedAt = &last
		}
		return r
	}
	tests := []struct {
		name   string
		job    *rivertype.JobRow
		stage  string
		now    time.Time
		next   time.Time
		again  bool
		reason string
	}{
		{"transcribe first failure", row(1, 5), calls.StageTranscribe, t0, t0.Add(5 * time.Second), true, ""},
		{"transcribe third failure", row(3, 5), calls.StageTranscribe, t0, t0.Add(20 * time.Second), true, ""},
		{"transcribe capped", row(9, 20), calls.StageTranscribe, t0, t0.Add(10 * time.Minute), true, ""},
		{"transcribe last attempt", row(5, 5), calls.StageTranscribe, t0, t0.Add(80 * time.Second), false, ""},
		{"notify first failure", row(1, 58), calls.StageNotify, t0.Add(time.Second), t0.Add(6 * time.Second), true, ""},
		{"notify past max_attempts", row(6, 58, t0, t0.Add(5*time.Second)), calls.StageNotify, t0.Add(10 * time.Minute),
			t0.Add(10*time.Minute + 160*time.Second), true, ""},
		{"notify capped", row(12, 58, t0), calls.StageNotify, t0.Add(3 * time.Hour), t0.Add(3*time.Hour + 30*time.Minute), true, ""},
		{"notify near the window's end", row(40, 58, t0), calls.StageNotify, t0.Add(24*time.Hour - time.Minute), t0.Add(24 * time.Hour), true,
			"the last attempt is at the end of the window"},
		{"notify at the window's end", row(41, 58, t0), calls.StageNotify, t0.Add(24 * time.Hour), t0.Add(24 * time.Hour), false, ""},
		{"notify at its attempt bound", row(58, 58, t0), calls.StageNotify, t0.Add(time.Hour), t0.Add(time.Hour + 30*time.Minute), false, ""},
	}
	for _, tc := range tests {
		next, again := q.retryAt(tc.job, tc.stage, tc.now)
		if !next.Equal(tc.next) || again != tc.again {
			t.Errorf("%s: next %s, again %v; want %s, %v %s", tc.name, next, again, tc.next, tc.again, tc.reason)
		}
	}
}

func TestAttemptsWithin(t *testing.T) {
	// 5 s … 1280 s, then 47 waits of 30 min fill a day.
	if n := attemptsWithin(24*time.Hour, 30*time.Minute); n != 58 {
		t.Errorf("attempts within a day, 30 min apart at most: %d, want 58", n)
	}
	if n := attemptsWithin(3*time.Minute, 5*time.Second); n != 38 {
		t.Errorf("attempts within 3 min, 5 s apart: %d, want 38", n)
	}
	if n := attemptsWithin(365*24*time.Hour, time.Second); n != maxJobAttempts {
		t.Errorf("attempts within a year, 1 s apart: %d, want River's bound %d", n, maxJobAttempts)
	}
}
