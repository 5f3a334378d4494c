package web

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
)

// TestCallPagePendingEmail: while the notify stage waits for a retry, the
// call page says the email is pending, with the last error and when it is
// tried next; nothing of it once the stage is done; a failed notify
// stage keeps its Retry button.
func TestCallPagePendingEmail(t *testing.T) {
	f := newFixture(t, "")
	f.seedCall("c1", "+12125550123", f.clock.Now().Add(-time.Hour))
	cl := f.client()
	f.login(cl)
	ctx := t.Context()
	const smtpErr = "smtp 127.0.0.1:2525: connection refused; check notify.email.smtp.host/port"
	next := time.Date(2026, 3, 14, 12, 0, 40, 0, time.UTC)
	page := func() string {
		t.Helper()
		resp, body := f.do(cl, "GET", "/calls/c1", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return html.UnescapeString(body)
	}

	// Waiting: the sentence, once, instead of the bare error; no Retry.
	save := func(st *store.Stage) {
		t.Helper()
		st.CallID = "c1"
		if err := f.store.SaveStage(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	save(&store.Stage{Name: calls.StageNotify, State: store.StageRetry, Attempts: 3, LastError: smtpErr, NextAttemptAt: &next})
	body := page()
	want := "Email pending: " + smtpErr + ", next try at Sat 14 Mar 2026, 12:00:40"
	if !strings.Contains(body, want) {
		t.Errorf("call page lacks %q", want)
	}
	if n := strings.Count(body, smtpErr); n != 1 {
		t.Errorf("the error is shown %d times, want once (in the pending sentence)", n)
	}
	if strings.Contains(body, `data-retry="notify"`) {
		t.Error("a notify stage waiting for its retry offers Retry")
	}

	// Another stage waiting for a retry shows its error and the time.
	save(&store.Stage{Name: calls.StageRender, State: store.StageRetry, Attempts: 1, LastError: "render: LibreOffice crashed", NextAttemptAt: &next})
	body = page()
	if !strings.Contains(body, "render: LibreOffice crashed") || !strings.Contains(body, "Next try at Sat 14 Mar 2026, 12:00:40") {
		t.Error("a render stage waiting for its retry does not show its error and next try")
	}

	// Done: nothing pending.
	save(&store.Stage{Name: calls.StageNotify, State: store.StageDone, Attempts: 4, OutputKey: calls.OutputKey("c1", calls.Notification)})
	save(&store.Stage{Name: calls.StageRender, State: store.StageDone, Attempts: 2})
	body = page()
	if strings.Contains(body, "Email pending") || strings.Contains(body, "next try") || strings.Contains(body, "Next try") || strings.Contains(body, smtpErr) {
		t.Error("the call page still shows a pending email after the notify stage is done")
	}

	// Failed for good: the error and the Retry button, as for any stage.
	save(&store.Stage{Name: calls.StageNotify, State: store.StageFailed, Attempts: 40, LastError: smtpErr + " (tried for 24h0m0s since the first attempt; giving up)"})
	body = page()
	if strings.Contains(body, "Email pending") || !strings.Contains(body, smtpErr) || !strings.Contains(body, `data-retry="notify"`) {
		t.Error("a notify stage failed for good should show its error and offer Retry, not a pending email")
	}
}
